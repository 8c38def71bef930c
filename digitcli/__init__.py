"""digits: train, evaluate and run a handwritten-digit recognizer from the terminal.

From Python: `model = digitcli.load("models/digits.keras")`, then `model.predict(images)` or
`model.predict_files(paths)` (see `digitcli.api`). Importing `digitcli` loads nothing heavy;
`load` brings in numpy and the model's runtime when it is called.
"""

__version__ = "0.1.0"


def load(path=None, runtime="auto"):
    """Open a model file (default: the one `digits train` writes) for prediction. See `digitcli.api.load`."""
    from .api import load as load_model

    return load_model(path, runtime)
