"""Study configurations: JSON configs, the design grid, and truths derived from a base truth.

:func:`expand_grid` makes every combination of the levels (SimDesign's createDesign);
:func:`conditions` turns each into a :class:`Condition`. Truths for other K
(:func:`derive_truths`) keep the pi-weighted mean: the two closest segments merge, or the
most common one splits in alpha; distance is sqrt((a - b)' X'X (a - b)) at the real prices.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from estimator import canonical_order, check_blrt_settings, segment_distances

from ..harness.files import read_json
from ..harness.schema import ConfigError
from .generate import REAL_DATA, Irregularities, Truth, real_prices
from .schema import check_schema

FACTORS: tuple[str, ...] = ("N", "T", "K", "separation", "sigma", "prices")
"""Factors a config may vary, in the order conditions are labelled."""
FACTOR_DEFAULTS: dict[str, Any] = {"T": 52, "separation": 1.0, "sigma": 1.0, "prices": "real"}
IRREGULAR_FACTORS: tuple[str, ...] = ("missing_rate", "price_noise")
"""Optional factors of irregular panels (missing weeks, store-specific prices); a condition
carries them only when the config lists them, so the conditions of other configs are unchanged."""
FIT_DEFAULTS: dict[str, Any] = {
    "n_init": 10,
    "tol": 1e-8,
    "max_iter": 500,
    "init": "mixed",
    "sigma": "fixed",
}
"""EM settings of every fit; ``sigma`` is the model's noise: fixed at 1, or estimated
("common" or per "segment", :mod:`estimator.engine`)."""


def fit_options(fit: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of an estimator fit in a condition's ``fit`` (those of FIT_DEFAULTS)."""
    return {key: fit[key] for key in FIT_DEFAULTS}


BLRT_DEFAULTS: dict[str, Any] = {"level": 0.05, "k_min": 1, "k_max": None, "sequential": False}
"""Defaults of a config's optional ``"blrt"`` entry, whose ``n_boot`` (samples per test) is
required: the level, the first K0 tested, the largest K, Besag-Clifford early stopping."""


# -- truths -------------------------------------------------------------------


