"""The sparse specializer's kernels: one sejits.LibraryKernel for the
products (y = A x, CG iterations) and one per k and basis for the powers,
kept for the process. The daemon generates each for the dtypes of the
matrix's values and indices; sizes and patterns stay call-time data. The
leading arguments (data, indices, indptr) also give the daemon the matrix
class its variants are tuned for: rows and stored entries per row."""

import threading

from sejits._library import Array, LibraryKernel
from sejits.sparse import _reference

VALUE_DTYPES = ("float32", "float64")
INDEX_DTYPES = ("int32", "int64")

_kernels = {}
_lock = threading.Lock()


def _kernel(key, params, reference, name):
    kernel = _kernels.get(key)
    if kernel is None:
        with _lock:
            kernel = _kernels.get(key)
            if kernel is None:
                kernel = LibraryKernel(
                    "sparse", params=params,
                    arguments=[Array("data", ndim=1, dtypes=VALUE_DTYPES), Array("indices", ndim=1, dtypes=INDEX_DTYPES),
                               Array("indptr", ndim=1, dtypes=INDEX_DTYPES)],
                    reference=reference, name=name, tuned_per_shape=True)
                _kernels[key] = kernel
    return kernel


def products_kernel():
    """Entries "call" (data, indices, indptr, x, y) and "cg_iteration"."""
    return _kernel(("products",), {"operation": "products"}, _reference.PRODUCTS, "sparse_products")


def powers_kernel(k, basis):
    """Entry "call" (data, indices, indptr, plan, coeffs, V)."""
    return _kernel(("powers", int(k), basis), {"operation": "powers", "k": int(k), "basis": basis}, _reference.POWERS,
                   f"sparse_powers_k{int(k)}_{basis}")
