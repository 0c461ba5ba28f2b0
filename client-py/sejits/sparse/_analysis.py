"""The analysis of a CSR matrix's structure: data the generated kernels take
with each call, never compiled in. Made once per operator and cached by a
digest of the structure (shape, indptr, indices), so that a second operator
of the same pattern in the process reuses it. What is made on first use (row
extents, blocks, the ordering) comes from the calling operator's arrays,
not from those of the matrix it was first made for: that matrix may have
changed them in place since (A.sort_indices(), A.eliminate_zeros()).

For the powers kernel (PA1): rows are split into contiguous blocks of about
equal stored entries; block b owns rows [r0, r1) and computes level j of the
basis on its ghost zone [lo_j, hi_j), grown from [r0, r1) one level of A's
graph per step back from level k (lo_k, hi_k = r0, r1; lo_j, hi_j the hull of
level j+1's rows and their columns), so that it needs no other block's
values. Its row of the plan is (r0, r1, left, right, lo_1..lo_k,
hi_1..hi_k), left and right the largest distance from one of its rows to a
column on either side (the native wavefront sizes its windows from them).
PA1 is chosen where the ghost rows add at most MAX_REDUNDANCY of the k
levels' work and the rows stay near enough to the diagonal (MAX_WINDOW);
otherwise the kernel goes level by level (k products), and `reason` says why."""

import hashlib
import os
import threading
from collections import OrderedDict

import numpy as np

from sejits.sparse import _ordering

# Ghost rows may add this fraction of the k levels' rows before PA1 costs more than it saves.
MAX_REDUNDANCY = 0.5
# A block's reach, left + (k+2) right rows (about the rows of A and of the values its wavefront
# keeps in flight: sejits/sparse_runtime.h), may span this fraction of the block's rows; wider,
# its rows of A would leave the cache between levels anyway.
MAX_WINDOW = 0.5
# Stored entries per block at least: below it, blocks' ghost zones are mostly overhead.
MIN_BLOCK_ENTRIES = 1 << 15
_CACHED = 16


def structure_digest(shape, indptr, indices):
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.asarray(shape, dtype=np.int64).tobytes())
    digest.update(str(indptr.dtype).encode())
    digest.update(memoryview(np.ascontiguousarray(indptr)).cast("B"))
    digest.update(memoryview(np.ascontiguousarray(indices)).cast("B"))
    return digest.hexdigest()


def thread_count():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class PowersPlan:
    """How the powers kernel splits one matrix for one k: `blocks` (the
    native plan, an int64 array of one row per block; no rows: level by
    level), the work it costs relative to k products (`redundancy`), and
    `reason`, in words."""

    def __init__(self, blocks, redundancy, reason):
        self.blocks, self.redundancy, self.reason = blocks, redundancy, reason

    @property
    def pa1(self):
        return len(self.blocks) > 0