def pooled_mean(theta: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """The pi-weighted mean of the segment coefficients theta (K, P), shape (P,)."""
    return np.asarray(pi, dtype=float) @ np.asarray(theta, dtype=float)


def separate(theta: np.ndarray, pi: np.ndarray, scale: float) -> np.ndarray:
    """theta_c -> m + s (theta_c - m), s = ``scale`` > 0, m the pi-weighted mean; shape (K, P)."""
    if not scale > 0:
        raise ValueError(f"separation must be positive, got {scale}")
    m = pooled_mean(theta, pi)
    return m + scale * (np.asarray(theta, dtype=float) - m)


def merge_closest(
    theta: np.ndarray, pi: np.ndarray, gram: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Merge the two closest segments (distance under ``gram``, (P, P)) into their
    pi-weighted mean: theta (K - 1, P) and pi (K - 1,)."""
    if len(pi) < 2:
        raise ValueError("a single segment cannot be merged")
    dist = segment_distances(theta, gram)
    dist[np.diag_indices_from(dist)] = np.inf
    a, b = np.unravel_index(np.argmin(dist), dist.shape)
    weight = pi[a] + pi[b]
    merged = (pi[a] * theta[a] + pi[b] * theta[b]) / weight
    keep = [c for c in range(len(pi)) if c not in (a, b)]
    return np.vstack([theta[keep], merged]), np.append(pi[keep], weight)


def split_largest(
    theta: np.ndarray, pi: np.ndarray, gram: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Split the most common segment into two halves differing only in alpha, as far apart
    (under ``gram``) as the closest two of the K >= 2 segments: theta (K + 1, P), pi (K + 1,)."""
    if len(pi) < 2:
        raise ValueError("splitting needs at least two segments (to set the split's distance)")
    dist = segment_distances(theta, gram)
    smallest = dist[np.triu_indices_from(dist, k=1)].min()
    c = int(np.argmax(pi))
    delta = smallest / (2.0 * np.sqrt(gram[0, 0]))
    shift = np.zeros(theta.shape[1])
    shift[0] = delta
    keep = [d for d in range(len(pi)) if d != c]
    halves = np.vstack([theta[c] - shift, theta[c] + shift])
    return np.vstack([theta[keep], halves]), np.append(pi[keep], [pi[c] / 2, pi[c] / 2])


def derive_truths(
    theta: np.ndarray, pi: np.ndarray, gram: np.ndarray, k_values: Sequence[int]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per K of ``k_values``: theta (K, P) and pi (K,) in canonical order, merged or split
    from the base truth theta (K0, P), pi (K0,) (module docstring; distance under ``gram``)."""
    theta = np.asarray(theta, dtype=float)
    pi = np.asarray(pi, dtype=float)
    out = {}
    for k in k_values:
        t, p = theta, pi
        while len(p) > k:
            t, p = merge_closest(t, p, gram)
        while len(p) < k:
            t, p = split_largest(t, p, gram)
        order = canonical_order(t)
        out[int(k)] = (t[order], p[order])
    return out


# -- grid and conditions ------------------------------------------------------


def expand_grid(factors: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the levels of ``factors`` (name to levels), one dict each, the
    last factor varying fastest (as SimDesign's createDesign)."""
    names = list(factors)
    for name in names:
        if isinstance(factors[name], str | bytes) or not len(factors[name]):
            raise ValueError(f"factor {name!r} needs a non-empty list of levels")
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*factors.values())]


@dataclass(frozen=True, eq=False)
class Condition:
    """One cell of the design grid with all a replication needs: position ``id``, ``factors``,
    the ``truth`` (canonical order, separation applied), the K fitted, the ``fit`` settings,
    the CSV of the real prices and any extra regressors (name, probability)."""

    id: int
    factors: dict[str, Any]
    truth: Truth
    k_range: tuple[int, ...]
    fit: dict[str, Any] = field(default_factory=lambda: dict(FIT_DEFAULTS))
    price_data: str = str(REAL_DATA)
    extra_regressors: tuple[tuple[str, float], ...] = ()

    @property
    def coef_names(self) -> tuple[str, ...]:
        """Names of the per-segment coefficients: alpha, beta, then the extra regressors."""
        return ("alpha", "beta", *(name for name, _ in self.extra_regressors))

    @property
    def irregularities(self) -> Irregularities | None:
        """How the panel departs from a balanced common-price one; None when it does not."""
        missing = float(self.factors.get("missing_rate", 0.0))
        noise = float(self.factors.get("price_noise", 0.0))
        if missing == 0 and noise == 0 and not self.extra_regressors:
            return None
        return Irregularities(missing, noise, self.extra_regressors)

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``N=300 T=52 K=3 sep=1 sigma=1``."""
        short = {"separation": "sep"}
        parts = []
        for name in (*FACTORS, *IRREGULAR_FACTORS):
            if name not in self.factors:
                continue
            value = self.factors[name]
            if name == "prices":
                if value == "real":
                    continue
                value = f"lognormal({value['meanlog']:g},{value['sdlog']:g})"
            elif isinstance(value, float):
                value = f"{value:g}"
            elif isinstance(value, list):
                value = "/".join(f"{v:g}" for v in value)
            parts.append(f"{short.get(name, name)}={value}")
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the checkpoint manifest compares these)."""
        return {
            "id": self.id,
            "label": self.label,
            "factors": self.factors,
            "truth": self.truth.to_dict(),
            "k_range": list(self.k_range),
            "fit": self.fit,
            "price_data": self.price_data,
        } | ({"extra_regressors": dict(self.extra_regressors)} if self.extra_regressors else {})


def load_config(path: str | Path) -> dict[str, Any]:
    """The study config at ``path`` (docs/simstudy.md), checked, defaults filled in; a
    :class:`ConfigError` is one line naming the file and the line or key path at fault."""
    try:
        config = read_json(path)
    except ValueError as err:
        raise ConfigError(str(err)) from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config: {err}") from err
    return check_config(config, str(path))


def check_config(config: dict[str, Any], where: str = "config") -> dict[str, Any]:
    """Validate a config dict and fill in defaults (:func:`load_config`): the schema, then a
    truth for every true K, true K in ``k_range``, T within the real prices, one coefficient
    per regressor. Raises ConfigError ``"{where}: {key path}: {what is wrong}"``."""
    try:
        check_schema(config)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    out = dict(config)
    out["fit"] = {**FIT_DEFAULTS, **config.get("fit", {})}
    out["k_range"] = sorted({int(k) for k in config["k_range"]})
    if "blrt" in config:  # the analysis of a replication reads it with the fit settings
        out["fit"]["blrt"] = check_blrt(config["blrt"], out["k_range"], where)
    out.setdefault("price_data", str(REAL_DATA))
    factors = config["factors"]
    width = 2 + len(config.get("extra_regressors", {}))
    truths = {"truth": config["truth"]} | {
        f"truths_by_k.{k}": t for k, t in config.get("truths_by_k", {}).items()
    }
    for key, truth in truths.items():
        if len(truth["theta"][0]) != width:
            raise ConfigError(
                f"{where}: {key}.theta: segments need {width} coefficients (alpha, beta"
                f"{', one per extra regressor' if width > 2 else ''}), "
                f"got {len(truth['theta'][0])}"
            )
    if "real" in factors.get("prices", ["real"]):
        try:
            weeks = real_prices(out["price_data"]).size
        except (OSError, ValueError) as err:
            raise ConfigError(f"{where}: price_data: {err}") from None
        too_long = [t for t in factors.get("T", [FACTOR_DEFAULTS["T"]]) if int(t) > weeks]
        if too_long:
            raise ConfigError(
                f"{where}: factors.T: {too_long} but the real price series has {weeks} weeks"
            )
    base_k = len(config["truth"]["pi"])
    true_ks = factors.get("K", [base_k])
    for i, sigma in enumerate(factors.get("sigma", [])):
        if isinstance(sigma, list) and any(len(sigma) != int(k) for k in true_ks):
            raise ConfigError(
                f"{where}: factors.sigma[{i}]: {len(sigma)} standard deviations (one per "
                f"segment) but the true K is {true_ks}"
            )
    for k in true_ks:
        _truth_for_k(out, int(k), where)
        if int(k) not in out["k_range"]:
            raise ConfigError(
                f"{where}: factors.K: true K = {k} is not in k_range {out['k_range']}"
            )
    return out


def check_blrt(blrt: Mapping[str, Any], k_range: Sequence[int], where: str) -> dict[str, Any]:
    """A config's ``"blrt"`` entry with :data:`BLRT_DEFAULTS` (``k_max``: the largest of
    ``k_range``), checked against ``k_range`` and :func:`estimator.check_blrt_settings`."""
    out = {**BLRT_DEFAULTS, **blrt}
    if out["k_max"] is None:
        out["k_max"] = max(k_range)
    if not (min(k_range) <= int(out["k_min"]) and int(out["k_max"]) <= max(k_range)):
        raise ValueError(
            f"{where}: 'blrt' k_min = {out['k_min']} and k_max = {out['k_max']} must lie in "
            f"k_range {list(k_range)} (the test reuses the replication's fits)"
        )
    try:
        check_blrt_settings(int(out["k_min"]), int(out["k_max"]), int(out["n_boot"]), out["level"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: 'blrt': {err}") from err
    return out


def _truth_for_k(config: Mapping[str, Any], k: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    entry = config["truth"] if len(config["truth"]["pi"]) == k else None
    entry = config.get("truths_by_k", {}).get(str(k), entry)
    if entry is None:
        raise ConfigError(
            f"{where}: factors.K: no truth with K = {k} segments (add it to truths_by_k)"
        )
    theta = np.asarray(entry["theta"], dtype=float).reshape(k, -1)
    return theta, np.asarray(entry["pi"], dtype=float)


def conditions(config: Mapping[str, Any]) -> list[Condition]:
    """The conditions of a checked config (:func:`load_config`): its design grid with resolved
    truths, in grid order (:func:`expand_grid` over :data:`FACTORS`)."""
    base_k = len(config["truth"]["pi"])
    levels = {
        name: config["factors"].get(name, [FACTOR_DEFAULTS.get(name, base_k)]) for name in FACTORS
    } | {name: config["factors"][name] for name in IRREGULAR_FACTORS if name in config["factors"]}
    extras = tuple((str(n), float(p)) for n, p in config.get("extra_regressors", {}).items())
    out = []
    for index, factors in enumerate(expand_grid(levels)):
        factors |= {key: int(factors[key]) for key in ("N", "T", "K")}
        theta, pi = _truth_for_k(config, factors["K"], "config")
        theta = separate(theta, pi, float(factors["separation"]))
        order = canonical_order(theta)
        sigma = factors["sigma"]
        sigma = np.asarray(sigma, dtype=float)[order] if isinstance(sigma, list) else float(sigma)
        truth = Truth(theta[order], pi[order], sigma)
        out.append(
            Condition(index, factors, truth, tuple(config["k_range"]), dict(config["fit"]),
                      str(config["price_data"]), extras)
        )  # fmt: skip
    return out
