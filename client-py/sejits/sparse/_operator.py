"""sejits.sparse.operator: a scipy.sparse matrix analysed once and applied
by generated kernels (a scipy LinearOperator, so SciPy's solvers take it).

    op = ss.operator(A)          # any scipy.sparse matrix or array, converted to CSR once
    y = op @ x                   # threaded y = A x; also op.matvec(x), op.matmat(X)
    V = op.powers(x, k=8)        # (k+1, n): x, Ax, ..., A^k x
    print(op.explain(k=8))       # how the powers kernel splits A, and why

Values of float32 and float64 run in that dtype; an integer or bool matrix
times a float vector in the float's (float64 for float16 and ints mixed
with floats, as SciPy's products promote); indices stay int32 where SciPy
made them so. Complex values, and integer results (an integer matrix times
an integer vector, exact in SciPy), are not supported: SciPy runs them, with
a SparseNotSupportedWarning (Newton and Chebyshev powers of integers, whose
shifts and bounds are real numbers, run in float64)."""

import threading
import time
import warnings
import weakref

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from sejits.sparse import _analysis, _bases, _kernels, _ordering, _outputs, _powers_choice, _reference

# Values hashed for values_fingerprint: a few microseconds however large A is.
VALUES_SAMPLE = 4096


class SparseNotSupportedWarning(UserWarning):
    """The operation runs in SciPy, not in a generated kernel (the message says why)."""


def as_csr(A):
    """A as a canonical-enough scipy.sparse CSR array (its own arrays where it is one)."""
    if isinstance(A, SparseOperator):
        return A.csr
    if not sp.issparse(A):
        raise TypeError(f"expected a scipy.sparse matrix or array, not {type(A).__name__}")
    csr = A if A.format == "csr" else A.tocsr()
    _check_structure(csr)
    if csr.indptr.dtype != csr.indices.dtype:
        index = np.promote_types(csr.indptr.dtype, csr.indices.dtype)
        csr = sp.csr_array((csr.data, csr.indices.astype(index), csr.indptr.astype(index)), shape=csr.shape)
    return csr


def _check_structure(csr):
    """ValueError for indices the kernels would read x or V out of bounds with
    (SciPy's constructors check only the arrays' lengths unless asked, and
    its own check_format(full_check=True) rewrites the matrix's arrays)."""
    rows, columns = csr.shape
    indptr = csr.indptr
    if len(indptr) != rows + 1 or indptr[0] != 0:
        raise ValueError(f"indptr must have {rows + 1} entries starting at 0")
    if rows and np.diff(indptr).min() < 0:
        raise ValueError("indptr must be a non-decreasing sequence")
    stored = int(indptr[-1])
    if stored > len(csr.indices) or stored > len(csr.data):
        raise ValueError("indptr's last entry passes the stored indices and values")
    if stored:
        indices = csr.indices[:stored]
        if indices.max() >= columns or indices.min() < 0:
            raise ValueError(f"column indices must be in [0, {columns}), not from {indices.min()} to {indices.max()}")


def _values_dtype(dtype):
    """The dtype the kernels compute in for values of `dtype`, or None (complex: SciPy's)."""
    if dtype.kind == "c":
        return None
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


