"""Suite "sparse": K0 (y = A x), K1 (A^k x, k = 8) and K2 (CG to rtol=1e-8
from x0 = 0) on the 2-D 5-point Poisson matrix, and K4: the same three on
the 3-D 7-point Poisson matrix and on a random geometric graph's Laplacian
(points uniform in the unit square, numbered at random, joined within the
radius that gives about 10 neighbours; plus the identity, so that CG has an
SPD matrix), issue 21. Float64 values, int32 indices; x and b drawn at
random.

Limits (BENCHMARKS.md): K0 moves 12 nnz + 20 n bytes; K1 naively k times
that (`naive_limit_s` in the notes) and communication-avoiding
12 nnz + 8 (k+2) n (`limit_s`); K2's limit is its iterations (sejits'
count) times one CG iteration's bytes: the product's plus 10 vectors of n
(p update, q written, x and r updated). All over the run's STREAM triad.

K0 and K1 are checked against SciPy's `A @ x` (repeated) to 1e-12
relative; K2 on the true residual ||b - A x|| <= rtol ||b||, and its rows
note the iterations (K2's sejits row) and true residuals."""

from dataclasses import dataclass

import numpy as np

from measure import Result, describe, measure_kernel, progress, skipped_if_missing, time_calls
from sparse_impls import CG_IMPLS, K, POWERS_IMPLS, PRODUCT_IMPLS

SEED = 20241204
RTOL_CHECK = 1e-12
CG_RTOL = 1e-8
NEIGHBOURS = 10  # the random geometric graph's expected degree


@dataclass(frozen=True)
class SparseScale:
    """A --size's matrices: the 2-D and 3-D Poisson edges, the graph's
    vertices, the edge of K2's 2-D problem, and timed repeats."""

    edge_2d: int
    edge_3d: int
    graph_vertices: int
    cg_edge_2d: int
    repeats: int


def poisson(edge, dims):
    import scipy.sparse as sp

    one = sp.diags_array([-np.ones(edge - 1), 2 * np.ones(edge), -np.ones(edge - 1)], offsets=[-1, 0, 1])
    eye = sp.eye_array(edge)
    total = None
    for axis in range(dims):
        term = None
        for other in range(dims):
            factor = one if other == axis else eye
            term = factor if term is None else sp.kron(term, factor)
        total = term if total is None else total + term
    return csr32(total)


def geometric_graph_laplacian(vertices, seed):
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    points = np.random.default_rng(seed).random((vertices, 2))
    radius = np.sqrt(NEIGHBOURS / (np.pi * vertices))
    pairs = cKDTree(points).query_pairs(radius, output_type="ndarray")
    weights = sp.coo_array((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(vertices, vertices))
    adjacency = (weights + weights.T).tocsr()
    degrees = np.asarray(adjacency.sum(axis=1)).ravel()
    return csr32(sp.diags_array(degrees + 1.0) - adjacency)


def csr32(A):
    A = A.tocsr()
    A.indices, A.indptr = A.indices.astype(np.int32), A.indptr.astype(np.int32)
    A.sort_indices()
    return A


def product_bytes(A):
    return 12 * A.nnz + 20 * A.shape[0]


def matrices(scale):
    yield "", "2-D Poisson", poisson(scale.edge_2d, 2)
    yield "-3d", "3-D Poisson", poisson(scale.edge_3d, 3)
    yield "-graph", "random geometric graph Laplacian + I", geometric_graph_laplacian(scale.graph_vertices, SEED)


def run_sparse(settings):
    if "scipy" in settings.missing_peers:  # the matrices, and sejits.sparse itself, are scipy.sparse ones
        progress("sparse", "scipy not installed: the suite needs it")
        return [Result(case, "sejits", skipped="not installed (needs scipy)") for case in ("K0", "K1", "K2")]
    scale = settings.sparse_scale
    bandwidth = settings.stream_triad_gbs * 1e9
    rng = np.random.default_rng(SEED)
    results = []
    for suffix, description, A in matrices(scale):
        n = A.shape[0]
        x = rng.standard_normal(n)
        k0, k1 = ("K0", "K1") if not suffix else ("K4-K0" + suffix, "K4-K1" + suffix)
        progress(k0, f"y = A x, {description}: {n} rows, {A.nnz} stored entries")
        limit = product_bytes(A) / bandwidth
        for impl, build in PRODUCT_IMPLS.items():
            results.append(skipped_if_missing(k0, impl, settings, limit) or measure_kernel(
                k0, impl, lambda b=build: b(A, x), A @ x, RTOL_CHECK, scale.repeats, limit))
        progress(k1, f"A^{K} x, {description}")
        reference = np.empty((K + 1, n))
        reference[0] = x
        for j in range(K):
            reference[j + 1] = A @ reference[j]
        limit = (12 * A.nnz + 8 * (K + 2) * n) / bandwidth
        naive = K * product_bytes(A) / bandwidth
        for impl, build in POWERS_IMPLS.items():
            result = skipped_if_missing(k1, impl, settings, limit) or measure_kernel(
                k1, impl, lambda b=build: b(A, x), reference, RTOL_CHECK, scale.repeats, limit)
            result.extra["naive_limit_s"] = naive
            results.append(result)
        if impl_plan := _powers_plan(A):
            results[-len(POWERS_IMPLS)].extra["plan"] = impl_plan
        cg_matrix = A if suffix else poisson(scale.cg_edge_2d, 2)
        results += run_cg("K2" if not suffix else "K4-K2" + suffix, description, cg_matrix, settings, bandwidth,
                          rng.standard_normal(cg_matrix.shape[0]))
    return results


def _powers_plan(A):
    try:
        import sejits.sparse as ss

        op = ss.operator(A)
        return f"{op.structure.powers_plan(K).reason}; CG's order: {op.structure.ordering()[1]}"
    except Exception as exc:  # noqa: BLE001 - a note, not a result
        return describe(exc)


def run_cg(case, description, A, settings, bandwidth, b):
    """Each implementation solves once untimed (its iterations and true
    residual checked and noted), then is timed."""
    progress(case, f"CG to rtol={CG_RTOL}, {description}: {A.shape[0]} rows")
    results, iterations = [], None
    for impl, build in CG_IMPLS.items():
        result = skipped_if_missing(case, impl, settings)
        if result is not None:
            results.append(result)
            continue
        result = Result(case, impl)
        try:
            counter = []
            solve = build(A, b, CG_RTOL)
            x, info = solve()
            residual = float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))
            result.extra.update(info=int(info), true_relative_residual=residual)
            if info != 0 or residual > CG_RTOL:
                result.error = f"did not converge: info={info}, true relative residual {residual:.3g}"
            else:
                if impl == "sejits":
                    import sejits.sparse as ss

                    ss.cg(A, b, rtol=CG_RTOL, atol=0.0, maxiter=100 * A.shape[0], callback=lambda xk: counter.append(1))
                    iterations = len(counter)
                    result.extra["iterations"] = iterations
                result.samples = time_calls(case, impl, solve, settings.repeats_or(1))
        except Exception as exc:  # any failure of the implementation is a result
            result.error = describe(exc)
        results.append(result)
    if iterations:
        per_iteration = product_bytes(A) + 10 * 8 * A.shape[0]
        for result in results:
            result.limit_s = iterations * per_iteration / bandwidth
    return results
