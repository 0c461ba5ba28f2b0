"""The target platforms a request may name (sejits.v1.Target.platform), as
the daemon names them: both read codegen/include/sejits/target_platforms.h,
the client through sejits._native, so no protobuf is imported to know them."""

from sejits._native import DEFAULT_PLATFORM, PLATFORM_CPU_OPENMP, PLATFORM_NUMPY, PLATFORM_OPENCL

CPU_OPENMP = PLATFORM_CPU_OPENMP  # C++/OpenMP shared objects
OPENCL = PLATFORM_OPENCL  # OpenCL C kernels behind a C++ host entry point
NUMPY = PLATFORM_NUMPY  # a Python module of vectorized NumPy, answered at once
DEFAULT = DEFAULT_PLATFORM  # what a request that names none gets
ALL = (CPU_OPENMP, OPENCL, NUMPY)
