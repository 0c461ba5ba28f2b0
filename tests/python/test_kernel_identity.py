"""A kernel is the AST of its own lambda or def: several lambdas on one line,
in a list, a dict, nested in a call or a function, each compute their own
function (issue 16, item 1); where the node cannot be identified, the kernel
is refused with the reason, never guessed."""

import numpy as np
import pytest

import sejits


def test_two_elementwise_lambdas_on_one_line(daemon):
    sc = [sejits.elementwise(lambda a: a * 5.0), sejits.elementwise(lambda a: a * 7.0)]
    x = np.arange(4.0)
    np.testing.assert_array_equal(sc[1](x), x * 7.0)
    np.testing.assert_array_equal(sc[0](x), x * 5.0)


def test_two_stencil_lambdas_in_one_tuple_assignment(daemon):
    fwd, bwd = sejits.stencil(lambda u: u[1] - u[0]), sejits.stencil(lambda u: u[0] - u[-1])
    u = np.arange(6.0) ** 2
    expected_fwd = np.zeros(6)
    expected_fwd[:-1] = u[1:] - u[:-1]
    expected_bwd = np.zeros(6)
    expected_bwd[1:] = u[1:] - u[:-1]
    np.testing.assert_array_equal(bwd(u), expected_bwd)
    np.testing.assert_array_equal(fwd(u), expected_fwd)


def test_dict_of_lambdas(daemon):
    table = {"sin": lambda x: np.sin(x), "cos": lambda x: np.cos(x), "tan": lambda x: np.tan(x)}
    kernels = {name: sejits.elementwise(fn) for name, fn in table.items()}
    x = np.linspace(-1, 1, 11)
    for name, kernel in kernels.items():
        np.testing.assert_allclose(kernel(x), getattr(np, name)(x), rtol=1e-15, err_msg=name)


def test_nested_lists_and_same_body_other_constants(daemon):
    grid = [[sejits.elementwise(lambda v: v + 1), sejits.elementwise(lambda v: v + 2)],
            [sejits.elementwise(lambda v: v - 1), sejits.elementwise(lambda w: w * 3)]]
    x = np.arange(5.0)
    expected = [[x + 1, x + 2], [x - 1, x * 3]]
    for row, expected_row in zip(grid, expected):
        for kernel, want in zip(row, expected_row):
            np.testing.assert_array_equal(kernel(x), want)


def test_lambda_inside_a_lambda_call_and_closures(daemon):
    def make(k):
        return sejits.elementwise(lambda a: a * k), sejits.elementwise(lambda a: a + k)

    times, plus = make(3.0)
    x = np.arange(4.0)
    np.testing.assert_array_equal(times(x), x * 3.0)
    np.testing.assert_array_equal(plus(x), x + 3.0)
    outer = (lambda f: sejits.elementwise(f))(lambda b: b - 0.5)
    np.testing.assert_array_equal(outer(x), x - 0.5)


def test_lambdas_spanning_lines(daemon):
    pair = (sejits.elementwise(lambda a, b:
                               a * b + 1.0), sejits.elementwise(lambda a, b:
                                                                a * b - 1.0))
    x, y = np.arange(3.0), np.arange(3.0) + 1
    np.testing.assert_array_equal(pair[0](x, y), x * y + 1.0)
    np.testing.assert_array_equal(pair[1](x, y), x * y - 1.0)


def test_two_defs_with_one_name_in_one_file(daemon):
    @sejits.elementwise
    def f(a):
        return a + 10.0

    first = f

    @sejits.elementwise
    def f(a):  # noqa: F811 - the same name, another function
        return a - 10.0

    x = np.arange(3.0)
    np.testing.assert_array_equal(first(x), x + 10.0)
    np.testing.assert_array_equal(f(x), x - 10.0)


def test_unidentifiable_lambda_is_refused_with_reason(daemon, tmp_path, monkeypatch):
    # Source that no longer matches the code (edited after import): refused, not guessed.
    source = tmp_path / "edited_module.py"
    source.write_text("f = lambda a: a * 2.0\n")
    namespace = {}
    exec(compile(source.read_text(), str(source), "exec"), namespace)
    source.write_text("g = 1\n\nf = lambda a: a * 3.0\n")
    import linecache

    linecache.checkcache(str(source))
    kernel = sejits.elementwise(namespace["f"])
    with pytest.raises(sejits.SpecializationError, match="line 1 of .*edited_module.py has no lambda"):
        kernel(np.arange(3.0))
    sejits.config(fallback="silent")
    try:
        np.testing.assert_array_equal(kernel(np.arange(3.0)), np.arange(3.0) * 2.0)  # the code that runs
    finally:
        sejits.config(fallback="error")
