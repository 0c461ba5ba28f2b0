"""sejits-tune-runner, the child the daemon runs to time one kernel variant:
artifacts built here with g++ are timed on synthetic inputs, and every bad
command line, failing kernel and foreign artifact gives one line of JSON."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(
    os.environ.get("SEJITS_TUNE_RUNNER_BIN") or REPO / "build" / "server" / "tune_runner" / "sejits-tune-runner"
)

pytestmark = pytest.mark.skipif(
    not RUNNER.exists(),
    reason=f"sejits-tune-runner not built at {RUNNER}: build the sejits-tune-runner target "
    "or set SEJITS_TUNE_RUNNER_BIN",
)

KERNELS = r"""
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sejits/kernel_abi.h"

#ifndef TEST_ABI_VERSION
#define TEST_ABI_VERSION SEJITS_ABI_VERSION
#endif

static int32_t fail(char *error, int64_t error_len, const char *format, ...) {
  va_list args;
  va_start(args, format);
  vsnprintf(error, (size_t)error_len, format, args);
  va_end(args);
  return 1;
}

static int64_t itemsize(int32_t dtype) { return sejits_dtype_itemsize(dtype); }

static int64_t element_count(const sejits_arg *arg) {
  int64_t n = 1;
  for (int d = 0; d < arg->rank; ++d) n *= arg->shape[d];
  return n;
}

/* C order in bytes, zero dimensions counted as one (as NumPy does), 64-byte aligned. */
static const char *layout_problem(const sejits_arg *arg) {
  if (arg->kind != SEJITS_ARG_ARRAY) return "not an array";
  if (arg->data == NULL || (uintptr_t)arg->data % 64 != 0) return "data is not 64-byte aligned";
  if (arg->flags != 0) return "flags are not 0";
  int64_t stride = itemsize(arg->dtype);
  for (int d = arg->rank - 1; d >= 0; --d) {
    if (arg->strides[d] != stride) return "strides are not C order in bytes";
    if (arg->shape[d] != 0) stride *= arg->shape[d];
  }
  return NULL;
}

