"""Prints the compiler arguments of the client's extension (sejits._native)
as client-py/setup.py declares it, one per line: its sources, -I, -D, extra
flags and -l. bundle.sh compiles them against another CPython's headers.

    cd client-py && python3 ../deploy/gpu/extension_flags.py
"""

import runpy

import setuptools


def declared_extension():
    declared = {}
    setuptools.setup = lambda **options: declared.update(options)  # setup.py's setup() call only records
    runpy.run_path("setup.py", run_name="__main__")
    (extension,) = declared["ext_modules"]
    return extension


def compiler_arguments(extension):
    yield from extension.sources
    yield from (f"-I{directory}" for directory in extension.include_dirs)
    for name, value in extension.define_macros:
        yield f"-D{name}" if value is None else f"-D{name}={value}"
    yield from extension.extra_compile_args
    yield from (f"-l{library}" for library in extension.libraries)


if __name__ == "__main__":
    for argument in compiler_arguments(declared_extension()):
        print(argument)
