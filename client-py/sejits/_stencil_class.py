"""Asp's class-based stencils: StencilGrid (an array with ghost cells and
neighbour definitions) and StencilKernel, whose `kernel` method is
specialized on first call. Running the method as written is the semantics,
and the fallback."""

import ast
import copy
import itertools

import numpy as np

from sejits import _capture, _device_calls
from sejits._dispatch import KernelDispatcher
from sejits._fallback_policy import Fallback
from sejits._tuning_session import call_timed
from sejits._capture import CaptureError


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
    of the specialized kernel and part of its cache key). The method holds
    loops over grid.interior_points() and grid.border_points(); it may write
    several output grids (the grids it assigns to)."""

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
        kernel.__name__ = python_kernel.__name__
        kernel.__qualname__ = python_kernel.__qualname__
        kernel.__module__ = python_kernel.__module__
        cls.kernel = kernel
        cls.sejits_dispatcher = dispatcher

    def iterate(self, *grids, steps):
        """`steps` applications of kernel(), each reading the grid the one
        before wrote: the method's one input grid and one output grid
        ping-pong, the input starting as a copy of the given one (which is
        left as it was), and the last result lands in the output grid, which
        is returned. The same as `a, b = copy(in_grid), out_grid; for _ in
        range(steps): self.kernel(a, b); a, b = b, a` with the result copied
        into out_grid; steps=0 copies in_grid's data into out_grid."""
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"{type(self).__name__}.iterate: steps must be an integer of at least 0, not {steps!r}")
        dispatcher = type(self).__dict__.get("sejits_dispatcher") or getattr(type(self), "sejits_dispatcher", None)
        if dispatcher is None:
            raise TypeError(f"{type(self).__name__} defines no kernel method")
        written = dispatcher.written_positions(len(grids))
        if len(grids) != 2 or len(written) != 1:
            raise TypeError(f"{type(self).__name__}.iterate: the kernel must take one input grid and write one "
                            f"output grid (it takes {len(grids)} and writes {len(written)})")
        out_position = written[0]
        in_position = 1 - out_position
        source, target = grids[in_position], grids[out_position]
        if source.data.shape != target.data.shape or source.data.dtype != target.data.dtype:
            raise ValueError(f"{type(self).__name__}.iterate: the input and output grids must have one shape and dtype")
        scratch = copy.copy(source)
        scratch.data = source.data.copy()
        current, other = scratch, target
        for _ in range(int(steps)):
            call = [None, None]
            call[in_position], call[out_position] = current, other
            self.kernel(*call)
            current, other = other, current
        if current is not target:
            np.copyto(target.data, current.data)
        return target


class ClassStencilDispatcher(KernelDispatcher):
    """One specialized sweep per output grid of the method: each computes
    that grid from the grids the method only reads."""

    specializer = "stencil"
    scalar_arguments = False  # the entry point takes the grids only: free names are constants

    def __init__(self, fn):
        super().__init__(fn)
        # Messages name the method as its class has it (Jacobi.kernel), once.
        self._fallbacks.kernel_name = getattr(fn, "__qualname__", self.__name__)
        self._call_context = None  # (instance, grids, output position) for the duration of one call
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

    def written_positions(self, count):
        """The positions (among `count` grids) of the grids the method assigns to."""
        try:
            return [k for k in self._facts()[0] if k < count]
        except CaptureError:
            return []

    def _attributes(self):
        """This instance's numeric attributes that the method reads, and its
        small arrays and sequences of numbers (weights, as
        _capture.Resolved("ndarray" or "sequence", ...)): constants of the kernel."""
        instance = self._call_context[0]
        self_name = self._parse().params[0]
        attributes = {}
        for name in self._facts()[1]:
            value = getattr(instance, name, None)
            if isinstance(value, (bool, int, float, np.number)):
                attributes[(self_name, name)] = value
            elif (found := _capture.constant_array(value)) is not None:
                attributes[(self_name, name)] = _capture.Resolved(*found)
        return attributes

    def _params(self):
        _, grids, output = self._call_context
        params = {"style": "class", "output": str(output), "ghost_depth": str(grids[output].ghost_depth)}
        for k, grid in enumerate(grids):
            for i, offsets in enumerate(grid.neighbor_definition):
                params[f"neighbors.{k}.{i}"] = ";".join(",".join(str(int(v)) for v in offset) for offset in offsets)
        return params

    def _signature(self, args):
        attributes = tuple(sorted((k[1], type(v).__name__, repr(v)) for k, v in self._attributes().items()))
        return super()._signature(args) + (np.ndim(args[0]), tuple(sorted(self._params().items())), attributes)

    def _run_python(self, args, out):
        instance, grids, _ = self._call_context
        return self.fn(instance, *grids)

    def call(self, instance, grids):
        for grid in grids:
            if not isinstance(grid, StencilGrid):
                raise TypeError(f"{self.__name__}: the arguments of a stencil kernel are StencilGrids")
        self._call_context = (instance, grids, 0)
        try:
            written = self._facts()[0]
        except CaptureError as error:
            self._fallbacks.fall_back(str(error))
            return self.fn(instance, *grids)
        if not written:
            self._fallbacks.fall_back("the method assigns to no grid")
            return self.fn(instance, *grids)
        shape = grids[written[0]].data.shape
        for grid in grids:
            if grid.data.shape != shape:
                raise ValueError(f"{self.__name__}: every grid must have the output's shape {shape}")
        inputs = tuple(g.data for k, g in enumerate(grids) if k not in written)
        outputs = [grids[k].data for k in written]
        overlap = any(np.may_share_memory(a, out) for a in inputs for out in outputs) or any(
            np.may_share_memory(a, b) for i, a in enumerate(outputs) for b in outputs[i + 1:])
        if overlap:
            # Written as Python, the method would read points it has already
            # updated (Gauss-Seidel order); only the Python run has that meaning.
            self._fallbacks.fall_back("an input grid shares memory with an output grid")
            return self.fn(instance, *grids)
        everything = tuple(g.data for g in grids)
        context = _device_calls.context_for(everything)
        kernels = []
        for k in written:  # every output's kernel first: a fallback runs the whole method as Python
            self._call_context = (instance, grids, k)
            if context is not None:
                kernel = self._resolve_device(context, _device_calls.to_device(context, everything, set())).kernel
            else:
                kernel = self._resolve(everything).kernel
            if type(kernel) is Fallback:
                return self.fn(instance, *grids)
            kernels.append((k, kernel))
        if context is not None:
            device_inputs = _device_calls.to_device(context, inputs, set())
            for k, kernel in kernels:
                # The device buffer starts as the grid: ghost cells no loop assigns keep their values.
                result = context.asarray(np.ascontiguousarray(grids[k].data))
                kernel.call_device(context._device, _device_calls.call_items(device_inputs, shape), result._descriptor())
                np.copyto(grids[k].data, result.get())
            self._last_run = f"the compiled OpenCL kernels on {context.name}"
            return None
        for k, kernel in kernels:
            call_timed(kernel, lambda native: native(inputs, grids[k].data))
        return None