class Structure:
    """A square or rectangular CSR pattern's analysis: row extents (the
    lowest and highest column of every row), the blocks' split, and a
    PowersPlan per k, made on first use from the caller's indptr and
    indices (an operator's own; None: the arrays this was made from, for
    callers holding no operator)."""

    def __init__(self, shape, indptr, indices):
        self.shape = shape
        self.rows = shape[0]
        self.entries = int(indptr[-1]) if len(indptr) else 0
        self._indptr, self._indices = indptr, indices
        self._extents = None
        self._ordering = None  # (Ordering or None, reason), made on first use
        self.powers_ways = {}  # (k, basis, value dtype) -> _operator._PowersWays: PA1 or level by level, timed
        self._plans = {}
        self._lock = threading.Lock()

    def _pattern(self, indptr, indices):
        return (self._indptr if indptr is None else indptr), (self._indices if indices is None else indices)

    def _row_extents(self, indptr, indices):
        """(lowest column, highest column) of each row, as int64; an empty row's are its own index."""
        if self._extents is None:
            rows = np.arange(self.rows, dtype=np.int64)
            low, high = rows.copy(), rows.copy()
            starts = indptr[:-1].astype(np.int64)
            filled = np.flatnonzero(np.diff(indptr) > 0)
            if len(filled):
                indices = indices[:self.entries].astype(np.int64, copy=False)
                low[filled] = np.minimum.reduceat(indices, starts[filled])
                high[filled] = np.maximum.reduceat(indices, starts[filled])
            # A row's ghost zone also holds the row itself (the basis reads V[j] of it).
            self._extents = (np.minimum(low, rows), np.maximum(high, rows))
        return self._extents

    def ordering(self, indptr=None, indices=None):
        """(an _ordering.Ordering the kernels should run in, or None; the reason)."""
        if self._ordering is None:
            with self._lock:
                if self._ordering is None:
                    self._ordering = _ordering.choose_ordering(self.shape, *self._pattern(indptr, indices))
        return self._ordering

    def block_bounds(self, threads=None, indptr=None):
        """Row bounds of blocks of about equal stored entries: one per thread
        (fewer where a block would hold under MIN_BLOCK_ENTRIES)."""
        indptr = self._pattern(indptr, None)[0]
        threads = threads or thread_count()
        count = max(1, min(threads, (self.entries + self.rows) // MIN_BLOCK_ENTRIES))
        targets = (np.arange(1, count) * self.entries) // count
        inner = np.searchsorted(indptr[:-1], targets, side="left")
        return np.unique(np.concatenate(([0], inner, [self.rows]))).astype(np.int64)

    def powers_plan(self, k, indptr=None, indices=None):
        plan = self._plans.get(k)
        if plan is None:
            with self._lock:
                plan = self._plans.get(k) or self._plan_powers(k, *self._pattern(indptr, indices))
                self._plans[k] = plan
        return plan

    def _plan_powers(self, k, indptr, indices):
        n = self.rows
        empty = np.zeros((0, 4 + 2 * k), dtype=np.int64)
        if self.shape[0] != self.shape[1]:
            return PowersPlan(empty, 1.0, "the matrix is not square")
        bounds = self.block_bounds(indptr=indptr)
        if len(bounds) <= 2 and k == 1:
            return PowersPlan(empty, 1.0, "k = 1 is one product")
        low, high = self._row_extents(indptr, indices)
        rows = np.arange(n, dtype=np.int64)
        left_span, right_span = rows - low, high - rows
        plan = np.empty((len(bounds) - 1, 4 + 2 * k), dtype=np.int64)
        computed, widest = 0, 0
        for b, (r0, r1) in enumerate(zip(bounds[:-1], bounds[1:])):
            lo, hi = np.empty(k + 1, dtype=np.int64), np.empty(k + 1, dtype=np.int64)
            lo[k], hi[k] = r0, r1
            for j in range(k - 1, 0, -1):
                lo[j] = min(lo[j + 1], low[lo[j + 1]:hi[j + 1]].min()) if hi[j + 1] > lo[j + 1] else lo[j + 1]
                hi[j] = max(hi[j + 1], high[lo[j + 1]:hi[j + 1]].max() + 1) if hi[j + 1] > lo[j + 1] else hi[j + 1]
            span = slice(lo[1], hi[1])
            left = int(left_span[span].max()) if hi[1] > lo[1] else 0
            right = int(right_span[span].max()) if hi[1] > lo[1] else 0
            plan[b] = np.concatenate(([r0, r1, left, right], lo[1:], hi[1:]))
            computed += int((hi[1:] - lo[1:]).sum())
            widest = max(widest, (left + (k + 2) * right) / max(1, hi[1] - lo[1]))
        redundancy = computed / max(1, k * n) - 1.0
        blocks = len(bounds) - 1
        if widest > MAX_WINDOW:
            return PowersPlan(empty, redundancy,
                              f"level by level (k products): rows reach too far from their diagonal for a wavefront "
                              f"to keep A in cache (its window would span {widest:.0%} of a block)")
        if redundancy > MAX_REDUNDANCY:
            return PowersPlan(empty, redundancy,
                              f"level by level (k products): PA1's ghost zones would add {redundancy:.0%} of the "
                              f"work over {blocks} blocks (more than {MAX_REDUNDANCY:.0%})")
        return PowersPlan(plan, redundancy,
                          f"PA1 over {blocks} blocks, ghost zones adding {redundancy:.1%} of the work; A read once "
                          f"per {k} levels")


_structures = OrderedDict()
_structures_lock = threading.Lock()


def structure_of(shape, indptr, indices):
    """The cached analysis of this pattern (made on a miss)."""
    key = structure_digest(shape, indptr, indices)
    with _structures_lock:
        found = _structures.get(key)
        if found is not None:
            _structures.move_to_end(key)
            return found
    return _keep(key, Structure(shape, indptr, indices), replace=False)


def fresh_structure(shape, indptr, indices):
    """A new analysis of this pattern, replacing the cached one: for an
    operator whose matrix changed its indices in place (A.sort_indices()),
    so that what was made from its old pattern (the ordering) is not used
    for it, nor for other matrices of its new one."""
    return _keep(structure_digest(shape, indptr, indices), Structure(shape, indptr, indices), replace=True)


def _keep(key, made, replace):
    with _structures_lock:
        if replace:
            _structures[key] = made
        found = _structures.setdefault(key, made)
        _structures.move_to_end(key)
        while len(_structures) > _CACHED:
            _structures.popitem(last=False)
    return found
