"""Misuse of sejits.reduce / sejits.scan (issue 19) raises what NumPy's
function of the same name raises for the same misuse: its exception type
and, where stable, the key words of its message."""

import numpy as np
import pytest

import sejits

# OpenCL reductions are not compiled yet (the map runs on the device, then
# NumPy): only the on_targets cases sampled for OpenCL run there
# (tests/conftest.py). Each OpenCL case costs a program build.
OPENCL_ONLY_WHERE_SAMPLED = True

sum_of = sejits.reduce("sum")(lambda v: v)
min_of = sejits.reduce("min")(lambda v: v)
max_of = sejits.reduce("max")(lambda v: v)
argmin_of = sejits.reduce("argmin")(lambda v: v)
argmax_of = sejits.reduce("argmax")(lambda v: v)
any_of = sejits.reduce("any")(lambda v: v)
all_of = sejits.reduce("all")(lambda v: v)
mean_of = sejits.reduce("mean")(lambda v: v)
running_sum = sejits.scan("sum")(lambda v: v)
running_max = sejits.scan("max")(lambda v: v)


@sejits.reduce("sum")
def sumsq(x, y):
    d = x - y
    return d * d


X = np.arange(6.0).reshape(2, 3)


def raises_like_numpy(numpy_call, sejits_call, match=None):
    """sejits_call raises exactly the type NumPy's call raises (and `match` in its message)."""
    with pytest.raises(Exception) as numpy_error:
        numpy_call()
    with pytest.raises(Exception, match=match) as our_error:
        sejits_call()
    assert type(our_error.value) is type(numpy_error.value), \
        f"{type(our_error.value).__name__}({our_error.value}) where NumPy raises " \
        f"{type(numpy_error.value).__name__}({numpy_error.value})"


@pytest.mark.parametrize("op, kernel, numpy_function", [("min", min_of, np.min), ("max", max_of, np.max)])
def test_min_max_of_an_empty_axis(target, op, kernel, numpy_function):
    empty = np.empty((0, 3))
    raises_like_numpy(lambda: numpy_function(empty), lambda: kernel(empty), "zero-size array")
    raises_like_numpy(lambda: numpy_function(empty, axis=0), lambda: kernel(empty, axis=0), "zero-size array")
    raises_like_numpy(lambda: numpy_function(empty.T, axis=1, keepdims=True),
                      lambda: kernel(empty.T, axis=1, keepdims=True), "zero-size array")
    assert kernel(empty, axis=1).shape == (0,)  # an empty result is fine


@pytest.mark.parametrize("kernel, numpy_function", [(argmin_of, np.argmin), (argmax_of, np.argmax)])
def test_argmin_argmax_of_an_empty_axis(target, kernel, numpy_function):
    empty = np.empty((0, 3))
    raises_like_numpy(lambda: numpy_function(empty), lambda: kernel(empty), "empty sequence")
    raises_like_numpy(lambda: numpy_function(empty, axis=0), lambda: kernel(empty, axis=0), "empty sequence")


@pytest.mark.parametrize("kernel, numpy_function", [(min_of, np.min), (max_of, np.max)])
def test_min_max_where_without_initial(target, kernel, numpy_function):
    mask = X > 1
    raises_like_numpy(lambda: numpy_function(X, where=mask), lambda: kernel(X, where=mask), "initial")
    raises_like_numpy(lambda: numpy_function(X, axis=1, where=mask), lambda: kernel(X, axis=1, where=mask), "initial")


@pytest.mark.parametrize("kernel, numpy_function", [(argmin_of, np.argmin), (argmax_of, np.argmax)])
def test_arg_reductions_take_one_int_axis(target, kernel, numpy_function):
    raises_like_numpy(lambda: numpy_function(X, axis=(0, 1)), lambda: kernel(X, axis=(0, 1)))  # TypeError
    raises_like_numpy(lambda: numpy_function(X, axis=(1,)), lambda: kernel(X, axis=(1,)))
    raises_like_numpy(lambda: numpy_function(X, axis=2), lambda: kernel(X, axis=2), "out of bounds")


@pytest.mark.parametrize("kernel, numpy_function, keyword, value", [
    (argmax_of, np.argmax, "initial", 1.0), (argmin_of, np.argmin, "where", True), (argmax_of, np.argmax, "dtype", float),
    (any_of, np.any, "dtype", bool), (all_of, np.all, "initial", True), (mean_of, np.mean, "initial", 0.0),
    (min_of, np.min, "dtype", float),
], ids=["argmax-initial", "argmin-where", "argmax-dtype", "any-dtype", "all-initial", "mean-initial", "min-dtype"])
def test_keywords_numpy_does_not_take(target, kernel, numpy_function, keyword, value):
    raises_like_numpy(lambda: numpy_function(X, **{keyword: value}), lambda: kernel(X, **{keyword: value}), keyword)


