"""Asp-style class-based stencils against the Python run of the same method
(pure_python=True), which is their semantics."""

import inspect

import numpy as np
import pytest

import sejits
from reference import assert_same


class Jacobi(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            out_grid[x] = self.center * in_grid[x]
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = out_grid[x] + self.edge * in_grid[y]


class WeightedSets(sejits.StencilKernel):
    def kernel(self, a, b, out):
        for x in out.interior_points():
            total = 0.0
            for y in a.neighbors(x, 0):
                total += self.w0 * a[y]
            for y in a.neighbors(x, 1):
                total += self.w1 * a[y] - b[y]
            for y in b.neighbors(x, 2):
                total = total + self.w2 * b[y] * a[x]
            out[x] = total


class TooFar(sejits.StencilKernel):
    def kernel(self, in_grid, out_grid):
        for x in out_grid.interior_points():
            for y in in_grid.neighbors(x, 1):
                out_grid[x] = in_grid[y]


def grids(shape, dtype=np.float64, ghost_depth=1, count=2, seed=0):
    rng = np.random.default_rng(seed)
    made = []
    for _ in range(count):
        grid = sejits.StencilGrid(shape, dtype=dtype, ghost_depth=ghost_depth)
        grid.data[...] = rng.random(shape).astype(dtype)
        made.append(grid)
    return made


def run_both(kernel_class, attributes, inputs, shape, dtype=np.float64, ghost_depth=1, neighbor_definition=None):
    fast, slow = (sejits.StencilGrid(shape, dtype=dtype, ghost_depth=ghost_depth) for _ in range(2))
    for grid in (*inputs, fast, slow):
        if neighbor_definition is not None:
            grid.neighbor_definition = neighbor_definition
    fast.data[...] = 5.0  # ghost cells must stay as they were
    slow.data[...] = 5.0
    kernel_class(**attributes).kernel(*inputs, fast)
    kernel_class(pure_python=True, **attributes).kernel(*inputs, slow)
    return fast.data, slow.data


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(26, 31), (5, 3), (2, 2)])
def test_jacobi_matches_the_python_method(daemon, dtype, shape):
    (grid,) = grids(shape, dtype, count=1)
    fast, slow = run_both(Jacobi, {"center": -4.0, "edge": 1.0}, [grid], shape, dtype)
    assert_same(fast, slow, 1e-6 if dtype == np.float32 else 1e-14)


def test_attributes_are_constants_of_the_kernel(daemon):
    (grid,) = grids((9, 9), count=1, seed=3)
    for center in (-4.0, -2.0, 0.5):
        fast, slow = run_both(Jacobi, {"center": center, "edge": 0.25}, [grid], (9, 9))
        assert_same(fast, slow, 1e-14)


def test_several_neighbour_sets_and_weights_in_3d(daemon):
    shape = (6, 7, 5)
    a, b = grids(shape, ghost_depth=2, seed=4)
    sets = [[(0, 0, 0)], [(2, 0, 0), (-2, 0, 0), (0, 1, 0), (0, 0, -1)], [(1, 1, 1), (-1, -2, 0)]]
    for grid in (a, b):
        grid.neighbor_definition = sets
    fast, slow = run_both(WeightedSets, {"w0": 2.0, "w1": 0.5, "w2": -1.0}, [a, b], shape, ghost_depth=2,
                          neighbor_definition=sets)
    assert_same(fast, slow, 1e-14)


def test_ones_grid_under_default_neighbours(daemon):
    grid = sejits.StencilGrid((8, 8))
    grid.data[...] = 1.0
    out = sejits.StencilGrid((8, 8))
    Jacobi(center=-4.0, edge=1.0).kernel(grid, out)
    expected = np.zeros((8, 8))  # interior: -4 + 4 neighbours of 1; ghost cells untouched (0)
    assert_same(out.data, expected)


def test_in_place_update_runs_as_python(daemon):
    sejits.config(fallback="silent")
    try:
        (grid,) = grids((6, 6), count=1, seed=5)
        reference = sejits.StencilGrid((6, 6))
        reference.data[...] = grid.data
        Jacobi(center=-4.0, edge=1.0).kernel(grid, grid)  # Gauss-Seidel order, as written
        Jacobi(center=-4.0, edge=1.0, pure_python=True).kernel(reference, reference)
        assert_same(grid.data, reference.data)
    finally:
        sejits.config(fallback="error")


def test_neighbour_beyond_the_ghost_cells_is_an_error_naming_the_line(daemon):
    grid, out = grids((6, 6), seed=6)
    grid.neighbor_definition = [[(0, 0)], [(2, 0)]]
    with pytest.raises(sejits.SpecializationError) as error:
        TooFar().kernel(grid, out)
    line = inspect.getsourcelines(TooFar.kernel.__wrapped__)[1] + 3
    assert "reaches past the ghost cells" in str(error.value) and f"test_stencil_class.py:{line}" in str(error.value)
