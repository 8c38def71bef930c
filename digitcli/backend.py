"""Keras, imported quietly: TensorFlow's C++ start-up logs mean nothing to a user.

Modules that need Keras import it from here, and only when they need it,
so that `digits --help` never pays for TensorFlow.
"""

import os

from . import interrupts
from .quiet import quiet_stderr

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Some of TensorFlow's import-time messages ignore TF_CPP_MIN_LOG_LEVEL. A Ctrl-C
# half-way through would leave TensorFlow half set up for the interpreter's
# teardown: it is acted on once the import is done (see interrupts).
with quiet_stderr(), interrupts.deferred():
    import keras
    import tensorflow as tf

__all__ = ["keras", "tf", "device"]


def device() -> str:
    """Where Keras trains: TensorFlow places the model on the first GPU it sees, else on the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name")
    return f"GPU 0 ({name})" if name else "GPU 0"
