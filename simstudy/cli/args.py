"""Command-line flags checked the same way by every entry point.

:class:`Parser` (defaults in ``--help``, one-line errors with exit status 2, ``--debug``,
``-v``, ``-q``), the argparse ``type=`` checks, :func:`run_cli` (the documented exit
statuses and one-line warnings) and :class:`Heartbeat` (a progress line while a long
call runs).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NoReturn, TextIO

from ..harness.files import check_output_dir


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults shown after every option's help (not None or an off switch: the help says
    what happens then); descriptions kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


LOG_LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)
"""Level of the ``salesmix`` logger shown by a command: by default, with ``-v``, ``-vv``."""
_QUIET: ContextVar[bool] = ContextVar("quiet", default=False)


class Parser(argparse.ArgumentParser):
    """ArgumentParser with one-line errors, every default in ``--help``, ``--debug``, ``-v``
    and ``-q`` (which :func:`run_cli` applies)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        _output_flags(self)
        self.add_argument(
            "--debug", action="store_true", help="show the full traceback of an unexpected error"
        )

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message`` (one line, no usage block) and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _output_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log what the library does: -v each K and bootstrap run, -vv also "
                             "every fit and file read")  # fmt: skip
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return parser


_OUTPUT = _output_flags(argparse.ArgumentParser(add_help=False, exit_on_error=False))
"""``-v`` and ``-q`` alone: what :func:`run_cli` sets up before the command parses the rest
(a bad one is left to the command's parser to name)."""


def _warning_line(message: Any, category: type[Warning], *_: Any, **__: Any) -> None:
    """``warnings.showwarning`` of a command: one line, no Python source line."""
    print(f"warning: {str(message).replace(chr(10), ' ')}", file=sys.stderr, flush=True)


def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1 (counts: K, starts, iterations, replications, batch sizes)."""
    return _integer(text, 1)


def non_negative_int(text: str) -> int:
    """An integer >= 0 (seeds, bootstrap refits)."""
    return _integer(text, 0)


def n_jobs(text: str) -> int:
    """A number of workers: >= 1, or negative as in joblib (-1: every core); never 0."""
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"expected a number of workers >= 1 (or -1 for every core), got {text!r}"
        )
    return value


def _float(text: str, low: float, open_low: bool) -> float:
    bound = f"> {low:g}" if open_low else f">= {low:g}"
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}") from None
    if not (value > low if open_low else value >= low) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number {bound}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (tolerances)."""
    return _float(text, 0.0, True)


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (seconds)."""
    return _float(text, 0.0, False)


def data_file(text: str) -> Path:
    """An existing file (not a folder)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; expected a file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def existing_dir(text: str) -> Path:
    """An existing folder."""
    path = Path(text)
    if not path.is_dir():
        what = "a file" if path.exists() else "missing"
        raise argparse.ArgumentTypeError(f"{text} is {what}; expected an existing folder")
    return path


def output_dir(text: str) -> Path:
    """argparse type of an output folder (:func:`check_output_dir`)."""
    try:
        return check_output_dir(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def run_cli(main: Callable[[list[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run ``main(argv)`` as a command: one line on stderr and the exit status, 2 for a run
    error (:data:`~simstudy.harness.runner.RUN_ERRORS`), 130 for Ctrl-C, 1 for an unexpected
    exception (its traceback with ``--debug``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if getattr(signal.getsignal(signal.SIGINT), "__module__", None) == "experiments":
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the imports are done
    try:
        output = _OUTPUT.parse_known_args(args)[0]
    except argparse.ArgumentError:
        output = _OUTPUT.parse_args([])
    logger, handler = logging.getLogger("salesmix"), logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level, show, quiet = logger.level, warnings.showwarning, _QUIET.set(output.quiet)
    logger.setLevel(LOG_LEVELS[min(output.verbose, 2)])
    logger.addHandler(handler)
    warnings.showwarning = _warning_line
    try:
        return main(None if argv is None else args)
    except KeyboardInterrupt as err:  # a study's StudyInterrupted says what it saved
        print(str(err) or "interrupted", file=sys.stderr)
        return 130
    except _run_errors() as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - the command line's last resort
        if "--debug" in args:
            raise
        if (package := _not_installed(err)) is not None:  # an option needs a package
            print(f"error: {package} is not installed in {sys.executable}; install the project "
                  "first: pip install -e . (--debug shows where it was needed)",
                  file=sys.stderr)  # fmt: skip
            return 1
        print(f"error: {type(err).__name__}: {err} (--debug shows the traceback)", file=sys.stderr)
        return 1
    finally:  # this process is as it was (tests run commands in theirs)
        warnings.showwarning = show
        logger.removeHandler(handler)
        logger.setLevel(level)
        _QUIET.reset(quiet)


def _not_installed(err: Exception) -> str | None:
    """The package an import error could not find installed, or None (a module missing from an
    installed package, this project's own included, is a bug)."""
    name = getattr(err, "name", None) if isinstance(err, ModuleNotFoundError) else None
    package = (name or "").partition(".")[0]
    return package if package and importlib.util.find_spec(package) is None else None


def _run_errors() -> tuple[type[Exception], ...]:
    """The run errors of a study (:data:`~simstudy.harness.runner.RUN_ERRORS`); none when no
    study ran (the runner imports pandas, which the real-data fit does without)."""
    runner = sys.modules.get("simstudy.harness.runner")
    return () if runner is None else runner.RUN_ERRORS


class Heartbeat:
    """While a ``with`` block runs longer than ``after`` seconds, print a line every ``every``:
    ``message`` (what is running, ``fitting K = 1..4``) and the elapsed time, to ``stream``
    (None: silent; "stderr": ``sys.stderr`` when the object is made)."""

    def __init__(
        self, message: str, stream: TextIO | None | str = "stderr", after: float = 3.0,
        every: float = 5.0,
    ) -> None:  # fmt: skip
        # "stderr": the stream of the moment (pytest and notebooks replace sys.stderr), not -q's
        self.stream = (None if _QUIET.get() else sys.stderr) if stream == "stderr" else stream
        self.message, self.after, self.every = message, after, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)
        self.lines = 0

    def _beat(self) -> None:
        started = time.perf_counter()
        wait = self.after
        while not self._stop.wait(wait):
            elapsed = time.perf_counter() - started
            print(f"{self.message}: {elapsed:.0f} s so far", file=self.stream, flush=True)
            self.lines += 1
            wait = self.every

    def __enter__(self) -> Heartbeat:
        if self.stream is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