@pytest.mark.parametrize("axis", [2, -3, (0, 2), (-3,)], ids=str)
def test_axis_out_of_bounds(target, axis):
    with pytest.raises(np.exceptions.AxisError, match="out of bounds"):
        sum_of(X, axis=axis)
    with pytest.raises(np.exceptions.AxisError):
        max_of(X, axis=axis, keepdims=True)
    with pytest.raises(np.exceptions.AxisError):
        sumsq(X, 1.0, axis=axis)


def test_axis_of_a_zero_dimensional_input(target):
    raises_like_numpy(lambda: np.sum(np.array(1.0), axis=1), lambda: sum_of(np.array(1.0), axis=1), "out of bounds")
    raises_like_numpy(lambda: np.argmax(np.array(1.0), axis=1), lambda: argmax_of(np.array(1.0), axis=1))


@pytest.mark.parametrize("axis", [(0, 0), (1, -1)], ids=str)
def test_duplicate_axes(target, axis):
    raises_like_numpy(lambda: np.sum(X, axis=axis), lambda: sum_of(X, axis=axis), "duplicate|repeated")


def test_axis_that_is_not_an_integer(target):
    raises_like_numpy(lambda: np.sum(X, axis=1.0), lambda: sum_of(X, axis=1.0))  # TypeError
    raises_like_numpy(lambda: np.argmax(X, axis=1.5), lambda: argmax_of(X, axis=1.5))


@pytest.mark.parametrize("out", [np.empty(4), np.empty((3, 1)), np.empty((2, 3)), np.empty(())], ids=lambda o: str(o.shape))
def test_out_of_the_wrong_shape(target, out):
    raises_like_numpy(lambda: np.sum(X, axis=0, out=out.copy()), lambda: sum_of(X, axis=0, out=out))
    raises_like_numpy(lambda: np.max(X, axis=0, out=out.copy()), lambda: max_of(X, axis=0, out=out))


def test_out_with_keepdims_needs_the_kept_dimensions(target):
    out = np.empty(3)
    raises_like_numpy(lambda: np.sum(X, axis=0, keepdims=True, out=out.copy()),
                      lambda: sum_of(X, axis=0, keepdims=True, out=out), "dimensions")


def test_argmax_out_of_another_dtype(target):
    raises_like_numpy(lambda: np.argmax(X, axis=1, out=np.empty(2)), lambda: argmax_of(X, axis=1, out=np.empty(2)))


def test_where_that_does_not_broadcast(target):
    mask = np.ones(4, bool)
    raises_like_numpy(lambda: np.sum(X, where=mask), lambda: sum_of(X, where=mask))


def test_map_arguments_that_do_not_broadcast(target):
    with pytest.raises(ValueError, match="broadcast"):
        sumsq(np.ones(3), np.ones(4))


def test_scan_misuse(target):
    raises_like_numpy(lambda: np.cumsum(X, axis=2), lambda: running_sum(X, axis=2), "out of bounds")
    raises_like_numpy(lambda: np.maximum.accumulate(X, axis=-3), lambda: running_max(X, axis=-3), "out of bounds")
    raises_like_numpy(lambda: np.cumsum(X, axis=(0, 1)), lambda: running_sum(X, axis=(0, 1)))  # TypeError
    # NumPy's maximum.accumulate raises ValueError for several axes, np.cumsum TypeError: either is NumPy's.
    with pytest.raises((TypeError, ValueError)):
        running_max(X, axis=(0, 1))
    raises_like_numpy(lambda: np.cumsum(X, axis=0, out=np.empty(6)), lambda: running_sum(X, axis=0, out=np.empty(6)))
    raises_like_numpy(lambda: np.cumsum(X, axis=0, out=np.empty((3, 2))),
                      lambda: running_sum(X, axis=0, out=np.empty((3, 2))))


def test_unknown_operations_are_refused():
    with pytest.raises((ValueError, TypeError)):
        sejits.reduce("median")(lambda v: v)(np.ones(3))
    with pytest.raises((ValueError, TypeError)):
        sejits.scan("mean")(lambda v: v)(np.ones(3))


def test_a_good_call_after_errors(target):
    with pytest.raises(ValueError):
        max_of(np.empty(0))
    assert sum_of(X) == 15.0 and type(sum_of(X)) is np.float64
    assert max_of(X, axis=0).tolist() == [3.0, 4.0, 5.0]
