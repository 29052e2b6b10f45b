"""Runnable entry points: ``python -m experiments.NAME``.

Ctrl-C while a command imports what it needs (a second or two) ends it with one line and
exit status 130, as Ctrl-C during its work does (``simstudy.cli.args.run_cli``, which
puts Python's own KeyboardInterrupt back once the imports are done). Nothing has been
written yet, so the process ends at once; a shell that ignores SIGINT keeps it ignored.

A package the command needs and this Python lacks (the project not installed) ends it
with one line naming the package and the install command, exit status 1, whether the
import fails as the command starts or later (``run_cli``); ``--debug`` shows the traceback.
The sales fit, ``experiments.fit_real``, needs numpy and scipy only.
"""

import importlib.util
import os
import signal
import sys
from collections.abc import Callable
from types import TracebackType


def _missing_package(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None,
    previous: Callable[..., object] = sys.excepthook,
) -> None:  # fmt: skip
    """sys.excepthook of a command: one line for a package that is not installed (a missing
    module of an installed package, this project's own included, is a bug: its traceback)."""
    name = getattr(error, "name", None) if isinstance(error, ModuleNotFoundError) else None
    package = (name or "").partition(".")[0]
    if package and importlib.util.find_spec(package) is None and "--debug" not in sys.argv:
        print(f"error: {package} is not installed in {sys.executable}; "
              "install the project first: pip install -e .", file=sys.stderr)  # fmt: skip
        return
    previous(kind, error, trace)


if sys.argv[:1] == ["-m"]:  # run as a command, not imported by a test or a notebook
    sys.excepthook = _missing_package
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, lambda *_: sys.stderr.write("interrupted\n") and os._exit(130))
