"""User-facing errors: one line that says what went wrong and what to do."""


class GankitError(Exception):
    """An error caused by user input or environment, reported as one line without traceback."""


class NonFiniteLossError(GankitError):
    """A training loss became NaN or infinite."""
