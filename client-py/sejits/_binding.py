"""Binding a call's arguments to the kernel's parameters exactly as Python
does: positional and keyword arguments, default values, and Python's own
TypeError for a call the function would refuse."""

import inspect

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


class Binder:
    """`bind(args, kwargs)` gives every parameter's value in order
    (positional parameters, then keyword-only ones). The native fast path
    binds plain positional calls itself from `n_required`, `n_positional`
    and `tail_defaults`."""

    def __init__(self, fn):
        self.fn = fn
        try:
            self.signature = inspect.signature(fn)
        except (TypeError, ValueError):
            self.signature = None
        parameters = list(self.signature.parameters.values()) if self.signature else []
        # Kernels take named parameters only; a function with *args or
        # **kwargs (or no signature) is called as it is, and refused by capture.
        self.plain = self.signature is not None and all(
            p.kind in (*_POSITIONAL, inspect.Parameter.KEYWORD_ONLY) for p in parameters)
        positional = [p for p in parameters if p.kind in _POSITIONAL]
        self.keyword_only = tuple(p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY)
        self.n_positional = len(positional)
        self.n_required = sum(1 for p in positional if p.default is inspect.Parameter.empty)
        # The defaults of the trailing positional parameters, then those of the
        # keyword-only ones; None when a keyword-only parameter has no default
        # (every call must name it).
        tail = [p.default for p in parameters[self.n_required:] if p.kind is not inspect.Parameter.VAR_POSITIONAL]
        self.tail_defaults = None if not self.plain or inspect.Parameter.empty in tail else tuple(tail)

    def bind(self, args, kwargs):
        """The values of every parameter for this call, in order."""
        if not kwargs and self.tail_defaults is not None and self.n_required <= len(args) <= self.n_positional:
            return args + self.tail_defaults[len(args) - self.n_required:]
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            self.fn(*args, **kwargs)  # raises Python's own message for this call
            raise
        bound.apply_defaults()
        return tuple(bound.arguments.values())

    def first_parameter(self):
        """The name of the function's first parameter, or None."""
        parameters = list(self.signature.parameters) if self.signature else []
        return parameters[0] if parameters else None

    def call(self, values):
        """The Python function called on bound values."""
        positional = values[:self.n_positional]
        return self.fn(*positional, **dict(zip(self.keyword_only, values[self.n_positional:])))
