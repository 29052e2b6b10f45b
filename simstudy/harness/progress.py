"""Progress of a run through tqdm: a live bar on a terminal, a plain line now and then in a log.

Written to a file or a pipe, the bar's figures (done / total, rate, elapsed, remaining, errors)
come as a whole line every :data:`LOG_SECONDS` and at the end; the time remaining is tqdm's
moving average, so the workers' start-up does not inflate it for long.
"""

from __future__ import annotations

import time
from typing import TextIO

LOG_SECONDS = 30.0
"""Seconds between progress lines when the stream is not a terminal."""


class Progress:
    """Replications done out of ``total``, ``done`` of them before this run, on ``stream``
    (None: silent)."""

    def __init__(self, total: int, done: int, stream: TextIO | None) -> None:
        from tqdm import tqdm  # on first use: a single fit needs no progress bar

        self.stream, self.errors = stream, 0
        live = stream is not None and stream.isatty()
        self.bar = tqdm(
            total=total,
            initial=done,
            file=stream,
            unit="rep",
            desc="replications",
            disable=stream is None,
            dynamic_ncols=live,
            ascii=not live,  # a log file gets plain characters
            # a log file gets whole lines (see log_line), never tqdm's carriage returns
            mininterval=0.5 if live else float("inf"),
            smoothing=0.1,
            delay=0.0 if live else float("inf"),
        )
        self.live, self.last_line = live, time.monotonic()

    def update(self, n: int, errors: int) -> None:
        """Count ``n`` more replications, ``errors`` of them failed."""
        self.errors += errors
        if self.errors:
            self.bar.set_postfix(errors=self.errors, refresh=False)
        self.bar.update(n)
        finished = self.bar.n >= (self.bar.total or 0)
        if not self.live and (finished or time.monotonic() - self.last_line >= LOG_SECONDS):
            self.log_line()

    def log_line(self) -> None:
        """Print the bar's figures as one line (for a stream that is not a terminal)."""
        if self.stream is None:
            return
        self.last_line = time.monotonic()
        print(self.bar.format_meter(**self.bar.format_dict), file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar (a terminal gets its last state and a newline)."""
        self.bar.close()
