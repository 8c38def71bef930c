"""The `digits` command (and `python -m digitcli`).

The signal handlers go in before anything else is imported, so that Ctrl-C or
SIGTERM at any moment of a run ends it with one line and the conventional
exit code, never a traceback or a death by signal.
"""

import sys

from . import interrupts
from .errors import Terminated


def run() -> None:
    interrupts.install()
    try:
        from .cli import app
        from .ui import finish_output

        try:
            app()
        finally:
            finish_output()  # a reader of stdout gone by now is a closed pipe, not a traceback
    except (KeyboardInterrupt, Terminated) as exc:  # while the command line itself was loading or being built
        sys.stderr.write("Interrupted; nothing was saved.\n")
        sys.exit(interrupts.EXIT_CODES[interrupts.signal_of(exc)])


if __name__ == "__main__":
    run()
