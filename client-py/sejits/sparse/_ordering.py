"""Reordering a square matrix whose rows reach far from the diagonal (a
graph numbered at random, say): reverse Cuthill-McKee, a BFS order of A's
graph as RACE's level sets are, gives rows whose columns are near them, so
that a product reads x from cache. CG runs on P A P^T (A'[i, j] =
A[perm[i], perm[j]]), each row's entries kept in their stored order, so
every row's sum is the same, bit for bit; it permutes b in and x out once.
(Products and powers stay in A's order: on a 2M-row random geometric graph,
permuting x in and the results out, random gathers, cost as much as the
reordered product saved.)

Chosen where a sample of the stored entries reaches, on average, more than
REACH_FRACTION of n from the diagonal and the order at least halves it."""

import numpy as np

MIN_ROWS = 1 << 12
REACH_FRACTION = 1 / 64
SAMPLE = 1 << 16


class Ordering:
    """perm (new row -> old row) and its inverse, with why it was chosen, and
    the reordered pattern: P A P^T's indptr and indices, and `positions`,
    where each of its entries sits in A's arrays (so its values are
    A.data[positions], one gather per solve however A's values change)."""

    def __init__(self, perm, reason):
        self.perm = perm
        self.inverse = np.empty_like(perm)
        self.inverse[perm] = np.arange(len(perm), dtype=perm.dtype)
        self.reason = reason
        self.indptr = self.indices = self.positions = None

    def reorder_pattern(self, indptr, indices):
        self.indptr, self.indices, self.positions = permute(indptr, indices, self.perm, self.inverse)
        # A copy of the pattern it was made from: A's indices can change in place (A.sort_indices() keeps the
        # arrays), and `positions` would then gather other entries than `indices` says (see fits).
        self.source_indptr, self.source_indices = indptr.copy(), indices[:int(indptr[-1])].copy()
        return self

    def fits(self, indptr, indices):
        """Whether A's pattern is still the one this reordering was made
        from: one sequential pass over its indices, once per solve (only
        reordered matrices pay it)."""
        return (np.array_equal(indptr, self.source_indptr)
                and np.array_equal(indices[:int(indptr[-1])], self.source_indices))


def mean_reach(indptr, indices, rows, seed=0):
    """The mean |column - row| of a sample of the stored entries."""
    entries = int(indptr[-1])
    if entries == 0:
        return 0.0
    picked = np.random.default_rng(seed).integers(0, entries, min(SAMPLE, entries))
    row_of = np.searchsorted(indptr, picked, side="right") - 1
    return float(np.abs(indices[picked].astype(np.int64) - row_of).mean())


def choose_ordering(shape, indptr, indices):
    """(an Ordering or None, the reason in words)."""
    rows = shape[0]
    if shape[0] != shape[1] or rows < MIN_ROWS:
        return None, "natural order (small or rectangular)"
    before = mean_reach(indptr, indices, rows)
    if before <= REACH_FRACTION * rows:
        return None, f"natural order (entries reach {before:.0f} rows from the diagonal on average)"
    import scipy.sparse as sp
    from scipy.sparse.csgraph import reverse_cuthill_mckee

    pattern = sp.csr_array((np.ones(int(indptr[-1]), dtype=np.int8), indices[:int(indptr[-1])], indptr), shape=shape)
    perm = np.asarray(reverse_cuthill_mckee(pattern, symmetric_mode=False), dtype=indptr.dtype)
    ordering = Ordering(perm, "").reorder_pattern(indptr, indices)
    after = mean_reach(ordering.indptr, ordering.indices, rows)
    if after > before / 2:
        return None, f"natural order (reverse Cuthill-McKee would take the mean reach only from {before:.0f} to {after:.0f} rows)"
    ordering.reason = f"reverse Cuthill-McKee order: the entries' mean reach from the diagonal {before:.0f} -> {after:.0f} rows"
    return ordering, ordering.reason


def permute(indptr, indices, perm, inverse):
    """P A P^T's indptr and indices, each row's entries in their stored
    order, and where each entry sits in A's arrays."""
    lengths = np.diff(indptr)[perm]
    new_indptr = np.zeros(len(indptr), dtype=indptr.dtype)
    np.cumsum(lengths, out=new_indptr[1:])
    positions = np.repeat(indptr[:-1][perm].astype(np.int64) - new_indptr[:-1], lengths) + np.arange(int(new_indptr[-1]))
    new_indices = inverse[indices[positions]].astype(indices.dtype, copy=False)
    return new_indptr, new_indices, positions.astype(np.intp, copy=False)  # intp: NumPy's gathers take it as is
