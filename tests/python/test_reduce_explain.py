"""What a reduction tells its user: explain() of a compiled call is its
kernel's (specializer, key, cache outcome, notes), and the last call's path
names the reason when NumPy ran it; source() is the generated C++ (or
OpenCL). Scans and a user's operator say the same."""

import numpy as np

import sejits

sumsq = sejits.reduce("sum")(lambda x, y: (x - y) * (x - y))
mean_of = sejits.reduce("mean")(lambda v: v)
running_sumsq = sejits.scan("sum")(lambda v: v * v)


@sejits.reduce(combine=True, identity=-np.inf)
def largest(a, b):
    return a if a >= b else b


def test_explain_and_source_of_a_compiled_reduction(daemon):
    x, y = np.random.default_rng(3).random((2, 50, 40))
    np.testing.assert_allclose(sumsq(x, y, axis=0), np.sum((x - y) ** 2, axis=0), rtol=1e-12)
    assert sumsq._last_run == "the compiled reduction"
    text = str(sumsq.explain(x, y, axis=0))
    assert "reduce" in text and "key" in text and "pairwise tree" in text, text
    assert "sejits_reduce_run<double" in sumsq.source(x, y, axis=0)


def test_the_numpy_path_says_why(daemon):
    x = np.random.default_rng(4).random((6, 7))
    mask = x > 0.3
    np.testing.assert_allclose(mean_of(x, axis=1, where=mask), np.mean(x, axis=1, where=mask), rtol=1e-12)
    assert "then np.mean (NumPy decides this call" in mean_of._last_run, mean_of._last_run
    assert "runs the map, then np.mean" in str(mean_of.explain(x, axis=1, where=mask))
    np.testing.assert_allclose(mean_of(x, axis=1), np.mean(x, axis=1), rtol=1e-12)
    assert mean_of._last_run == "the compiled reduction"


def test_explain_and_source_of_a_scan(target):
    x = np.random.default_rng(5).random((30, 9000))
    np.testing.assert_allclose(running_sumsq(x, axis=1), np.cumsum(x * x, axis=1), rtol=1e-12)
    text = str(running_sumsq.explain(x, axis=1))
    assert "reduce" in text and "key" in text and "blocks of 4096" in text, text
    source = running_sumsq.source(x, axis=1)
    expected = "sejits_scan_totals" if target == "opencl" else "sejits_scan_run<double"
    assert expected in source, source[:2000]
    assert "the compiled" in text and "scan" in text.split("last call")[-1], text
    bad = str(running_sumsq.explain(x, axis=(0, 1)))
    assert "runs the map, then NumPy's scan" in bad, bad


def test_explain_and_source_of_a_users_operator(daemon):
    x = np.random.default_rng(6).random((40, 7))
    np.testing.assert_array_equal(largest(x, axis=0), np.max(x, axis=0))
    text = str(largest.explain(x, axis=0))
    assert "reduce" in text and "key" in text and "the compiled reduction" in text.split("last call")[-1], text
    assert "sejits_reduce_run<double" in largest.source(x, axis=0)
