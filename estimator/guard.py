"""The guard against spurious maxima: which certified maxima a default fit may return.

Where sigma is estimated the likelihood of a mixture of regressions is unbounded
(a segment on a handful of observations that its line fits almost exactly), and
between that boundary and the sensible maxima lie *spurious* local maxima: a
tiny segment with a tiny sigma, certified like any other maximum and often the
highest, which the information criteria then reward (McLachlan & Peel 2000,
section 3.10; Hathaway 1985; Chen, Tan & Zhang 2008). The guard sets such
maxima aside and the fit returns the highest remaining one.

Rule ``"size"`` (sigma per segment): a maximum is set aside when some segment's
effective number of observations, sum_i w_ic n_i, is below ``MIN_OBS_PER_PARAM``
times the number of its own parameters (P coefficients and its sigma): 15
observations for the sales model, 20 for a quadratic. A count of observations,
not of units: a segment of one store with 52 weeks is well estimated, one of
five single observations is not; and a count does not depend on the units of
y. With sigma fixed or common there is no singularity to guard against. The
choice and its measurements (1,500 replications of six ungrouped designs, the
real data and the hard-case suite) are in docs/engine.md.

``guard=None`` returns the highest certified maximum, as other software does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_OBS_PER_PARAM = 5.0
"""Effective observations per own parameter below which a segment makes a maximum spurious."""


@dataclass(frozen=True)
class SetAside:
    """One distinct maximum the guard set aside (higher than the one returned).

    Attributes
    ----------
    loglik : float
    n_starts : int
        Starts that reached it.
    segment_obs : float
        The smallest segment's effective number of observations there.
    sigma : float
        That segment's sigma.
    pi : float
        That segment's (mean) prior probability.
    reason : str
        One line a person reads.
    """

    loglik: float
    n_starts: int
    segment_obs: float
    sigma: float
    pi: float
    reason: str

    def to_dict(self) -> dict[str, float | int | str]:
        """JSON-ready form."""
        return {
            "loglik": self.loglik,
            "n_starts": self.n_starts,
            "segment_obs": self.segment_obs,
            "sigma": self.sigma,
            "pi": self.pi,
            "reason": self.reason,
        }


def min_segment_obs(n_coef: int) -> float:
    """The smallest effective number of observations a segment with its own sigma may hold."""
    return MIN_OBS_PER_PARAM * (n_coef + 1)


def admissible(segment_obs: np.ndarray, n_coef: int, active: bool) -> np.ndarray:
    """Whether each start's maximum passes the guard, shape (R,).

    Parameters
    ----------
    segment_obs : ndarray of shape (R, K)
        sum_i w_ic n_i of every start and segment.
    n_coef : int
        P.
    active : bool
        The guard is on and sigma is estimated; otherwise every start passes.
    """
    if not active:
        return np.ones(len(segment_obs), dtype=bool)
    with np.errstate(invalid="ignore"):
        return np.all(segment_obs >= min_segment_obs(n_coef), axis=1)


def set_aside_maxima(
    logliks: np.ndarray,
    segment_obs: np.ndarray,
    sigma: np.ndarray,
    pi: np.ndarray,
    candidates: np.ndarray,
    above: float,
    n_coef: int,
    resolution: float,
) -> tuple[SetAside, ...]:
    """The distinct maxima among ``candidates`` (set aside) higher than ``above``, best first.

    Parameters
    ----------
    logliks : ndarray of shape (R,)
    segment_obs, sigma, pi : ndarray of shape (R, K)
    candidates : ndarray of int
        Certified starts the guard set aside.
    above : float
        The log-likelihood of the maximum returned.
    n_coef : int
    resolution : float
        Log-likelihoods closer than this are one maximum.
    """
    rows = candidates[logliks[candidates] > above + resolution]
    if not rows.size:
        return ()
    rows = rows[np.argsort(-logliks[rows], kind="stable")]
    found: list[SetAside] = []
    limit = min_segment_obs(n_coef)
    start = 0
    while start < len(rows):
        top = logliks[rows[start]]
        same = rows[start:][logliks[rows[start:]] >= top - resolution]
        r = int(same[0])
        c = int(np.argmin(segment_obs[r]))
        found.append(
            SetAside(
                loglik=float(top),
                n_starts=len(same),
                segment_obs=float(segment_obs[r, c]),
                sigma=float(sigma[r, c]),
                pi=float(pi[r, c]),
                reason=(
                    f"a segment of {segment_obs[r, c]:.3g} effective observations "
                    f"(< {limit:g} = {MIN_OBS_PER_PARAM:g} per own parameter) "
                    f"with sigma {sigma[r, c]:.3g}"
                ),
            )
        )
        start += len(same)
    return tuple(found)
