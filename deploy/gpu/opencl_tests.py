"""Runs the OpenCL cases of the reduction and scan tests on the GPU machine's
device (CI runs them on PoCL only): pytest with SEJITS_TEST_OPENCL_DEVICE set,
against run_h100.sh's sejitsd. Through run_h100.sh, from the repository root:

    EXPERIMENT=deploy/gpu/opencl_tests.py OUT=... bash deploy/gpu/run_h100.sh --suite reductions
"""

import argparse
import os
import subprocess
import sys

# Every case of these runs on OpenCL; of the others, those with "opencl" in their ids.
OPENCL_MODULES = ["tests/python/test_reduce_opencl.py", "tests/python/test_reduce_devices.py"]
TARGET_MODULES = ["tests/python/test_scan.py", "tests/python/test_reduce_determinism.py", "tests/python/test_reduce.py",
                  "tests/python/test_reduce_explain.py"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="gpu")
    args = parser.parse_args()
    env = dict(os.environ, SEJITS_TEST_OPENCL_DEVICE=args.device)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    failed = 0
    for selection in (OPENCL_MODULES, ["-k", "opencl", *TARGET_MODULES]):
        failed |= subprocess.run([*pytest, *selection], env=env, timeout=140).returncode
    sys.exit(failed)


if __name__ == "__main__":
    main()
