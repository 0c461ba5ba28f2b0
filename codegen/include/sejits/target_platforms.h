/* The target platforms a request may name (sejits.v1.Target.platform), defined
 * once for the daemon (specializers/platforms.h) and the Python client
 * (sejits._native.PLATFORM_*, re-exported by sejits._platforms). Plain C so
 * that both can include it. Not part of the kernel ABI: generated code never
 * includes it. */
#ifndef SEJITS_TARGET_PLATFORMS_H
#define SEJITS_TARGET_PLATFORMS_H

/* C++/OpenMP shared objects: the default. */
#define SEJITS_PLATFORM_CPU_OPENMP "cpu-openmp"
/* OpenCL C kernels behind a C++ host entry point. */
#define SEJITS_PLATFORM_OPENCL "opencl"
/* A Python module of vectorized NumPy, printed from the domain IR and answered
 * at once: nothing is compiled, stored or tuned. The client runs it while the
 * native kernel compiles. */
#define SEJITS_PLATFORM_NUMPY "numpy"

/* What a request that names no platform gets. */
#define SEJITS_DEFAULT_PLATFORM SEJITS_PLATFORM_CPU_OPENMP

#endif /* SEJITS_TARGET_PLATFORMS_H */
