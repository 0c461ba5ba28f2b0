"""The exceptions and warnings users see."""


class SpecializationError(Exception):
    """A kernel could not be specialized (raised with sejits.config(fallback="error"))."""


class UndefinedNameError(SpecializationError, NameError):
    """A kernel reads a name bound nowhere: Python's NameError, at the kernel's line."""

    def __init__(self, message, name=None):
        super().__init__(message)
        self.name = name


class SpecializationWarning(UserWarning):
    """A kernel runs as plain Python/NumPy; the message says why."""


class KernelNotSendable(Exception):
    """The kernel as written cannot be sent to the daemon (its source could
    not be captured or encoded): asking again gives the same answer."""
