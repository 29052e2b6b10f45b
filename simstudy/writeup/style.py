"""One look for every figure of the report: backend, fonts, sizes, colours, and saving.

Figures are made by :func:`new_figure` inside :func:`style` and written whole, without time
stamps, by :func:`save`; segment c is always :func:`segment_colour` (c), a baseline method
:data:`METHOD_COLOURS` [method] (the Okabe-Ito palette).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window

from matplotlib.figure import Figure  # noqa: E402 - after the backend is chosen

from ..harness.files import write_bytes_atomic  # noqa: E402

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermilion
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",
)
METHOD_COLOURS: dict[str, str] = {"full": "#000000", "single": "#56B4E9", "twostep": "#D55E00"}
METHOD_LABELS: dict[str, str] = {
    "full": "estimator (10 starts)",
    "single": "single EM start",
    "twostep": "two-step (OLS + GMM)",
}
CRITERION_STYLES: dict[str, dict[str, Any]] = {
    "bic": {"color": "#000000", "marker": "o", "ls": "-"},
    "bic_n": {"color": "#0072B2", "marker": "s", "ls": "--"},
    "aic": {"color": "#E69F00", "marker": "^", "ls": "-."},
    "aic3": {"color": "#009E73", "marker": "v", "ls": ":"},
    "caic": {"color": "#CC79A7", "marker": "D", "ls": "--"},
    "icl": {"color": "#D55E00", "marker": "P", "ls": "-"},
    "sabic": {"color": "#56B4E9", "marker": "X", "ls": "-."},
    "sabic_n": {"color": "#56B4E9", "marker": "x", "ls": ":"},
    "blrt": {"color": "#7F7F7F", "marker": "*", "ls": "-"},
}
"""Colour, marker and line style of every information criterion (estimator.CRITERIA) and
of the bootstrap likelihood-ratio test (``blrt``)."""

WIDTH_SINGLE = 3.5
"""Inches: one column of a two-column paper."""
WIDTH_DOUBLE = 7.2
"""Inches: the full text width."""
WIDTHS = (WIDTH_SINGLE, WIDTH_DOUBLE)
"""The only widths a saved figure may have (it is placed at 100% in a paper)."""
MIN_FONT_PT = 7.0
"""Smallest font size at print size."""
PNG_DPI = 200

RC: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "figure.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.axisbelow": True,
    "lines.linewidth": 1.4,
    "lines.markersize": 4,
    "axes.prop_cycle": matplotlib.cycler(color=list(OKABE_ITO)),
    "pdf.fonttype": 42,  # TrueType in the PDF: text stays text when pasted into a paper
    "svg.fonttype": "none",
    "savefig.bbox": None,  # the saved size is the figure's size: 3.5 or 7.2 in wide
}


@contextmanager
def style() -> Iterator[None]:
    """Context in which figures are drawn and saved with the report's settings."""
    with matplotlib.rc_context(RC):
        yield


def segment_colour(index: int) -> str:
    """Colour of segment ``index`` (0-based), the same in every figure."""
    return OKABE_ITO[index % len(OKABE_ITO)]


def new_figure(
    n_rows: int = 1,
    n_cols: int = 1,
    width: float = WIDTH_SINGLE,
    height: float | None = None,
    **subplot_kw: Any,
) -> tuple[Figure, Any]:
    """A constrained-layout figure and its axes (an Axes or an array), ``width`` inches wide,
    ``height`` by default 0.75 of the width per row over the columns; ``subplot_kw`` go to
    :meth:`matplotlib.figure.Figure.subplots`."""
    if height is None:
        height = 0.75 * width * n_rows / n_cols
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(n_rows, n_cols, **subplot_kw)


SAVED: dict[str, dict[str, Any]] = {
    "png": {"dpi": PNG_DPI, "metadata": {"Software": None}},
    "pdf": {"metadata": {"Creator": None, "Producer": None, "CreationDate": None}},
}
"""The files a figure is saved as, with their savefig options (no time stamps)."""


def save(fig: Figure, stem: Path) -> list[Path]:
    """Write ``stem.png`` and ``stem.pdf`` (``stem``: the path without suffix) whole; both paths."""
    stem = Path(stem)
    with style():
        return [
            write_bytes_atomic(
                stem.parent / f"{stem.name}.{fmt}",
                lambda h, f=fmt: fig.savefig(h, format=f, **SAVED[f]),
            )
            for fmt in SAVED
        ]
