"""The bootstrap likelihood-ratio test on a fitted data set, reusing its fits.

Used by ``python -m experiments.fit_real --blrt B``; the test itself is
:func:`estimator.bootstrap_lrt`, its table and figure :mod:`simstudy.writeup.blrt`.
"""

from __future__ import annotations

from collections.abc import Sequence

from estimator import (
    BLRTResult,
    FitOptions,
    ModelSelection,
    SufficientStats,
    bootstrap_lrt,
    check_blrt_settings,
    seed_sequence,
)

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
    options: FitOptions | None = None,
) -> BLRTResult:
    """Sequential BLRT over the K range of ``selection`` (contiguous K), reusing its fits:
    ``n_boot`` samples per test drawn from the child ``BLRT_SEED_KEY`` of ``seed``, refits
    with :mod:`estimator.blrt`'s defaults and ``options``' guard."""
    ks = selection.k_range
    problem = blrt_argument_problem(ks, n_boot, level)
    if problem is not None:
        raise ValueError(problem)
    first = selection.fits[ks[0]]
    guard = {} if options is None else {"guard": options.guard}
    return bootstrap_lrt(
        stats, ks[-1], n_boot, level=level, k_min=ks[0], n_jobs=n_jobs,
        seed=seed_sequence(seed, BLRT_SEED_KEY), sigma=first.sigma_mode, fits=selection.fits,
        covariates=first.covariates, **guard,
    )  # fmt: skip