extern "C" {

int32_t sejits_abi_version(void) { return TEST_ABI_VERSION; }

/* out = a + b, all float64 arrays of one shape, inputs in [0.5, 1.5). */
int32_t sejits_test_add(const sejits_arg *args, int32_t nargs, char *error, int64_t error_len) {
  if (nargs != 3) return fail(error, error_len, "expected 3 arguments, got %d", nargs);
  for (int i = 0; i < 3; ++i) {
    if (args[i].kind != SEJITS_ARG_ARRAY || args[i].dtype != SEJITS_FLOAT64)
      return fail(error, error_len, "argument %d is not a float64 array", i);
    const char *problem = layout_problem(&args[i]);
    if (problem) return fail(error, error_len, "argument %d: %s", i, problem);
    if (args[i].rank != args[0].rank || memcmp(args[i].shape, args[0].shape, sizeof(int64_t) * args[0].rank) != 0)
      return fail(error, error_len, "argument %d has another shape", i);
  }
  const double *a = (const double *)args[0].data, *b = (const double *)args[1].data;
  double *out = (double *)args[2].data;
  int64_t n = element_count(&args[0]);
  for (int64_t i = 0; i < n; ++i) {
    if (!(a[i] >= 0.5 && a[i] < 1.5 && b[i] >= 0.5 && b[i] < 1.5))
      return fail(error, error_len, "input element %lld outside [0.5, 1.5)", (long long)i);
    out[i] = a[i] + b[i];
  }
  return 0;
}

int32_t sejits_test_boom(const sejits_arg *, int32_t, char *error, int64_t error_len) {
  return fail(error, error_len, "boom");
}

/* out[:] = value, where the test passes value 2.5. */
int32_t sejits_test_fill(const sejits_arg *args, int32_t nargs, char *error, int64_t error_len) {
  if (nargs != 2) return fail(error, error_len, "expected 2 arguments, got %d", nargs);
  if (args[0].kind != SEJITS_ARG_ARRAY || args[0].dtype != SEJITS_FLOAT64)
    return fail(error, error_len, "out is not a float64 array");
  if (args[1].kind != SEJITS_ARG_SCALAR || args[1].dtype != SEJITS_FLOAT64)
    return fail(error, error_len, "value is not a float64 scalar");
  if (args[1].scalar.f != 2.5) return fail(error, error_len, "expected the value 2.5, got %g", args[1].scalar.f);
  double *out = (double *)args[0].data;
  for (int64_t i = 0, n = element_count(&args[0]); i < n; ++i) out[i] = args[1].scalar.f;
  return 0;
}

/* Scalars of other dtypes, in the union member the ABI names. */
int32_t sejits_test_scalars(const sejits_arg *args, int32_t nargs, char *error, int64_t error_len) {
  if (nargs != 4) return fail(error, error_len, "expected 4 arguments, got %d", nargs);
  for (int i = 0; i < 4; ++i)
    if (args[i].kind != SEJITS_ARG_SCALAR) return fail(error, error_len, "argument %d is not a scalar", i);
  if (args[0].dtype != SEJITS_INT64 || args[0].scalar.i != -7) return fail(error, error_len, "int64 is not -7");
  if (args[1].dtype != SEJITS_UINT64 || args[1].scalar.u != UINT64_MAX)
    return fail(error, error_len, "uint64 is not 2^64-1");
  if (args[2].dtype != SEJITS_BOOL || args[2].scalar.i != 1) return fail(error, error_len, "bool is not 1");
  if (args[3].dtype != SEJITS_FLOAT32 || args[3].scalar.f != 0.25) return fail(error, error_len, "float32 is not 0.25");
  return 0;
}

/* Every array argument: its layout, and its values in the promised ranges. */
int32_t sejits_test_inspect(const sejits_arg *args, int32_t nargs, char *error, int64_t error_len) {
  for (int i = 0; i < nargs; ++i) {
    const sejits_arg *arg = &args[i];
    const char *problem = layout_problem(arg);
    if (problem) return fail(error, error_len, "argument %d: %s", i, problem);
    for (int64_t k = 0, n = element_count(arg); k < n; ++k) {
      double value;
      const char *p = (const char *)arg->data + k * itemsize(arg->dtype);
      switch (arg->dtype) {
        case SEJITS_BOOL: value = *(const uint8_t *)p == 1 ? 1 : -1; break;
        case SEJITS_INT8: value = *(const int8_t *)p; break;
        case SEJITS_INT16: value = *(const int16_t *)p; break;
        case SEJITS_INT32: value = *(const int32_t *)p; break;
        case SEJITS_INT64: value = (double)*(const int64_t *)p; break;
        case SEJITS_UINT8: value = *(const uint8_t *)p; break;
        case SEJITS_UINT16: value = *(const uint16_t *)p; break;
        case SEJITS_UINT32: value = *(const uint32_t *)p; break;
        case SEJITS_UINT64: value = (double)*(const uint64_t *)p; break;
        case SEJITS_FLOAT32: value = *(const float *)p; break;
        default: value = *(const double *)p; break;
      }
      int is_float = arg->dtype == SEJITS_FLOAT32 || arg->dtype == SEJITS_FLOAT64;
      int ok = arg->dtype == SEJITS_BOOL ? value == 1
               : is_float               ? value >= 0.5 && value < 1.5
                                        : value >= 1 && value < 8 && value == (int64_t)value;
      if (!ok) return fail(error, error_len, "argument %d element %lld is %g", i, (long long)k, value);
    }
  }
  return 0;
}

/* Fails on purpose with a hash of every array's bytes, so a test can read it. */
int32_t sejits_test_checksum(const sejits_arg *args, int32_t nargs, char *error, int64_t error_len) {
  uint64_t hash = 14695981039346656037ULL;
  for (int i = 0; i < nargs; ++i) {
    const unsigned char *bytes = (const unsigned char *)args[i].data;
    for (int64_t k = 0, n = element_count(&args[i]) * itemsize(args[i].dtype); k < n; ++k)
      hash = (hash ^ bytes[k]) * 1099511628211ULL;
  }
  return fail(error, error_len, "checksum %016llx", (unsigned long long)hash);
}

int32_t sejits_test_slow(const sejits_arg *, int32_t, char *, int64_t) {
  usleep(20000);
  return 0;
}

int32_t sejits_test_quote(const sejits_arg *, int32_t, char *error, int64_t error_len) {
  return fail(error, error_len, "said \"hi\" \\ back\nnext\ttab\x01 \xff end");
}

int32_t sejits_test_chatty(const sejits_arg *, int32_t, char *, int64_t) {
  printf("noise on stdout\n");
  fflush(stdout);
  return 0;
}

}
"""


def build_artifact(directory, name, *defines):
    source = directory / "kernels.cc"
    source.write_text(KERNELS)
    artifact = directory / f"{name}.so"
    include = REPO / "codegen" / "include"
    subprocess.run(
        ["g++", "-shared", "-fPIC", "-O2", f"-I{include}", *defines, str(source), "-o", str(artifact)], check=True
    )
    return artifact


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tune_runner")
    not_elf = directory / "not_elf.so"
    not_elf.write_text("not a shared object\n")
    return {
        "good": build_artifact(directory, "good"),
        "wrong_abi": build_artifact(directory, "wrong_abi", "-DTEST_ABI_VERSION=99"),
        "not_elf": not_elf,
    }


def run(artifact, entry, *args, warmup=1, samples=5, extra=()):
    """(exit code, the parsed JSON line); stdout must be exactly that line."""
    command = [str(RUNNER), "--artifact", str(artifact), "--entry", entry, "--warmup", str(warmup),
               "--samples", str(samples), *extra, *args]
    process = subprocess.run(command, capture_output=True, timeout=120)
    lines = process.stdout.decode("utf-8").split("\n")
    assert len(lines) == 2 and lines[1] == "", f"stdout is not one line: {process.stdout!r}"
    return process.returncode, json.loads(lines[0])


def assert_usage_error(result, *fragments):
    code, reply = result
    assert code == 1, reply
    assert set(reply) == {"error"}
    for fragment in fragments:
        assert fragment in reply["error"]


def test_samples_are_positive_and_as_many_as_requested(artifacts):
    code, reply = run(artifacts["good"], "sejits_test_add", "array:float64:3x4", "array:float64:3x4",
                      "array:float64:3x4", warmup=3, samples=17)
    assert code == 0, reply
    assert set(reply) == {"samples"}
    assert len(reply["samples"]) == 17
    assert all(isinstance(s, float) and s > 0 for s in reply["samples"])


def test_rank_zero_and_empty_arrays(artifacts):
    for shape in ["", "0", "0x5", "5x0x3"]:
        code, reply = run(artifacts["good"], "sejits_test_add", *[f"array:float64:{shape}"] * 3)
        assert code == 0, (shape, reply)


def test_every_dtype_is_filled_in_its_range_and_laid_out_in_c_order(artifacts):
    dtypes = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]
    arrays = [f"array:{dtype}:{3 + i}x{7 - i % 3}x2" for i, dtype in enumerate(dtypes)]
    code, reply = run(artifacts["good"], "sejits_test_inspect", *arrays, "array:float32:1000003",
                      "array:int8:0x1099511627776", samples=1)
    assert code == 0, reply


def test_contents_are_deterministic(artifacts):
    args = ["array:float64:100x3", "array:int32:7", "array:float32:5x5"]
    first = run(artifacts["good"], "sejits_test_checksum", *args, warmup=0, samples=1)
    second = run(artifacts["good"], "sejits_test_checksum", *args, warmup=0, samples=1)
    assert first[0] == 2 and "checksum" in first[1]["error"]
    assert first == second


def test_max_seconds_stops_early(artifacts):
    start = time.monotonic()
    code, reply = run(artifacts["good"], "sejits_test_slow", warmup=0, samples=1000, extra=["--max_seconds", "0.1"])
    assert code == 0, reply
    assert 1 <= len(reply["samples"]) < 20  # 20 ms a call: about 6
    assert time.monotonic() - start < 10


def test_a_failing_entry_reports_its_message(artifacts):
    code, reply = run(artifacts["good"], "sejits_test_boom")
    assert code == 2
    assert "boom" in reply["error"]
    assert "sejits_test_boom" in reply["error"]


def test_a_kernel_rejecting_its_arguments_is_exit_2(artifacts):
    code, reply = run(artifacts["good"], "sejits_test_add", "array:float64:3x4", "array:float64:4x3",
                      "array:float64:3x4")
    assert code == 2
    assert "argument 1 has another shape" in reply["error"]


def test_error_messages_are_escaped(artifacts):
    code, reply = run(artifacts["good"], "sejits_test_quote")
    assert code == 2
    assert 'said "hi" \\ back\nnext\ttab\x01 \ufffd end' in reply["error"]


def test_kernel_output_does_not_reach_stdout(artifacts):
    code, reply = run(artifacts["good"], "sejits_test_chatty", samples=3)
    assert code == 0 and len(reply["samples"]) == 3


def test_scalars_are_passed_through(artifacts):
    code, reply = run(artifacts["good"], "sejits_test_fill", "array:float64:4x4", "scalar:float64:2.5")
    assert code == 0, reply
    code, reply = run(artifacts["good"], "sejits_test_fill", "array:float64:4x4", "scalar:float64:3")
    assert code == 2
    assert "expected the value 2.5, got 3" in reply["error"]
    code, reply = run(artifacts["good"], "sejits_test_scalars", "scalar:int64:-7",
                      "scalar:uint64:18446744073709551615", "scalar:bool:1", "scalar:float32:0.25")
    assert code == 0, reply


def test_wrong_abi_version(artifacts):
    code, reply = run(artifacts["wrong_abi"], "sejits_test_add", *["array:float64:3"] * 3)
    assert code == 2
    assert "kernel ABI version 99" in reply["error"]
    assert "version 1" in reply["error"]


def test_unloadable_artifact_and_unknown_entry(artifacts):
    code, reply = run(artifacts["not_elf"], "sejits_test_add")
    assert code == 2 and "cannot load artifact" in reply["error"]
    code, reply = run(artifacts["good"], "sejits_no_such_entry")
    assert code == 2 and "sejits_no_such_entry" in reply["error"]


@pytest.mark.parametrize(
    "arg, fragments",
    [
        ("array:complex64:3", ["dtype", "complex64"]),
        ("array:float64:3xq", ["shape", '"q"']),
        ("array:float64:3x", ["shape", '""']),
        ("array:float64:-3", ["shape", '"-3"']),
        ("array:float64", ["array:<dtype>:"]),
        ("tensor:float64:3", ["kind", "tensor"]),
        ("array:float64:1099511627777", ["1099511627777", "2^40"]),
        ("array:float64:" + "x".join(["1"] * 9), ["SEJITS_MAX_RANK"]),
        ("array:float64:1073741824x2", ["8 GiB"]),
        ("array:float64:1099511627776x1099511627776", ["8 GiB"]),
        ("array:float64:0x1099511627776x1099511627776", ["overflow"]),
        ("scalar:int8:300", ["300", "int8"]),
        ("scalar:uint8:-1", ["-1", "uint8"]),
        ("scalar:bool:2", ["bool"]),
        ("scalar:float64:abc", ["abc", "not a number"]),
    ],
)
def test_bad_argument_specs(artifacts, arg, fragments):
    assert_usage_error(run(artifacts["good"], "sejits_test_inspect", arg), arg, *fragments)


def test_missing_artifact(tmp_path):
    missing = tmp_path / "missing.so"
    assert_usage_error(run(missing, "sejits_test_add"), "artifact not found", str(missing))


@pytest.mark.parametrize(
    "command, fragment",
    [
        (["--entry", "e", "--warmup", "1", "--samples", "1"], "missing --artifact"),
        (["--artifact", "{good}", "--warmup", "1", "--samples", "1"], "missing --entry"),
        (["--artifact", "{good}", "--entry", "e", "--samples", "1"], "missing --warmup"),
        (["--artifact", "{good}", "--entry", "e", "--warmup", "1"], "missing --samples"),
        (["--artifact={good}", "--entry=e", "--warmup=1", "--samples=0"], "--samples must be"),
        (["--artifact={good}", "--entry=e", "--warmup=x", "--samples=1"], "--warmup must be"),
        (["--artifact={good}", "--entry=e", "--warmup=1", "--samples=1", "--max_seconds=0"], "--max_seconds"),
        (["--artifact={good}", "--entry=e", "--warmup=1", "--samples=1", "--frob=1"], "unknown flag --frob"),
        (["--artifact={good}", "--entry=e", "--warmup=1", "--samples"], "--samples needs a value"),
    ],
)
def test_bad_flags(artifacts, command, fragment):
    process = subprocess.run([str(RUNNER), *(word.format(good=artifacts["good"]) for word in command)],
                             capture_output=True, timeout=60)
    lines = process.stdout.decode("utf-8").split("\n")
    assert len(lines) == 2 and lines[1] == ""
    assert_usage_error((process.returncode, json.loads(lines[0])), fragment)
