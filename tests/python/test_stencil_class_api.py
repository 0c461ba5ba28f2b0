"""Asp StencilKernel bodies beyond one interior loop: border_points() loops,
several output grids, index arithmetic on the point, iterate(), on the CPU
and OpenCL targets; each against the Python run of the same method
(pure_python=True), which is their semantics."""

import inspect

import numpy as np
import pytest

import sejits
from reference import assert_same


class HeatWithFixedBorder(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x] + self.k * (in_grid[x[0] + 1, x[1]] + in_grid[x[0] - 1, x[1]]
                                                  + in_grid[x[0], x[1] + 1] + in_grid[x[0], x[1] - 1] - 4 * in_grid[x])
        for x in out_grid.border_points():
            out_grid[x] = self.edge * in_grid[x]


class GradientAndMagnitude(sejits.StencilKernel):
    """Three outputs, one of them read back at x after it was assigned."""

    def kernel(self, a, dx, dy, norm):
        for x in a.interior_points():
            dx[x] = (a[x[0] + 1, x[1]] - a[x[0] - 1, x[1]]) / 2
            dy[x] = (a[x[0], x[1] + 1] - a[x[0], x[1] - 1]) / 2
            norm[x] = np.sqrt(dx[x] * dx[x] + dy[x] * dy[x])
        for x in a.border_points():
            dx[x] = 0.0
            dy[x] = 0.0
            norm[x] = a[x]


