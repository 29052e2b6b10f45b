"""Tables and figures of any study's per-condition summaries, by design factor.

For a study of your own (:func:`simstudy.run_simulation`): its summaries as a table
(:func:`factor_table`), one statistic against a factor (:func:`plot_statistic`), and both
written into the study folder (:func:`write_generic_report`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..harness.files import write_text_atomic
from ..harness.simulation import level_text
from ..harness.simulation import summary_frame as flat_summaries
from . import style as figure_style
from .format import sig
from .tables import Table, render

TABLE_FORMATS: tuple[str, ...] = ("md", "tex")
BOOKKEEPING: tuple[str, ...] = ("id", "n_replications", "n_ok", "n_errors", "first_error")
"""Summary columns that are counts or messages, not statistics: tabled, never plotted."""
MAX_PANELS = 12
"""A figure draws at most this many panels (combinations of the other varying factors)."""


def summary_frame(
    summaries: pd.DataFrame | Sequence[Mapping[str, Any]], factors: Sequence[str] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Summaries as one flat frame (a row per condition: factors, then scalar fields) and the
    names of its factors; ``summaries``: :func:`simstudy.run_simulation`'s frame (factors: its
    columns before ``n_replications``) or a ``summary.json``'s ``conditions``."""
    if isinstance(summaries, pd.DataFrame):
        frame = summaries.reset_index(drop=True)
        if factors is None:
            columns = list(frame.columns)
            factors = (
                columns[: columns.index("n_replications")] if "n_replications" in columns else []
            )
        missing = [f for f in factors if f not in frame]
        if missing:
            raise ValueError(f"factors {missing} are not columns of the summaries")
        return frame, list(factors)
    rows = list(summaries)
    if not rows:
        raise ValueError("summaries: no conditions")
    names = list(factors) if factors is not None else list(rows[0].get("factors", {}))
    return flat_summaries({"conditions": rows}), names


def statistics(frame: pd.DataFrame, factors: Sequence[str]) -> list[str]:
    """The numeric non-factor columns of a summary frame with a finite value to draw."""
    return [
        str(c)
        for c in frame.columns
        if c not in factors
        and c not in BOOKKEEPING
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
        and np.isfinite(frame[c].to_numpy(dtype=float)).any()
    ]


def varying(frame: pd.DataFrame, factors: Sequence[str]) -> list[str]:
    """Factors with more than one level in ``frame``, in the given order."""
    return [f for f in factors if frame[f].map(level_text).nunique() > 1]


def factor_table(
    frame: pd.DataFrame,
    factors: Sequence[str],
    columns: Sequence[str] | None = None,
    fmt: str = "md",
    digits: int = 4,
) -> str:
    """The summaries (:func:`summary_frame`) as a markdown or LaTeX table (``fmt``): a row per
    condition, factors then ``columns`` (default ``n_ok``, ``n_errors`` and every
    :func:`statistics`), floats to ``digits`` significant digits."""
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"fmt must be one of {list(TABLE_FORMATS)}, got {fmt!r}")
    if columns is None:
        counts = [c for c in ("n_ok", "n_errors") if c in frame]
        columns = [*counts, *statistics(frame, factors)]
    unknown = [c for c in columns if c not in frame]
    if unknown:
        raise ValueError(f"columns {unknown} are not in the summaries; they hold {list(frame)}")
    rows = [
        [level_text(row[f]) for f in factors]
        + [str(row[c]) if isinstance(row[c], str) else sig(row[c], digits) for c in columns]
        for _, row in frame.iterrows()
    ]
    caption = "Summary of every condition: " + ", ".join(columns)
    table = Table("summary", caption, [*factors, *columns], rows, key_columns=len(factors))
    return render(table, fmt)


def _is_numeric_factor(frame: pd.DataFrame, factor: str) -> bool:
    return all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in frame[factor]
    )


def _sorted_levels(frame: pd.DataFrame, factor: str) -> list[Any]:
    distinct: dict[str, Any] = {}
    for value in frame[factor]:
        distinct.setdefault(level_text(value), value)
    if _is_numeric_factor(frame, factor):
        return sorted(distinct.values())
    return list(distinct.values())  # as the design lists them