class SparseOperator(LinearOperator):
    """A sparse matrix with its structure analysed (see the module's text)."""

    def __init__(self, A, values_live=False):
        """values_live: never keep a copy of A's values in another dtype (implicit_operator's)."""
        csr = as_csr(A)
        self._values_live = values_live
        dtype = _values_dtype(csr.dtype)
        super().__init__(dtype=csr.dtype if dtype is None else dtype, shape=csr.shape)
        self.csr = csr
        self._sources = (csr.data, csr.indices, csr.indptr)  # the arrays of A's that _arrays and _products were made of
        self._arrays = {}  # (value dtype, reordered) -> (data, indices, indptr), C-contiguous
        self._products = {}  # (value dtype, reordered) -> the products kernel's "call" (LibraryKernel.direct)
        self.cache = {}  # what solvers learn about A and keep for the next solve (spectrum bounds)
        self._outputs = _outputs.RecycledOutputs()
        self.structure = _analysis.structure_of(csr.shape, csr.indptr, csr.indices)

    def __repr__(self):
        return f"<sejits.sparse operator {self.shape[0]}x{self.shape[1]} {self.dtype}, {self.csr.nnz} stored entries>"

    # ---- products ----------------------------------------------------------

    def ordering(self):
        """The reordering CG runs in (an _ordering.Ordering), or None: A's own order."""
        return self.structure.ordering(self.csr.indptr, self.csr.indices)[0]

    def check_ordering(self):
        """ordering(), checked once per solve against A's indices as they are
        now: A.sort_indices() reorders them in place (A keeps its arrays, so
        its operator is kept), and the reordering's positions would then
        gather other entries than its pattern says. Where they changed, A is
        analysed again (a fresh Structure) and the reordered arrays and
        kernels made from the old pattern are dropped."""
        self._follow_reassigned_arrays()
        ordering, csr = self.ordering(), self.csr
        if ordering is None or ordering.fits(csr.indptr, csr.indices):
            return ordering
        self.structure = _analysis.fresh_structure(csr.shape, csr.indptr, csr.indices)
        for cached in (self._arrays, self._products):
            for key in [key for key in cached if key[1]]:
                del cached[key]
        return self.ordering()

    def _follow_reassigned_arrays(self):
        """Where A was given new arrays since they were cached (A.data =
        ..., or indices and indptr: a new pattern, checked and analysed
        again as a fresh operator's), the cached arrays and kernels are
        dropped, so that A's new values are used, as a fresh operator and
        SciPy use them. Values changed in place are read at each call
        already (the cached arrays are A's own where A's dtype is the
        kernels')."""
        csr = self.csr
        if all(now is cached for now, cached in zip((csr.data, csr.indices, csr.indptr), self._sources)):
            return
        if csr.indices is not self._sources[1] or csr.indptr is not self._sources[2]:
            self.csr = csr = as_csr(csr)
            self.structure = _analysis.structure_of(csr.shape, csr.indptr, csr.indices)
            self._products.clear()
        dtype = _values_dtype(csr.dtype)
        self.dtype = csr.dtype if dtype is None else dtype
        self._arrays.clear()
        self._sources = (csr.data, csr.indices, csr.indptr)

    def values_fingerprint(self):
        """A's values, cheaply, for what solvers learn from them and keep in
        `cache` (spectrum bounds): the data array's identity and a hash of
        VALUES_SAMPLE evenly spaced values (A.data *= 10 changes every one;
        a change of a few values between the samples goes unnoticed)."""
        data = self.csr.data[:self.csr.nnz]
        picked = np.linspace(0, len(data) - 1, min(len(data), VALUES_SAMPLE)).astype(np.intp)
        return id(self.csr.data), hash(np.ascontiguousarray(data[picked]).tobytes())

    def arrays(self, dtype, ordered=False):
        """(data, indices, indptr) the kernels take, with values of `dtype`,
        made once: A's own, or (ordered) those of its reordering where it
        has one (see to_kernel). Products and powers run in A's order (a
        gather of x and of the results in and out costs as much as a
        randomly numbered product saves); CG, reordered, pays it once (or,
        where A's values are read at each call, one gather of them per solve:
        the reordered pattern is kept with the analysis)."""
        self._follow_reassigned_arrays()
        ordering = self.ordering() if ordered else None
        key = (dtype, ordering is not None)
        found = self._arrays.get(key)
        if found is None:
            csr = self.csr
            if ordering is None:
                found = (np.ascontiguousarray(csr.data, dtype=dtype), np.ascontiguousarray(csr.indices),
                         np.ascontiguousarray(csr.indptr))
            else:
                found = (np.take(csr.data, ordering.positions).astype(dtype, copy=False),
                         ordering.indices.astype(csr.indices.dtype, copy=False),
                         ordering.indptr.astype(csr.indptr.dtype, copy=False))
            if not self._values_live or found[0] is csr.data:
                self._arrays[key] = found
        return found

    def to_kernel(self, values, dtype, ordered=False):
        """`values` (over A's rows) in the order arrays(dtype, ordered) runs in, C-contiguous, of `dtype`."""
        ordering = self.ordering() if ordered else None
        values = np.asarray(values)
        if ordering is not None:
            values = values[..., ordering.perm]
        return np.ascontiguousarray(values, dtype=dtype)

    def from_kernel(self, values, ordered=False):
        """Values in the order arrays(dtype, ordered) runs in, back in A's."""
        ordering = self.ordering() if ordered else None
        return values if ordering is None else values[..., ordering.inverse]

    def kernel_product(self, x, dtype, ordered=False, arrays=None):
        """A x in the order arrays(dtype, ordered) runs in (x in it too,
        C-contiguous, of `dtype`); `arrays`: those the caller already got."""
        arrays = arrays or self.arrays(dtype, ordered)
        key = (dtype, ordered and self.ordering() is not None)
        product = self._products.get(key)
        if product is None:
            product = _kernels.products_kernel().direct("call", *arrays)
            if getattr(product, "final", True):
                self._products[key] = product
        y = self._outputs.empty((self.shape[0],), dtype)
        product(*arrays, x, y)
        return self._outputs.returned(y)

    def compute_dtype(self, other):
        """The dtype of a product with an array of dtype `other` (SciPy's
        rule), or None where SciPy must run it: complex values, and integer
        (or bool) results, which SciPy computes exactly in integers."""
        dtype = np.result_type(self.csr.dtype, other)
        return None if dtype.kind in "biuc" else _values_dtype(dtype)

    def _scipy(self, why):
        warnings.warn(f"sejits.sparse: {why} is not supported; SciPy computes it", SparseNotSupportedWarning, stacklevel=4)
        return self.csr

    def _matvec(self, x):
        x = np.asarray(x).reshape(-1)
        dtype = self.compute_dtype(x.dtype)
        if dtype is None:
            return self._scipy(f"a product of {self.csr.dtype} and {x.dtype} values (complex or integer)") @ x
        return self.kernel_product(np.ascontiguousarray(x, dtype=dtype), dtype)

    def _matmat(self, X):
        if sp.issparse(X):  # a sparse result, as aslinearoperator(A) @ X gives (A.dot(X))
            return self.csr @ X
        X = np.asarray(X)
        dtype = self.compute_dtype(X.dtype)
        if dtype is None:
            return self._scipy(f"a product of {self.csr.dtype} and {X.dtype} values (complex or integer)") @ X
        Y = np.empty((X.shape[1], self.shape[0]), dtype=dtype)
        for column in range(X.shape[1]):
            Y[column] = self._matvec(X[:, column])
        return Y.T

    def _adjoint(self):
        return SparseOperator(self.csr.conj().T)

    # ---- powers ------------------------------------------------------------

    def powers(self, x, k, basis="monomial", shifts=None, bounds=None):
        """V of shape (k+1, n): V[0] = x and V[j+1] = A V[j] (monomial),
        (A - shifts[j] I) V[j] (newton), or V[j] = T_j((A - c I) / h) x with
        c, h the centre and half-width of bounds = (lmin, lmax) (chebyshev)."""
        if self.shape[0] != self.shape[1]:
            raise ValueError(f"matrix_powers needs a square matrix, not {self.shape[0]}x{self.shape[1]}")
        k = _bases.check_k(k)
        coeffs = _bases.basis_coefficients(basis, k, shifts, bounds)
        x = np.asarray(x)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.shape != (self.shape[0],):
            raise ValueError(f"dimension mismatch: x has shape {x.shape}, the matrix {self.shape}")
        dtype = self.compute_dtype(x.dtype)
        if dtype is None and basis != "monomial" and np.result_type(self.csr.dtype, x.dtype).kind in "biu":
            dtype = np.dtype(np.float64)  # real shifts and bounds: as with a float64 x, not truncated to integers
        if dtype is None:
            csr = self._scipy(f"the powers of {self.csr.dtype} with {x.dtype} values (complex or integer)")
            V = np.empty((k + 1, self.shape[0]), dtype=np.result_type(csr.dtype, x.dtype))
            V[0] = x
            for j in range(k):
                V[j + 1] = _reference.next_level(csr @ V[j], j, V[j], V[j - 1] if j else V[j], basis, coeffs)
            return V
        V = self._outputs.empty((k + 1, self.shape[0]), dtype)
        V[0] = x
        arrays = self.arrays(dtype)  # first: A's reassigned arrays are analysed again
        plan = self.structure.powers_plan(k, self.csr.indptr, self.csr.indices)
        ways = self.structure.powers_ways.get((k, basis, dtype))
        if ways is None:  # the kernel is resolved (built, or its fallback chosen) before any call is timed
            kernel = _kernels.powers_kernel(k, basis)
            ways = _powers_choice.PowersWays(plan, kernel.direct("call", *arrays),
                                             kernel.direct("call", *arrays, timed=False))
            if getattr(ways.run, "final", True):  # kept with the pattern's analysis: any operator of it reuses the timings
                ways = self.structure.powers_ways.setdefault((k, basis, dtype), ways)
        way = ways.next()
        started = time.perf_counter()
        ways.runner()(*arrays, ways.blocks(way), coeffs, V)
        ways.took(way, time.perf_counter() - started)
        return self._outputs.returned(V)

    def explain(self, k=8):
        """How the powers kernel would split this matrix for `k`, and the kernels' own explain()."""
        k = _bases.check_k(k)
        self._follow_reassigned_arrays()
        pattern = (self.csr.indptr, self.csr.indices)
        plan = self.structure.powers_plan(k, *pattern)
        dtype = _values_dtype(self.csr.dtype)
        lines = [repr(self), f"  CG's order:  {self.structure.ordering(*pattern)[1]}",
                 f"  powers (k={k}): {plan.reason}"]
        lines += [f"  powers (k={k}, {basis}, {dtype}): {ways.describe()}"
                  for (known_k, basis, dtype), ways in sorted(self.structure.powers_ways.items(), key=str) if known_k == k]
        if dtype is not None:
            lines += ["  " + line for line in _kernels.products_kernel().explain(*self.arrays(dtype)).splitlines()]
        return "\n".join(lines)


