"""Asp's class-based stencils: StencilGrid (an array with ghost cells and
neighbour definitions) and StencilKernel, whose `kernel` method is
specialized on first call. Running the method as written is the semantics,
and the fallback."""

import ast
import itertools

import numpy as np

from sejits._dispatch import KernelDispatcher
from sejits._fallback_policy import Fallback
from sejits._tuning_session import call_timed
from sejits._capture import CaptureError
from sejits._errors import SpecializationError


class StencilGrid:
    """`data` is the whole array, ghost cells included."""

    def __init__(self, shape, dtype=np.float64, ghost_depth=1):
        self.shape = tuple(int(n) for n in shape)
        self.dim = len(self.shape)
        self.ghost_depth = int(ghost_depth)
        self.data = np.zeros(self.shape, dtype)
        origin = (0,) * self.dim
        von_neumann = [tuple((1 if e == d else 0) * s for e in range(self.dim)) for d in range(self.dim) for s in (1, -1)]
        self.neighbor_definition = [[origin], von_neumann]

    def __getitem__(self, point):
        return self.data[point]

    def __setitem__(self, point, value):
        self.data[point] = value

    def interior_points(self):
        g = self.ghost_depth
        return itertools.product(*(range(g, n - g) for n in self.shape))

    def border_points(self):
        g = self.ghost_depth
        return (p for p in itertools.product(*(range(n) for n in self.shape))
                if any(i < g or i >= n - g for i, n in zip(p, self.shape)))

    def neighbors(self, point, which):
        return (tuple(p + o for p, o in zip(point, offset)) for offset in self.neighbor_definition[which])


class StencilKernel:
    """Subclass it and define `kernel(self, in_grid, ..., out_grid)`;
    constructor keyword arguments become attributes (numbers are constants
    of the specialized kernel and part of its cache key)."""

    def __init__(self, pure_python=False, **attributes):
        self.pure_python = pure_python
        for name, value in attributes.items():
            setattr(self, name, value)

    def __init_subclass__(cls, **options):
        super().__init_subclass__(**options)
        python_kernel = cls.__dict__.get("kernel")
        if python_kernel is None:
            return
        dispatcher = ClassStencilDispatcher(python_kernel)

        def kernel(self, *grids):
            if self.pure_python:
                return python_kernel(self, *grids)
            return dispatcher.call(self, grids)

        kernel.__wrapped__ = python_kernel
        kernel.__doc__ = python_kernel.__doc__
        cls.kernel = kernel
        cls.sejits_dispatcher = dispatcher


class ClassStencilDispatcher(KernelDispatcher):
    specializer = "stencil"
    scalar_arguments = False  # the entry point takes the grids only: free names are constants

    def __init__(self, fn):
        super().__init__(fn)
        self._call_context = None  # set for the duration of one call
        self._method_facts = None  # (grids written, self attributes read): from the AST, found once

    def _facts(self):
        if self._method_facts is None:
            parsed = self._parse()
            self_name = parsed.params[0]
            attributes, targets = set(), set()
            for node in ast.walk(parsed.tree):
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == self_name:
                    attributes.add(node.attr)
                if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name):
                    targets.add(node.value.id)
            written = [k for k, name in enumerate(parsed.params[1:]) if name in targets]
            self._method_facts = (written, sorted(attributes))
        return self._method_facts

    def _attributes(self):
        """This instance's numeric attributes that the method reads: constants of the kernel."""
        instance, _ = self._call_context
        self_name = self._parse().params[0]
        attributes = {}
        for name in self._facts()[1]:
            value = getattr(instance, name, None)
            if isinstance(value, (bool, int, float, np.number)):
                attributes[(self_name, name)] = value
        return attributes

    def _output_index(self):
        written = self._facts()[0]
        if len(written) != 1:
            raise SpecializationError(f"{self.__name__}: the kernel must assign to exactly one grid")
        return written[0]

    def _params(self):
        _, grids = self._call_context
        output = self._output_index()
        params = {"style": "class", "output": str(output), "ghost_depth": str(grids[output].ghost_depth)}
        for k, grid in enumerate(grids):
            for i, offsets in enumerate(grid.neighbor_definition):
                params[f"neighbors.{k}.{i}"] = ";".join(",".join(str(int(v)) for v in offset) for offset in offsets)
        return params

    def _signature(self, args):
        attributes = tuple(sorted((k[1], type(v).__name__, repr(v)) for k, v in self._attributes().items()))
        return super()._signature(args) + (np.ndim(args[0]), tuple(sorted(self._params().items())), attributes)

    def _run_python(self, args, out):
        instance, grids = self._call_context
        return self.fn(instance, *grids)

    def call(self, instance, grids):
        for grid in grids:
            if not isinstance(grid, StencilGrid):
                raise TypeError(f"{self.__name__}: the arguments of a stencil kernel are StencilGrids")
        self._call_context = (instance, grids)
        try:
            output = self._output_index()
        except (SpecializationError, CaptureError) as error:
            self._fallbacks.fall_back(str(error))
            return self.fn(instance, *grids)
        inputs = tuple(g.data for k, g in enumerate(grids) if k != output)
        out = grids[output].data
        for grid in grids:
            if grid.data.shape != out.shape:
                raise ValueError(f"{self.__name__}: every grid must have the output's shape {out.shape}")
        if any(np.may_share_memory(a, out) for a in inputs):
            # Written as Python, the method would read points it has already
            # updated (Gauss-Seidel order); only the Python run has that meaning.
            self._fallbacks.fall_back("an input grid shares memory with the output grid")
            return self.fn(instance, *grids)
        kernel = self._resolve(tuple(g.data for g in grids)).kernel
        if type(kernel) is Fallback:
            return self.fn(instance, *grids)
        call_timed(kernel, lambda native: native(inputs, out))
        return None
