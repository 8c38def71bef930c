"""Silencing native libraries that write straight to file descriptor 2.

TensorFlow and the LiteRT runtime log from C++ (start-up banners, delegate
notices) regardless of Python's sys.stderr; a user should never see those.
"""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def quiet_stderr():
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
