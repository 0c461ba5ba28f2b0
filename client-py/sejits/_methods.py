"""A decorated kernel written as a method. Reached through a class, or
through an instance when its first parameter is not `self`, it is the kernel
itself (as a staticmethod would be). A method taking `self` cannot be
specialized (a kernel takes arrays and numbers, not objects): its calls say
so, as any other refusal does under the fallback policy, and run the Python
method. A sejits.StencilKernel is the way to read numeric attributes of
`self` as constants of a kernel."""


class MethodDescriptor:
    """Mixin for decorated kernels: attribute access through an instance."""

    def __get__(self, instance, owner=None):
        if instance is None or self._binder.first_parameter() != "self":
            return self
        return BoundMethodKernel(self, instance)


class BoundMethodKernel:
    """`instance.method` for a kernel whose first parameter is `self`."""

    def __init__(self, kernel, instance):
        self.kernel, self.instance = kernel, instance
        self.__name__, self.__qualname__, self.__doc__ = kernel.__name__, kernel.__qualname__, kernel.__doc__
        self.__wrapped__ = kernel.fn

    def reason(self):
        return (f"it is a method: its first parameter 'self' is a {type(self.instance).__name__} object, and a "
                "kernel takes arrays and numbers; pass the attributes it reads as arguments (self.scale -> scale), "
                "or write it as a sejits.StencilKernel, whose kernel() reads numeric attributes of self as constants")

    def __call__(self, *args, **kwargs):
        self.kernel._fallbacks.fall_back(self.reason())  # raises under fallback="error"
        self.kernel._last_run = "the Python method as written (a method cannot be specialized)"
        return self.kernel.fn(self.instance, *args, **kwargs)

    def __repr__(self):
        return f"<bound sejits kernel {self.__qualname__} of {self.instance!r}>"