def operator(A):
    """A analysed once for the generated kernels (SparseOperator); for a
    CSR A, the one kept for it (implicit_operator)."""
    return implicit_operator(A)


_implicit = {}  # id(A) -> (weak reference to A, its arrays' identities, SparseOperator)
_implicit_lock = threading.Lock()


def _identities(csr):
    return csr.shape, tuple((id(a), a.__array_interface__["data"][0], a.shape, a.dtype.str)
                            for a in (csr.data, csr.indices, csr.indptr))


def implicit_operator(A):
    """The operator that ss.operator(A), matrix_powers(A, ...) and
    cg(A, ...) run on. For a CSR A it is kept while A keeps the same arrays,
    so that repeated calls skip the analysis (checking and hashing every
    stored index: 130 ms on a 4M-row 2-D Poisson matrix, more than A^8 x
    itself) and reuse its timings and spectrum bounds; the values are read
    at each call (a copy in another dtype is not kept). Assign new arrays to
    A (or change its pattern through SciPy) to have it analysed again; other
    formats are converted at each call."""
    if isinstance(A, SparseOperator):
        return A
    if not (sp.issparse(A) and A.format == "csr"):
        return SparseOperator(A)
    identities = _identities(A)
    with _implicit_lock:
        found = _implicit.get(id(A))
    if found is not None and found[0]() is A and found[1] == identities:
        return found[2]
    made = SparseOperator(A, values_live=True)
    key = id(A)
    reference = weakref.ref(A, lambda _, key=key: _forget(key))
    with _implicit_lock:
        _implicit[key] = (reference, identities, made)
    return made


def _forget(key):
    with _implicit_lock:
        found = _implicit.get(key)
        if found is not None and found[0]() is None:
            del _implicit[key]


def matrix_powers(A, x, k, basis="monomial", shifts=None, bounds=None):
    """(k+1, n) array: x, p1(A) x, ..., pk(A) x in the basis (SparseOperator.powers)."""
    return implicit_operator(A).powers(x, k, basis=basis, shifts=shifts, bounds=bounds)
