"""Builds the C extension and generates the protocol modules from ../proto."""
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PROTO_ROOT = os.path.join(REPO, "proto")
ABI_INCLUDE = os.path.join(REPO, "codegen", "include")


class BuildWithProtos(build_py):
    """Generates sejits/v1/*_pb2.py from proto/sejits/v1/*.proto before building."""

    def run(self):
        from grpc_tools import protoc

        import grpc_tools

        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        out_dir = HERE  # "sejits/v1/ast.proto" lands in sejits/v1/ast_pb2.py
        for name in ("ast", "tuning", "specializer"):
            proto = os.path.join(PROTO_ROOT, "sejits", "v1", name + ".proto")
            args = ["protoc", f"-I{PROTO_ROOT}", f"-I{well_known}", f"--python_out={out_dir}"]
            if name == "specializer":
                args.append(f"--grpc_python_out={out_dir}")
            if protoc.main(args + [proto]) != 0:
                sys.exit(f"protoc failed on {proto}")
        super().run()


def opencl_include_dir():
    """The first directory holding CL/cl.h, or None. Only headers are needed:
    the ICD loader is opened at run time, so no -lOpenCL."""
    cuda_home = os.environ.get("CUDA_HOME")
    candidates = [
        os.environ.get("SEJITS_OPENCL_INCLUDE"),
        "/usr/include",
        "/usr/local/include",
        cuda_home and os.path.join(cuda_home, "include"),
        "/usr/local/cuda/include",
    ]
    for directory in candidates:
        if directory and os.path.exists(os.path.join(directory, "CL", "cl.h")):
            return directory
    return None


def native_extension():
    import numpy

    if not os.path.exists(os.path.join(ABI_INCLUDE, "sejits", "kernel_abi.h")):
        sys.exit(f"kernel_abi.h not found under {ABI_INCLUDE}: build from the sejits repository")
    include_dirs = [ABI_INCLUDE, numpy.get_include()]
    define_macros = []
    opencl_include = opencl_include_dir()
    if opencl_include:
        # The compiler searches the system directories anyway; naming them
        # with -I would reorder its search.
        if opencl_include not in ("/usr/include", "/usr/local/include"):
            include_dirs.append(opencl_include)
        define_macros = [("SEJITS_HAVE_OPENCL_HEADERS", "1"), ("CL_TARGET_OPENCL_VERSION", "120")]
    else:
        print("sejits: CL/cl.h not found (set SEJITS_OPENCL_INCLUDE): building without OpenCL", file=sys.stderr)
    opencl_sources = ["sejits/_opencl.c", "sejits/_opencl_device.c", "sejits/_opencl_platforms.c",
                      "sejits/_opencl_loader.c"]
    # The headers that define what the daemon and the client share (the kernel
    # ABI, dtypes, platform names, the worker platform's rules), read from the
    # repository as the daemon's build reads them.
    shared_headers = [os.path.join(ABI_INCLUDE, "sejits", name)
                      for name in ("kernel_abi.h", "target_platforms.h", "worker_platform.h")]
    return Extension(
        "sejits._native",
        sources=["sejits/_native.c", "sejits/_native_stencil.c", "sejits/_native_tables.c", *opencl_sources],
        depends=["sejits/_native.h", "sejits/_opencl.h", "sejits/_opencl_device.h", "sejits/_opencl_loader.h",
                 *shared_headers],
        include_dirs=include_dirs,
        define_macros=define_macros,
        extra_compile_args=["-O2", "-std=c11"],
        libraries=["dl"],
    )


setup(ext_modules=[native_extension()], cmdclass={"build_py": BuildWithProtos})
