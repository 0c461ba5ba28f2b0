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


def native_extension():
    import numpy

    if not os.path.exists(os.path.join(ABI_INCLUDE, "sejits", "kernel_abi.h")):
        sys.exit(f"kernel_abi.h not found under {ABI_INCLUDE}: build from the sejits repository")
    return Extension(
        "sejits._native",
        sources=["sejits/_native.c"],
        include_dirs=[ABI_INCLUDE, numpy.get_include()],
        extra_compile_args=["-O2", "-std=c11"],
        libraries=["dl"],
    )


setup(ext_modules=[native_extension()], cmdclass={"build_py": BuildWithProtos})
