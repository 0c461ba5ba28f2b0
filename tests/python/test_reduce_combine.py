"""sejits.reduce(combine=True, identity=...): a user's associative operator
fn(a, b), compiled, against NumPy's own reductions of the same operator and
against np.frompyfunc(fn).reduce (the fallback). Elements are combined in
order, so an associative operator that is not commutative works too."""

import numpy as np
import pytest

import sejits
from reference import assert_same

# OpenCL reductions are not compiled yet: these run on the CPU (tests/conftest.py).
OPENCL_ONLY_WHERE_SAMPLED = True


@sejits.reduce(combine=True, identity=-np.inf)
def logaddexp(a, b):
    m = max(a, b)
    return m + np.log1p(np.exp(-abs(a - b))) if m > -np.inf else m


first = sejits.reduce(combine=True)(lambda a, b: a)  # associative, not commutative
last = sejits.reduce(combine=True)(lambda a, b: b)
larger = sejits.reduce(combine=True, identity=0)(lambda a, b: a if a >= b else b)


def rng():
    return np.random.default_rng(2019)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)], ids=str)
def test_logaddexp_matches_numpy(target, axis):
    log_probs = np.log(rng().random((37, 211)))
    expected = np.logaddexp.reduce(log_probs.ravel() if axis is None or axis == (0, 1) else log_probs,
                                   axis=0 if axis is None or axis == (0, 1) else axis)
    actual = logaddexp(log_probs, axis=axis)
    assert_same(actual, expected, rtol=1e-12)
    assert logaddexp._last_run == "the compiled reduction"


def test_order_is_kept_for_an_operator_that_is_not_commutative(target):
    x = rng().random((13, 300))
    assert_same(first(x, axis=1), x[:, 0])
    assert_same(last(x, axis=1), x[:, -1])
    assert_same(first(x, axis=0), x[0])
    assert_same(last(x.T, axis=0), x.T[-1])
    assert_same(first(x), x[0, 0])


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.float32], ids=lambda d: np.dtype(d).name)
def test_integer_and_float32_operators(target, dtype):
    x = (rng().random((9, 130)) * 100).astype(dtype)
    assert_same(larger(x, axis=1), np.maximum(x.max(axis=1), dtype(0)))
    assert_same(larger(x), x.max())


def test_identity_starts_every_reduction_and_is_the_empty_result(target):
    assert_same(logaddexp(np.zeros((3, 0)), axis=1), np.full(3, -np.inf))
    assert_same(larger(np.array([-5, -2, -9]), axis=0), np.int64(0))  # the identity 0 is combined first
    with pytest.raises(ValueError, match="zero-size array"):
        first(np.zeros((0, 4)), axis=0)


def test_keepdims_dtype_and_out(target):
    x = np.log(rng().random((6, 50)))
    assert_same(logaddexp(x, axis=1, keepdims=True), np.logaddexp.reduce(x, axis=1, keepdims=True), rtol=1e-12)
    assert_same(logaddexp(x.astype(np.float32), axis=1, dtype=np.float64), np.logaddexp.reduce(x.astype(np.float32).astype(np.float64), axis=1), rtol=1e-6)
    out = np.empty(6)
    assert logaddexp(x, axis=1, out=out) is out
    np.testing.assert_allclose(out, np.logaddexp.reduce(x, axis=1), rtol=1e-12)


def test_compiled_and_fallback_agree(target):
    x = np.log(rng().random((4, 33)))
    compiled = logaddexp(x, axis=1)
    fallback = logaddexp._reduce_with_numpy(x, (1,), None)
    np.testing.assert_allclose(compiled, fallback, rtol=1e-12)
    assert "sejits_reduce_combine" in logaddexp.source(x, axis=1)
