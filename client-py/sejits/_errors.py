"""The exceptions and warnings users see."""


class SpecializationError(Exception):
    """A kernel could not be specialized (raised with sejits.config(fallback="error"))."""


class SpecializationWarning(UserWarning):
    """A kernel runs as plain Python/NumPy; the message says why."""
