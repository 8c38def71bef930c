"""Domain errors. Each carries a one-line message meant for the user."""


def first_line(exc: BaseException) -> str:
    """The first line of a library's error message, for quoting in a one-line error."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class DigitsError(Exception):
    """An error the user can act on; the CLI prints it as one line and exits 1."""


class DataError(DigitsError):
    """A dataset is missing, unreadable or not MNIST-shaped."""


class ModelFileError(DigitsError):
    """A model file is missing, unreadable, unsafe or not a digit classifier."""


class OutputError(DigitsError):
    """An output path exists or cannot be written."""


class TrainingError(DigitsError):
    """Training cannot go on (for example the loss became NaN)."""


class BadOption(DigitsError):
    """An option value that only turns out wrong against the data; exits 2 like a usage error."""


class ImageError(DigitsError):
    """One image file cannot be read or holds no digit; other files still get results."""


class TerminalError(DigitsError):
    """The terminal cannot run an interactive app: not a terminal, too small, or no mouse reporting."""


class Terminated(BaseException):
    """SIGTERM arrived; raised like KeyboardInterrupt so that clean-up code runs."""


class Interrupted(BaseException):
    """Training was stopped by Ctrl-C or SIGTERM; the message says what was kept and how to go on."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code
