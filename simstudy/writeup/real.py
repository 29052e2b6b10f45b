"""The real-data part of the report: segment profiles, model comparison and four figures.

Read from the committed ``outputs/results.json`` and ``outputs/real/store_segments.csv``;
recomputed, because they are not stored: every store's own OLS estimate (alpha_i, beta_i)
(:func:`estimator.panel.sufficient_stats`) and the chosen fit's full observed-information
covariance (for the ellipses and the demand bands), whose standard errors must reproduce
the stored ones (:attr:`RealData.se_mismatch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullLocator
from scipy.stats import chi2, norm

from estimator import CRITERIA, Inference, Panel, SufficientStats, load_csv, observed_information_se

from ..harness.files import cell_value, read_json_unit
from . import style as rs
from .format import CRITERION_LABELS, interval, num, pct, sentence
from .tables import Table

LEVEL = 0.95


@dataclass(frozen=True, eq=False)
class RealData:
    """The real-data fit as committed (results.json, its ``model`` of the chosen K, the store
    ``segments``), the data, and what the report recomputes (module docstring); ``se_mismatch``:
    the largest absolute difference of the recomputed standard errors from the stored ones."""

    results: dict[str, Any]
    model: dict[str, Any]
    segments: pd.DataFrame
    panel: Panel
    stats: SufficientStats
    inference: Inference
    se_mismatch: float

    @property
    def k(self) -> int:
        """The chosen number of segments."""
        return int(self.model["K"])

    @property
    def theta(self) -> np.ndarray:
        """Estimates, shape (K, 2), rows (alpha_c, beta_c)."""
        return np.asarray(self.model["theta"], dtype=float).reshape(self.k, -1)

    @property
    def pi(self) -> np.ndarray:
        """Segment shares, shape (K,)."""
        return np.asarray(self.model["pi"], dtype=float)

    @property
    def prices(self) -> np.ndarray:
        """Weekly prices, shape (T,)."""
        return np.exp(self.panel.X[:, 1])


def load_real(results_path: Path, segments_path: Path, data_path: Path) -> RealData:
    """Read the committed real-data outputs and recompute the store OLS and the covariance;
    ValueError (a UnitMismatchError too) when the files do not belong together."""
    results = read_json_unit(results_path)
    k = int(results["chosen_K"])
    model = next(m for m in results["models"] if int(m["K"]) == k)
    segments = pd.read_csv(segments_path)
    segments["store"] = segments["store"].map(cell_value)  # ids quoted as no formulas
    panel = load_csv(data_path)
    if not isinstance(panel, Panel):
        raise ValueError(f"{data_path}: expected a balanced wide panel")
    if (panel.n_stores, panel.n_weeks) != (results["data"]["N"], results["data"]["T"]):
        raise ValueError(f"{results_path} was not fitted to {data_path} (N or T differ)")
    if list(segments["store"]) != list(panel.store_ids):
        raise ValueError(f"{segments_path} does not list the stores of {data_path} in order")
    stats = panel.sufficient_stats()
    theta = np.asarray(model["theta"], dtype=float).reshape(k, -1)
    inference = observed_information_se((theta, np.asarray(model["pi"])), stats, level=LEVEL)
    stored = model["standard_errors"]["observed"]
    mismatch = max(
        float(np.max(np.abs(inference.se_theta[:, 0] - stored["alpha"]["se"]))),
        float(np.max(np.abs(inference.se_theta[:, 1] - stored["beta"]["se"]))),
        float(np.max(np.abs(inference.se_pi - stored["pi"]["se"]))),
    )
    return RealData(results, model, segments, panel, stats, inference, mismatch)


# -- tables -------------------------------------------------------------------


def elasticity_reading(ci_beta: tuple[float, float]) -> str:
    """The demand a price elasticity's interval shows: ``clearly elastic`` (all of it below
    -1), ``clearly inelastic`` (all above -1) or ``undetermined``."""
    low, high = ci_beta
    if high < -1.0:
        return "clearly elastic"
    if low > -1.0:
        return "clearly inelastic"
    return "undetermined"


def profile_rows(real: RealData) -> list[dict[str, Any]]:
    """One dict per segment of the chosen fit (numbers as in results.json)."""
    observed = real.model["standard_errors"]["observed"]
    median_price = float(np.median(real.prices))
    rows = []
    for c in range(real.k):
        assigned = real.segments["segment"] == c + 1
        alpha, beta = real.theta[c]
        rows.append(
            {
                "segment": c + 1,
                "stores": int(assigned.sum()),
                "pi": float(real.pi[c]),
                "pi_ci": observed["pi"]["ci"][c],
                "alpha": float(alpha),
                "alpha_ci": observed["alpha"]["ci"][c],
                "beta": float(beta),
                "beta_ci": observed["beta"]["ci"][c],
                "reading": elasticity_reading(tuple(observed["beta"]["ci"][c])),
                "sales_at_median_price": float(np.exp(alpha + beta * np.log(median_price))),
                "mean_max_posterior": float(real.segments.loc[assigned, "max_posterior"].mean()),
            }
        )
    return rows


def segment_profiles(real: RealData, name: str = "real_segment_profiles") -> Table:
    """Per segment: share, alpha and beta with intervals, demand reading, stores, sales."""
    rows = [
        [
            str(r["segment"]),
            str(r["stores"]),
            f"{num(r['pi'])} {interval(*r['pi_ci'])}",
            f"{num(r['alpha'])} {interval(*r['alpha_ci'])}",
            f"{num(r['beta'])} {interval(*r['beta_ci'])}",
            r["reading"],
            num(r["sales_at_median_price"], 0),
            num(r["mean_max_posterior"]),
        ]
        for r in profile_rows(real)
    ]
    headers = ["segment", "stores assigned", "share pi [95% CI]", "alpha [95% CI]"]
    headers += ["beta [95% CI]", "demand", "median sales at median price"]
    caption = (
        f"Segment profiles, K = {real.k}: share pi_c of stores (95% interval on the logit "
        "scale, observed information), alpha_c and beta_c with 95% Wald intervals, the demand "
        "read from beta's interval (clearly elastic: the whole interval below -1, |beta| > 1; "
        "clearly inelastic: above -1; otherwise undetermined), stores whose most likely "
        "segment it is, median weekly sales exp(alpha_c) p^beta_c at the median price "
        f"({num(float(np.median(real.prices)), 3)}), and the mean highest posterior "
        "probability of the stores assigned to it."
    )
    return Table(name, caption, [*headers, "mean highest posterior"], rows)


# -- figures ------------------------------------------------------------------


def plot_criteria(results: dict[str, Any]) -> Figure:
    """Left: every criterion minus its minimum over K; right: the log-likelihood."""
    models = sorted(results["models"], key=lambda m: m["K"])
    ks = [m["K"] for m in models]
    fig, (ax_crit, ax_ll) = rs.new_figure(1, 2, width=rs.WIDTH_DOUBLE, height=2.8)
    for c in CRITERIA:
        values = np.array([m["criteria"][c] for m in models])
        ax_crit.plot(ks, values - values.min(), label=CRITERION_LABELS[c], **rs.CRITERION_STYLES[c])
    ax_crit.set_yscale("symlog", linthresh=10.0)
    ax_crit.axhline(0.0, color="grey", lw=0.6)
    ax_crit.set_xticks(ks)
    ax_crit.set_xlabel("K (number of segments)")
    ax_crit.set_ylabel("criterion - its minimum over K\n(symmetric log scale, linear below 10)")
    ax_crit.legend(ncol=2)
    ax_crit.set_title("information criteria (lower is better)")
    ax_ll.plot(ks, [m["loglik"] for m in models], marker="o", color="black")
    ax_ll.set_xticks(ks)
    ax_ll.set_xlabel("K (number of segments)")
    ax_ll.set_ylabel("maximised log-likelihood log L")
    ax_ll.set_title("fit")
    k = results["chosen_K"]
    for ax in (ax_crit, ax_ll):
        ax.axvline(k, color="grey", ls=":", lw=1.0)
    return fig


def _ellipse(centre: np.ndarray, cov: np.ndarray, level: float, **kwargs: Any) -> Ellipse:
    """The ``level`` region of a bivariate normal with covariance ``cov`` around ``centre``."""
    values, vectors = np.linalg.eigh(cov)
    scale = np.sqrt(chi2.ppf(level, df=2))
    angle = np.degrees(np.arctan2(vectors[1, -1], vectors[0, -1]))
    width, height = 2 * scale * np.sqrt(values[-1]), 2 * scale * np.sqrt(values[0])
    return Ellipse(tuple(centre), width=width, height=height, angle=angle, **kwargs)


def plot_store_ols(real: RealData) -> Figure:
    """Store OLS estimates coloured by segment, with the 95% regions of a segment's stores
    (b_i ~ N(theta_c, (X'X)^-1)); right: the centres alone, every confidence ellipse whole."""
    labels = real.segments["segment"].to_numpy() - 1
    ols, cov = real.stats.ols, real.inference.full_cov
    store_cov = np.linalg.inv(real.stats.gram)
    fig, (ax_all, ax_zoom) = rs.new_figure(1, 2, width=rs.WIDTH_DOUBLE, height=3.3)
    for c in range(real.k):
        colour, mine, block = rs.segment_colour(c), labels == c, slice(2 * c, 2 * c + 2)
        ax_all.scatter(*ols[mine].T, s=7, color=colour, alpha=0.55, lw=0,
                       label=f"segment {c + 1} ({mine.sum()} stores)")  # fmt: skip
        ax_all.add_patch(
            _ellipse(real.theta[c], store_cov, LEVEL, fill=False, ec=colour, ls="--", lw=1.0)
        )
        for ax in (ax_all, ax_zoom):
            ax.plot(*real.theta[c], marker="X", ms=8, color=colour, mec="black", mew=0.7)
            ax.add_patch(_ellipse(real.theta[c], cov[block, block], LEVEL, fc=colour,
                                  ec="black", lw=0.8, alpha=0.5))  # fmt: skip
    ax_zoom.autoscale_view()
    ax_zoom.margins(0.15)
    ax_all.set_xlabel("alpha_i: intercept of the store's own OLS\n(log sales at price 1)")
    ax_all.set_ylabel("beta_i: price coefficient of the store's OLS\n(elasticity of sales)")
    ax_zoom.set_xlabel("alpha_c (log sales at price 1)")
    ax_zoom.set_ylabel("beta_c (elasticity)")
    ax_all.set_title("all stores; dashed: 95% region of a segment's stores")
    ax_zoom.set_title("segment centres, 95% confidence ellipses")
    ax_all.legend(loc="lower left", markerscale=2)
    return fig


def plot_demand(real: RealData) -> Figure:
    """Store-week sales against price per segment, with the fitted median demand curve and band."""
    labels = real.segments["segment"].to_numpy() - 1
    prices = real.prices
    grid = np.geomspace(prices.min(), prices.max(), 100)
    design = np.column_stack([np.ones_like(grid), np.log(grid)])
    cov = real.inference.full_cov
    z = norm.ppf(0.5 + LEVEL / 2)
    sales = np.exp(real.panel.y)
    fig, axes = rs.new_figure(1, real.k, width=rs.WIDTH_DOUBLE, height=2.9, sharey=True)
    axes = np.atleast_1d(axes)
    for c, ax in enumerate(axes):
        colour = rs.segment_colour(c)
        mine = labels == c
        # a summary per week, not every store-week: 255 stores x 52 weeks read as a block
        low, mid, high = np.quantile(sales[mine], [0.1, 0.5, 0.9], axis=0)
        ax.errorbar(prices, mid, yerr=[mid - low, high - mid], fmt="o", ms=2.5, color=colour,
                    elinewidth=0.6, alpha=0.8, label="stores: median, 10-90%")  # fmt: skip
        for other in range(real.k):
            if other != c:
                ax.plot(grid, np.exp(design @ real.theta[other]), color="grey", lw=0.8, ls="--")
        block = slice(2 * c, 2 * c + 2)
        centre = design @ real.theta[c]
        half = z * np.sqrt(np.einsum("gp,pq,gq->g", design, cov[block, block], design))
        ax.fill_between(
            grid, np.exp(centre - half), np.exp(centre + half), color="black", alpha=0.25, lw=0
        )
        ax.plot(grid, np.exp(centre), color="black", lw=1.6)
        _price_axis(ax, prices)
        ax.set_yscale("log")
        alpha, beta = real.theta[c]
        ax.set_title(
            f"segment {c + 1}: {mine.sum()} stores\nalpha = {alpha:.3f}, beta = {beta:.3f}"
        )
        ax.set_xlabel("weekly price p_t (log scale)")
    axes[0].set_ylabel("weekly sales S_it of a store (units, log scale)")
    axes[0].legend(loc="lower left")
    return fig


NICE_TICKS = (1, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 50, 60, 80, 100)


def _price_axis(ax: Any, prices: np.ndarray) -> None:
    """Log-scaled price axis with plain tick labels inside the observed range."""
    ax.set_xscale("log")
    lo, hi = prices.min(), prices.max()
    scale = 10.0 ** np.floor(np.log10(lo))
    ticks = [t * scale for t in NICE_TICKS if lo <= t * scale <= hi * 1.001]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_locator(NullLocator())


def plot_max_posterior(real: RealData) -> Figure:
    """Histogram of every store's highest posterior probability, stacked by its segment."""
    labels = real.segments["segment"].to_numpy() - 1
    top = real.segments["max_posterior"].to_numpy()
    bins = np.linspace(1.0 / real.k, 1.0, 29)
    fig, ax = rs.new_figure(width=rs.WIDTH_SINGLE, height=2.6)
    segments = range(real.k)
    ax.hist([top[labels == c] for c in segments], bins=bins, stacked=True, edgecolor="white",
            color=[rs.segment_colour(c) for c in segments], linewidth=0.3,
            label=[f"segment {c + 1}" for c in segments])  # fmt: skip
    ax.axvline(0.9, color="grey", ls=":", lw=1.0)
    ax.set_xlabel("highest posterior probability max_c w_ic of a store")
    ax.set_yscale("log")
    ax.set_ylabel("number of stores (log scale)")
    ax.legend(loc="upper left")
    return fig


# -- readings -----------------------------------------------------------------


def comparison_reading(results: dict[str, Any]) -> str:
    """One paragraph on the choice of K, quoting the criteria."""
    models = {int(m["K"]): m for m in results["models"]}
    k = int(results["chosen_K"])
    bic = {kk: m["bic"] for kk, m in models.items()}
    runner_up = min((kk for kk in bic if kk != k), key=bic.get)
    agree = [CRITERION_LABELS[c] for c, v in results["chosen_by"].items() if v == k]
    differ = [
        f"{CRITERION_LABELS[c]} chooses K = {v}" for c, v in results["chosen_by"].items() if v != k
    ]
    ll_gain = models[k]["loglik"] - models[k - 1]["loglik"] if k - 1 in models else None
    text = (
        f"BIC (n = NT) chooses K = {k}: its BIC {bic[k]:.2f} is {bic[runner_up] - bic[k]:.2f} "
        f"below the next best, K = {runner_up} ({bic[runner_up]:.2f}). "
        f"The same K is chosen by {', '.join(agree)}"
        + (f"; {', '.join(differ)}" if differ else "")
        + ". "
    )
    if ll_gain is not None:
        text += f"Going from K = {k - 1} to K = {k} raises log L by {ll_gain:.2f}"
        if k + 1 in models:
            text += (
                f", going on to K = {k + 1} by only "
                f"{models[k + 1]['loglik'] - models[k]['loglik']:.3f}"
            )
        text += ". "
    text += (
        f"The best K = {k} start was reached by {models[k]['restarts_at_best']} of "
        f"{models[k]['n_init']} starts."
    )
    return text


def profile_reading(real: RealData) -> str:
    """One paragraph on the segments, quoting the profile table."""
    rows = profile_rows(real)
    parts = []
    for r in rows:
        parts.append(
            f"segment {r['segment']} holds {pct(r['pi'])} of stores "
            f"(95% CI {pct(r['pi_ci'][0])} to {pct(r['pi_ci'][1])}; {r['stores']} stores "
            f"assigned) with beta = {r['beta']:.3f} {interval(*r['beta_ci'])}, {r['reading']}"
        )
    top = real.segments["max_posterior"].to_numpy()
    largest = max(rows, key=lambda r: r["pi"])
    most_elastic = min(rows, key=lambda r: r["beta"])
    return (
        sentence("; ".join(parts))
        + f". The largest segment is {largest['segment']}; the most price-sensitive is "
        f"segment {most_elastic['segment']}, whose sales fall by about "
        f"{100 * (1 - 1.01 ** most_elastic['beta']):.2f}% for a 1% price rise "
        f"(against {100 * (1 - 1.01 ** largest['beta']):.2f}% in segment {largest['segment']}). "
        f"Stores are assigned with a mean highest posterior of {top.mean():.3f}; "
        f"{pct(np.mean(top > 0.9))} of stores have a highest posterior above 0.9 and "
        f"{pct(np.mean(top < 0.7))} below 0.7."
    )
