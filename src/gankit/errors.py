"""User-facing errors: one line that says what went wrong and what to do."""


class GankitError(Exception):
    """An error caused by user input or environment, reported as one line without traceback."""


class NonFiniteError(GankitError):
    """Training produced NaN or infinity (in a loss or in the weights)."""


class NonFiniteLossError(NonFiniteError):
    """A training loss became NaN or infinite."""


class NonFiniteWeightsError(NonFiniteError):
    """Weights hold NaN or infinity: they are never checkpointed, sampled from or evaluated."""


class TrainingInterrupted(GankitError):
    """SIGINT or SIGTERM stopped training after its checkpoint was written; `signum` gives the exit code."""

    def __init__(self, message: str, signum: int) -> None:
        super().__init__(message)
        self.signum = signum
