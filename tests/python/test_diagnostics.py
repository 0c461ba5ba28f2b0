"""What users are told: rejections that name the construct and the line,
the fallback and its single warning, explain(), source(), stats."""

import warnings

import numpy as np
import pytest

import sejits
from sejits import _config


@pytest.fixture
def fallback_mode(daemon):
    saved = _config.settings.fallback

    def set_mode(mode):
        sejits.config(fallback=mode)

    yield set_mode
    sejits.config(fallback=saved)


def line_of(fn, text):
    import inspect

    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def comprehension_kernel(x):
    y = x + 1
    return y * [y for _ in range(3)]


def sum_kernel(x):
    y = x + 1
    return sum([y for _ in range(3)])


def subscript_kernel(x):
    return x[0] + 1


def string_kernel(x):
    return x + "a"


@pytest.mark.parametrize("kernel, marker, construct", [
    (comprehension_kernel, "[y for", "list comprehension"),
    (sum_kernel, "sum([", "'builtins.sum' is not supported"),
    (subscript_kernel, "x[0]", "indexing"),
    (string_kernel, '"a"', "string constants"),
])
def test_rejection_names_construct_file_and_line(daemon, kernel, marker, construct):
    with pytest.raises(sejits.SpecializationError) as error:
        sejits.elementwise(kernel)(np.ones(3))
    message = str(error.value)
    assert f"test_diagnostics.py:{line_of(kernel, marker)}:" in message
    assert construct in message


def test_fallback_warns_once_and_computes_the_python_result(daemon, fallback_mode):
    fallback_mode("warn")
    kernel = sejits.elementwise(sum_kernel)
    x = np.arange(4.0)
    with pytest.warns(sejits.SpecializationWarning, match="builtins.sum"):
        first = kernel(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = kernel(x)
    np.testing.assert_array_equal(first, 3 * (x + 1))
    np.testing.assert_array_equal(second, first)


def test_fallback_runs_element_by_element_when_the_body_is_not_vectorizable(daemon, fallback_mode):
    fallback_mode("silent")

    def clip(x):
        return [x][0] if x > 0 else 0.0

    x = np.array([-1.0, 2.0, -3.0, 4.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(sejits.elementwise(clip)(x), np.maximum(x, 0))


def test_unsupported_dtype_falls_back_with_the_reason(daemon, fallback_mode):
    fallback_mode("warn")
    kernel = sejits.elementwise(lambda v: v * 2)
    with pytest.warns(sejits.SpecializationWarning, match="complex128"):
        result = kernel(np.array([1 + 2j]))
    np.testing.assert_array_equal(result, np.array([2 + 4j]))


def test_explain_and_source(daemon):
    @sejits.elementwise
    def scaled(a, x):
        return a * x + 1

    x = np.arange(5.0)
    report = scaled.explain(2.0, x)
    assert "specialized" in report and "NOT" not in report
    assert "(python float, float64[1-D]) -> float64" in report
    assert "key:" in report and "cache:" in report
    source = scaled.source(2.0, x)
    assert "sejits_elementwise" in source and "#pragma omp parallel for" in source
    assert "scaled" not in source  # identifiers are generated, never copied from the request


def test_explain_tells_why_not(daemon, fallback_mode):
    fallback_mode("silent")
    report = sejits.elementwise(subscript_kernel).explain(np.ones(3))
    assert "NOT specialized" in report and "indexing" in report


def test_stats_count_requests(daemon):
    before = sejits.stats()
    kernel = sejits.elementwise(lambda v: v * 7 + 3)
    kernel(np.ones(3, dtype=np.int16))
    after = sejits.stats()
    assert after["requests"] == before["requests"] + 1
    assert after["compiles"] == before["compiles"] + 1
    assert after["cache_entries"] >= 1 and after["version"]


def run_cli(python_env, *args):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "sejits.cli", *args], env=python_env, capture_output=True,
                            text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def test_cli_status_and_stats(daemon, python_env):
    sejits.elementwise(lambda v: v - 2)(np.ones(2))
    code, output = run_cli(python_env, "status")
    assert code == 0, output
    assert daemon.address in output and "artifacts" in output and "hits" in output and "median" in output
    code, output = run_cli(python_env, "stats")
    assert code == 0 and "cache_hits" in output and "compile_median_seconds" in output


def test_cli_reports_a_missing_daemon(tmp_path, python_env):
    env = dict(python_env, SEJITS_DAEMON=f"unix:{tmp_path}/nobody.sock")
    code, output = run_cli(env, "status")
    assert code == 1 and "not running" in output
