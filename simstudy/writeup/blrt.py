"""The bootstrap likelihood-ratio test on a fitted data set: its table, figure and caption.

The test itself is :func:`estimator.bootstrap_lrt`, run on a fit by
:func:`simstudy.studies.blrt.blrt_on_fits`; these read its result or its
``to_dict()`` form (results.json's ``blrt`` entry). matplotlib is imported by the figure
only: the table needs numpy alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from estimator import BLRTResult

from .tables import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def blrt_table(result: BLRTResult | dict[str, Any], name: str = "real_blrt_tests") -> Table:
    """The tests: K0 vs K0 + 1, LR, p-value, bootstrap samples used, decision."""
    doc = result.to_dict() if isinstance(result, BLRTResult) else result
    rows = [
        [
            f"{t['K0']} vs {t['K0'] + 1}",
            f"{t['lr']:.3f}",
            f"{t['p_value']:.3f}",
            f"{t['n_used']}/{t['n_boot']}",
            f"{'reject' if t['rejected'] else 'keep'} K0 = {t['K0']}",
        ]
        for t in doc["tests"]
    ]
    caption = (
        f"Bootstrap likelihood-ratio tests (level {doc['level']:g}): the test chooses "
        f"K = {doc['chosen_K']}."
    )
    return Table(name, caption, ["K0 vs K0+1", "LR", "p", "B used", "decision"], rows)


def blrt_figure(result: BLRTResult | dict[str, Any]) -> Figure:
    """Histogram of the bootstrap LR* per K0, a panel per test, the observed LR marked (far
    off scale: an arrow at the right edge); ``result`` may be ``to_dict()``'s form."""
    from . import style

    doc = result.to_dict() if isinstance(result, BLRTResult) else result
    tests = doc["tests"]
    width = style.WIDTH_SINGLE if len(tests) == 1 else style.WIDTH_DOUBLE
    fig, axes = style.new_figure(1, len(tests), width=width, height=2.4, squeeze=False)
    for ax, test in zip(axes[0], tests, strict=True):
        _lr_panel(ax, np.asarray(test["lr_boot"], dtype=float), float(test["lr"]))
        ax.set_title(
            f"K0 = {test['K0']} vs {test['K0'] + 1}: p = {test['p_value']:.3f}, "
            f"B = {test['n_used']}",
            fontsize=8,
        )
    return fig


def blrt_caption(result: BLRTResult | dict[str, Any]) -> str:
    """Caption of :func:`blrt_figure`, with the chosen K and the tests' p-values."""
    doc = result.to_dict() if isinstance(result, BLRTResult) else result
    tests = "; ".join(
        f"K0 = {t['K0']}: LR = {t['lr']:.2f}, p = {t['p_value']:.3f}" for t in doc["tests"]
    )
    return (
        "Bootstrap likelihood-ratio tests of K0 against K0 + 1 segments: per K0 the "
        "distribution of LR* = 2 (log L_{K0+1} - log L_{K0}) over panels drawn from the fitted "
        "K0 model, and the observed LR (orange). "
        f"{tests}; at level {doc['level']:g} the test chooses K = {doc['chosen_K']}."
    )


def plot_blrt(result: BLRTResult | dict[str, Any], stem: Path) -> list[Path]:
    """:func:`blrt_figure` written as ``stem.png`` and ``stem.pdf``; return both paths."""
    from . import style

    with style.style():
        return style.save(blrt_figure(result), stem)


def _lr_panel(ax: Any, boot: np.ndarray, lr: float) -> None:
    """One test's histogram of LR* and its observed LR (a line, or an arrow when off scale)."""
    low = min(float(boot.min()), 0.0)
    top = max(float(boot.max()), 0.0) * 1.15 + 1.0
    ax.hist(boot, bins=20, range=(low, top), color="#999999")
    if lr < top:
        ax.axvline(lr, color="#D55E00", lw=1.5, label=f"observed LR = {lr:.2f}")
        ax.legend(loc="upper right")
    else:
        ax.annotate(
            f"observed LR\n= {lr:.1f}",
            xy=(1.0, 0.5),
            xycoords="axes fraction",
            xytext=(0.62, 0.7),
            textcoords="axes fraction",
            color="#D55E00",
            fontsize=7,
            arrowprops={"arrowstyle": "->", "color": "#D55E00"},
        )
    ax.set_xlim(low, top)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set(xlabel="bootstrap LR*", ylabel="samples")
