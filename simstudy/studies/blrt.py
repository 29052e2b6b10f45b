"""The bootstrap likelihood-ratio test on a fitted data set: run it, tabulate it, draw it.

Used by ``python -m experiments.fit_real --blrt B``; the test itself is
:func:`estimator.blrt.bootstrap_lrt`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from tabulate import tabulate

from estimator import (
    BLRTResult,
    ModelSelection,
    SufficientStats,
    bootstrap_lrt,
    check_blrt_settings,
    seed_sequence,
)

from ..writeup import style

BLRT_SEED_KEY = 15
"""Child of the run's seed that the test draws from (apart from the fits' own streams)."""


def blrt_argument_problem(k_values: Sequence[int], n_boot: int, level: float = 0.05) -> str | None:
    """Why ``--blrt n_boot`` cannot run with ``--k k_values`` (one line), or None when it can."""
    if n_boot == 0:
        return None
    ks = sorted(set(int(k) for k in k_values))
    if n_boot < 0:
        return f"--blrt must be a number of bootstrap samples >= 0, got {n_boot}"
    if len(ks) < 2 or ks != list(range(ks[0], ks[-1] + 1)):
        return f"--blrt needs at least two consecutive K values (--k), got {ks}"
    try:
        check_blrt_settings(ks[0], ks[-1], n_boot, level)
    except ValueError as err:
        return f"--blrt: {err}"
    return None


def blrt_on_fits(
    stats: SufficientStats,
    selection: ModelSelection,
    n_boot: int,
    seed: int | None,
    n_jobs: int = 1,
    level: float = 0.05,
) -> BLRTResult:
    """Sequential BLRT over the K range of ``selection``, reusing its fits as the observed ones.

    K0 runs from the smallest fitted K to at most the largest minus one; the
    bootstrap refits use the test's own settings (:mod:`estimator.blrt` defaults),
    recorded in the result.

    Parameters
    ----------
    stats : SufficientStats
        The data the fits came from.
    selection : ModelSelection
        Fits over a contiguous range of K (fit_k_range).
    n_boot : int
        Bootstrap samples B per test.
    seed : int or None
        The run's seed; the test uses its child ``BLRT_SEED_KEY``.
    n_jobs : int
        joblib workers over bootstrap samples.
    level : float
    """
    ks = selection.k_range
    problem = blrt_argument_problem(ks, n_boot, level)
    if problem is not None:
        raise ValueError(problem)
    sigma = selection.fits[ks[0]].sigma_mode
    return bootstrap_lrt(
        stats,
        ks[-1],
        n_boot,
        level=level,
        k_min=ks[0],
        n_jobs=n_jobs,
        seed=seed_sequence(seed, BLRT_SEED_KEY),
        sigma=sigma,
        fits=selection.fits,
    )


def blrt_text(result: BLRTResult) -> str:
    """The tests as a terminal table: K0 vs K0 + 1, LR, p-value, B used, decision."""
    rows = [
        [
            f"{s.k0} vs {s.k0 + 1}",
            f"{s.lr:.3f}",
            f"{s.p_value:.3f}",
            f"{s.n_used}/{s.n_boot}",
            f"reject K0 = {s.k0}" if s.rejected else f"keep K0 = {s.k0}",
        ]
        for s in result.steps
    ]
    table = tabulate(
        rows, headers=["K0 vs K0+1", "LR", "p", "B used", "decision"], disable_numparse=True
    )
    return (
        f"bootstrap likelihood-ratio test (level {result.level:g}): "
        f"chosen K = {result.chosen_k}\n{table}"
    )


def blrt_figure(result: BLRTResult | dict[str, Any]) -> Figure:
    """Histogram of the bootstrap LR* per K0 with the observed LR marked.

    One panel per test, side by side (one column wide for a single test, the text
    width otherwise). An observed LR far beyond the bootstrap values is marked by
    an arrow at the right edge with its value, so the histogram stays readable.
    Draw it inside :func:`simstudy.writeup.style.style`.

    Parameters
    ----------
    result : BLRTResult or dict
        The test, or its ``to_dict()`` form (results.json's ``blrt`` entry).
    """
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
    ax.set_xlabel("bootstrap LR*")
    ax.set_ylabel("samples")