class Smooth1d(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = 0.25 * in_grid[x[0] - 1] + 0.5 * in_grid[x] + 0.25 * in_grid[x[0] + 1]


class OutputBeforeInput(sejits.StencilKernel):
    def kernel(self, out_grid, in_grid):
        for x in in_grid.interior_points():
            out_grid[x] = in_grid[x[0] - 2, x[1], x[2] + 1] - in_grid[x]
        for x in in_grid.border_points():
            out_grid[x] = -in_grid[x]


class BorderNeighbour(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x]
        for x in out_grid.border_points():
            out_grid[x] = in_grid[x[0] + 1, x[1]]


class SwappedAxes(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x[1], x[0]]


class NotAGrid(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = in_grid[x] + undefined_helper(x)  # noqa: F821


def make_grids(shape, dtype, count, ghost_depth=1, seed=0):
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        grid = sejits.StencilGrid(shape, dtype=dtype, ghost_depth=ghost_depth)
        grid.data[...] = (rng.random(shape) * 4 - 2).astype(dtype)
        made.append(grid)
    return made


def copies(grids):
    made = []
    for grid in grids:
        twin = sejits.StencilGrid(grid.shape, dtype=grid.data.dtype, ghost_depth=grid.ghost_depth)
        twin.data[...] = grid.data
        twin.neighbor_definition = grid.neighbor_definition
        made.append(twin)
    return made


def compare(kernel_class, attributes, grids, tolerance):
    """Runs the method specialized and as Python on copies of `grids`
    (outputs start as random values: ghost cells no loop assigns must keep them)."""
    fast, slow = copies(grids), copies(grids)
    kernel_class(**attributes).kernel(*fast)
    kernel_class(pure_python=True, **attributes).kernel(*slow)
    for f, s in zip(fast, slow):
        assert_same(f.data, s.data, tolerance)


TOLERANCE = {np.float32: 1e-5, np.float64: 1e-13, np.int32: None, np.int64: None}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("shape", [(17, 23), (3, 3), (1, 5), (2, 2)])
def test_border_points_loop_and_index_arithmetic(target, dtype, shape):
    if target == "opencl" and (dtype == np.int64 or shape != (17, 23)):
        pytest.skip("OpenCL: one shape per dtype (each is a program build)")
    compare(HeatWithFixedBorder, {"k": 0.25, "edge": 2.0}, make_grids(shape, dtype, 2), TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_several_output_grids(target, dtype):
    grids = make_grids((29, 31), dtype, 4, seed=1)
    compare(GradientAndMagnitude, {}, grids, TOLERANCE[dtype])


def test_outputs_of_mixed_dtypes(daemon):
    a, dx, dy, norm = make_grids((11, 13), np.float64, 4, seed=2)
    dx, norm = (copies([g])[0] for g in (dx, norm))
    for grid in (dx, norm):
        grid.data = grid.data.astype(np.float32)
    compare(GradientAndMagnitude, {}, [a, dx, dy, norm], 1e-6)


def test_rank_1_and_a_prime_length(target):
    compare(Smooth1d, {}, make_grids((101,), np.float64, 2, seed=3), 1e-14)


def test_rank_3_ghost_depth_2_output_first(target):
    grids = make_grids((7, 11, 5), np.float64, 2, ghost_depth=2, seed=4)
    compare(OutputBeforeInput, {}, grids, 1e-14)


@pytest.mark.parametrize("steps", [0, 1, 4, 5])
def test_iterate_ping_pongs_and_leaves_the_input(target, steps):
    source, out = make_grids((13, 9), np.float64, 2, seed=5)
    kept = source.data.copy()
    kernel = HeatWithFixedBorder(k=0.2, edge=1.0)
    assert kernel.iterate(source, out, steps=steps) is out
    assert_same(source.data, kept)
    a, b = copies([source, out])
    expected = copies([out])[0] if steps else a
    for _ in range(steps):
        HeatWithFixedBorder(pure_python=True, k=0.2, edge=1.0).kernel(a, b)
        a, b = b, a
    assert_same(out.data, a.data if steps else source.data, 1e-13)
    del expected


def test_iterate_with_the_output_first(daemon):
    out, source = make_grids((6, 7, 8), np.float64, 2, ghost_depth=2, seed=6)
    fast_out = copies([out])[0]
    OutputBeforeInput().iterate(fast_out, source, steps=3)
    a, b = copies([source, out])
    for _ in range(3):
        OutputBeforeInput(pure_python=True).kernel(b, a)
        a, b = b, a
    assert_same(fast_out.data, a.data, 1e-14)


def test_iterate_needs_one_input_and_one_output(daemon):
    grids = make_grids((5, 5), np.float64, 4)
    with pytest.raises(TypeError, match="one input grid and write one output grid"):
        GradientAndMagnitude().iterate(*grids, steps=2)
    with pytest.raises(ValueError, match="at least 0"):
        HeatWithFixedBorder(k=1.0, edge=1.0).iterate(*grids[:2], steps=-1)


@pytest.mark.parametrize("kernel_class, message, offset", [
    (BorderNeighbour, "a loop over border_points() reads grids at x only", 4),
    (SwappedAxes, "coordinate 1 of the point is used along axis 0", 2),
])
def test_refusals_name_the_line_once(daemon, kernel_class, message, offset):
    grids = make_grids((6, 6), np.float64, 2)
    with pytest.raises(sejits.SpecializationError) as error:
        kernel_class().kernel(*grids)
    text = str(error.value)
    line = inspect.getsourcelines(kernel_class.kernel.__wrapped__)[1] + offset
    assert message in text and f"test_stencil_class_api.py:{line}:" in text, text
    name = kernel_class.kernel.__qualname__
    assert text.startswith(f"{name}: ") and text.count(name) == 1, text


def test_undefined_name_is_a_name_error_at_its_line(daemon):
    grids = make_grids((6, 6), np.float64, 2)
    with pytest.raises(NameError) as error:
        NotAGrid().kernel(*grids)
    line = inspect.getsourcelines(NotAGrid.kernel.__wrapped__)[1] + 2
    assert "undefined_helper" in str(error.value) and f":{line}" in str(error.value), str(error.value)


class WeightedRows(sejits.StencilKernel):
    """Weights as an attribute (a NumPy array, or a list), read with the offsets of an unrolled range() loop."""

    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            acc = 0.0
            for di in range(-2, 3):
                for dj in range(-2, 3):
                    acc += self.weights[di + 2, dj + 2] * in_grid[x[0] + di, x[1] + dj]
            out_grid[x] = acc + self.bias[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weights_attribute_and_range_loops(target, dtype):
    grids = make_grids((19, 24), dtype, 2, ghost_depth=2, seed=7)
    weights = np.outer([1.0, 4.0, 6.0, 4.0, 1.0], [1.0, 4.0, 6.0, 4.0, 1.0]) / 256.0
    compare(WeightedRows, {"weights": weights.astype(dtype), "bias": [0.5]}, grids, TOLERANCE[dtype])
    # New weights (same shapes and dtypes) are another kernel, not the first one's result.
    compare(WeightedRows, {"weights": (weights * 2).astype(dtype), "bias": [-1]}, grids, TOLERANCE[dtype])
