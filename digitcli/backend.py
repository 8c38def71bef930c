"""Keras, imported quietly: TensorFlow's C++ start-up logs mean nothing to a user.

Modules that need Keras import it from here, and only when they need it,
so that `digits --help` never pays for TensorFlow.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _import_quietly():
    # TensorFlow's native code logs at import time straight to file descriptor 2,
    # ignoring TF_CPP_MIN_LOG_LEVEL for some messages; silence that fd meanwhile.
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return keras, tensorflow


keras, tf = _import_quietly()

__all__ = ["keras", "tf"]
