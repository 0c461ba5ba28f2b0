"""Dot products and norms of the solvers' vectors, summed in float64
without BLAS. NumPy's np.dot and np.linalg.norm call OpenBLAS, whose
threads then spin for a while after each call: on a 2-core VM they took
the cores from the native kernel that came next, and a CG iteration on a
131K-row graph went from 1.1 to 2.3 ms. np.einsum sums in its own loop,
on the calling thread."""

import math

import numpy as np


def dot(a, b):
    return float(np.einsum("i,i->", a, b, dtype=np.float64))


def norm(a):
    return math.sqrt(dot(a, a))
