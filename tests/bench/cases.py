"""The element-wise cases. Each kernel is written once, as a user would, and
is what NumPy runs, what sejits and numba compile, and the reference."""

from dataclasses import dataclass
from typing import Callable

import numpy as np


def e1(a, b):
    return 2 * a + 3 * b


def e2(a, b, c, d, e, f):
    return a * b + c * d - e * f


def e3(a, b):
    return np.sin(a) ** 2 + np.cos(b) ** 2


@dataclass(frozen=True)
class ElementwiseCase:
    name: str
    kernel: Callable
    numexpr: str  # the same expression in numexpr's language
    bytes_per_element: int  # inputs read + output written, once each
    rtol: float

    @property
    def arity(self):
        return self.kernel.__code__.co_argcount

    @property
    def arg_names(self):
        return self.kernel.__code__.co_varnames[: self.arity]


ELEMENTWISE_CASES = [
    ElementwiseCase("E1", e1, "2*a + 3*b", 24, 1e-12),
    ElementwiseCase("E2", e2, "a*b + c*d - e*f", 56, 1e-12),
    ElementwiseCase("E3", e3, "sin(a)**2 + cos(b)**2", 24, 1e-10),
]

CASE_E1 = ELEMENTWISE_CASES[0]


def random_inputs(arity, n, seed):
    """`arity` arrays of `n` float64 drawn uniformly from [0, 1), never zeros."""
    rng = np.random.default_rng(seed)
    return [rng.random(n) for _ in range(arity)]