def plot_statistic(
    frame: pd.DataFrame,
    factors: Sequence[str],
    statistic: str,
    x: str,
    lines: str | None = None,
) -> Figure:
    """``statistic`` against the factor ``x``, a line per level of the factor ``lines``, a panel
    per combination of the other varying factors (at most :data:`MAX_PANELS`); a numeric
    ``x`` on a numeric axis (log when it spans a factor of 10), any other evenly spaced."""
    if statistic not in frame:
        raise ValueError(
            f"statistic {statistic!r} is not in the summaries; they hold {list(frame)}"
        )
    for role, name in (("x", x), ("lines", lines)):
        if name is not None and name not in factors:
            raise ValueError(f"{role}={name!r} is not a design factor; factors are {list(factors)}")
    if lines == x:
        raise ValueError(f"x and lines must be different factors, both are {x!r}")
    outer = [f for f in varying(frame, factors) if f not in (x, lines)]
    panels = [
        dict(zip(outer, combo, strict=True))
        for combo in itertools.product(*(_sorted_levels(frame, f) for f in outer))
    ] or [{}]
    if len(panels) > MAX_PANELS:
        raise ValueError(
            f"{len(panels)} panels (combinations of {outer}); at most {MAX_PANELS}: choose x and "
            "lines among them or plot a subset of the summaries"
        )
    numeric_x, x_levels = _is_numeric_factor(frame, x), _sorted_levels(frame, x)
    # levels spanning a factor of 10 or more (numbers of stores, say) read best on a log axis
    log_x = numeric_x and min(x_levels) > 0 and max(x_levels) >= 10 * min(x_levels)
    position = {level_text(v): (v if numeric_x else i) for i, v in enumerate(x_levels)}
    line_levels = _sorted_levels(frame, lines) if lines is not None else [None]
    n_cols = min(3, len(panels))
    n_rows = math.ceil(len(panels) / n_cols)
    width = figure_style.WIDTH_SINGLE if n_cols == 1 else figure_style.WIDTH_DOUBLE
    with figure_style.style():
        fig, axes = figure_style.new_figure(n_rows, n_cols, width=width, squeeze=False, sharey=True)
        for ax, panel in zip(axes.ravel(), panels, strict=False):
            cell = frame
            for name, value in panel.items():
                cell = cell[cell[name].map(level_text) == level_text(value)]
            for index, line in enumerate(line_levels):
                part = (
                    cell if line is None else cell[cell[lines].map(level_text) == level_text(line)]
                )
                if not len(part):
                    continue
                xs = np.asarray([position[level_text(v)] for v in part[x]], dtype=float)
                order = np.argsort(xs, kind="stable")
                label = None if line is None else f"{lines} = {level_text(line)}"
                ys = part[statistic].to_numpy(dtype=float)[order]
                ax.plot(
                    xs[order], ys, marker="o", color=figure_style.segment_colour(index), label=label
                )
            if not numeric_x:
                ax.set_xticks(range(len(x_levels)), [level_text(v) for v in x_levels])
            elif log_x:
                ax.set_xscale("log")
                ax.set_xticks(x_levels, [level_text(v) for v in x_levels])
                ax.minorticks_off()
            ax.set(xlabel=x, title=", ".join(f"{k} = {level_text(v)}" for k, v in panel.items()))
        for ax in axes.ravel()[len(panels) :]:
            ax.set_visible(False)
        for ax in axes[:, 0]:
            ax.set_ylabel(statistic)
        if lines is not None:
            axes.ravel()[0].legend()
    return fig


def _file_stem(statistic: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", statistic)


def write_generic_report(
    summaries: pd.DataFrame | Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    factors: Sequence[str] | None = None,
    x: str | None = None,
    lines: str | None = None,
    figures: bool = True,
) -> list[Path]:
    """Write ``tables/summary.md`` and ``.tex`` and a figure per statistic into ``out_dir``;
    ``x`` defaults to the first varying (numeric) factor, ``lines`` to the next; every file."""
    frame, factors = summary_frame(summaries, factors)
    out_dir = Path(out_dir)
    moving = varying(frame, factors)
    drawn: list[tuple[str, Figure]] = []
    if figures and (x is not None or moving):
        if x is None:
            x = next((f for f in moving if _is_numeric_factor(frame, f)), moving[0])
        if lines is None:
            lines = next((f for f in moving if f != x), None)
        # every figure is drawn before anything is written: a bad x or lines writes nothing
        by_x = f"_by_{_file_stem(x)}"
        drawn = [
            (_file_stem(stat) + by_x, plot_statistic(frame, factors, stat, x, lines))
            for stat in statistics(frame, factors)
        ]
    tables = out_dir / "tables"
    paths = [
        write_text_atomic(tables / f"summary.{fmt}", factor_table(frame, factors, fmt=fmt) + "\n")
        for fmt in TABLE_FORMATS
    ]
    for stem, fig in drawn:
        paths += figure_style.save(fig, out_dir / "figures" / stem)
    return paths
