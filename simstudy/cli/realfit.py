"""The real-data fit (``python -m experiments.fit_real``; :func:`run_fit` is the whole command).

Every K with observed-information and naive standard errors (docs/inference.md), a bootstrap
on request; sigma fixed, common or per segment, missing weeks, long files, formulas and
concomitants (docs/extensions.md); results.json, the store segments and the tables.

A sales panel is read, fitted and written with numpy and scipy alone; a formula or a
concomitant imports pandas (and formulaic), the BLRT's figure matplotlib.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

import estimator
from estimator import (
    CRITERIA,
    DEFAULT_GUARD,
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    ExcludedStoresWarning,
    FitOptions,
    Inference,
    LongPanel,
    ModelSelection,
    Panel,
    PlausibilityWarning,
    bootstrap_se,
    detect_format,
    fit_k_range,
    load_panel,
    naive_se,
    observed_information_se,
)

from ..harness.files import cell_text, software_versions, write_json_unit
from ..studies.blrt import blrt_on_fits
from ..studies.paths import REAL_FIT_SEED
from ..writeup.blrt import blrt_table, plot_blrt
from ..writeup.real_tables import estimates, model_comparison, model_of
from ..writeup.tables import render
from .args import Heartbeat

if TYPE_CHECKING:
    from estimator import RegressionData

SCHEMA_VERSION = 1
RESERVED_NAMES = frozenset(
    "K theta pi sigma sigma_mode sigma_floored loglik n_params converged degenerate iterations "
    "n_init restarts_at_best degenerate_starts criteria standard_errors method level valid "
    "interval parameters cov n_stores condition_number newton_step_in_se n_boot n_used "
    "n_degenerate n_not_converged newton_steps gradient_norm newton_decrement "
    "hessian_max_eigenvalue distinct_maxima duplicate_segments".split()
) | set(CRITERIA)
"""Keys of a results.json model entry (and of its standard errors) a coefficient may not take."""


def load_data(
    path: Path, data_format: str = "auto", missing: str = "error", extra: list[str] | None = None
) -> tuple[Panel | LongPanel, str, list[str]]:
    """The panel the options describe (``--format``, ``--missing``, ``--extra``), its format
    ("wide" or "long", detected with "auto") and the messages of stores excluded for too
    few weeks and of data that look wrong. ValueError for every loading error and for
    coefficient names that would clash in results.json."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExcludedStoresWarning)
        data_format = detect_format(path) if data_format == "auto" else data_format
        panel = load_panel(path, data_format, missing, extra)
    names = list(panel.coef_names)
    clash = sorted(set(names) & RESERVED_NAMES)
    twice = sorted({name for name in names if names.count(name) > 1})
    if clash or twice:
        raise ValueError(
            f"{path}: regressor column name(s) {clash or twice} "
            + ("are reserved in results.json" if clash else "appear twice")
            + "; rename the column"
        )
    shown = (ExcludedStoresWarning, PlausibilityWarning)
    messages = [str(w.message) for w in caught if issubclass(w.category, shown)]
    return panel, data_format, messages


@dataclass(frozen=True)
class ModelSpec:
    """The model beyond the sales default: a formula on a table (``--formula``, ``--group``),
    unit covariates of the prior (``--concomitant``, ``--unit-data``), the guard."""

    formula: str | None = None
    group: str | None = None
    concomitant: str | None = None
    unit_data: Path | None = None
    guard: str | None = DEFAULT_GUARD


Data = Union[Panel, LongPanel, "RegressionData"]  # noqa: UP007 - the formula front is lazy


def load_model_data(
    path: Path, spec: ModelSpec, data_format: str, missing: str, extra: list[str] | None
) -> tuple[Data, str, list[str]]:
    """The data of the model: a sales panel (:func:`load_data`) with the stores' covariates
    when ``spec`` has a concomitant, or a formula's table (format "table")."""
    if spec.formula is None:
        if spec.group is not None:
            raise ValueError("--group goes with --formula (sales panels are grouped by store)")
        panel, data_format, messages = load_data(path, data_format, missing, extra)
        if spec.concomitant is not None:
            source = path if data_format == "long" else None
            z, names, _ = estimator.unit_covariates(  # imports pandas, on first use
                spec.concomitant, panel.store_ids, "store", source, spec.unit_data
            )
            panel = replace(panel, covariates=z, covariate_names=names)
        return panel, data_format, messages
    data = estimator.regression_data(
        path, spec.formula, spec.group, spec.concomitant, spec.unit_data
    )
    if clash := sorted(set(data.coef_names) & RESERVED_NAMES):
        raise ValueError(f"formula {spec.formula!r}: coefficient(s) {clash} are reserved names")
    return data, "table", []


def standard_errors(
    panel: Data,
    selection: ModelSelection,
    n_boot: int = 0,
    seed: int | None = None,
    n_jobs: int = 1,
) -> dict[int, dict[str, Inference]]:
    """``{K: {"observed": ..., "naive": ...}}`` for every K, and for the chosen K with
    ``n_boot`` > 0 also ``"bootstrap"`` (draws from ``seed``, ``n_jobs`` workers)."""
    stats = panel.sufficient_stats()
    out: dict[int, dict[str, Inference]] = {}
    for k in selection.k_range:
        fit = selection.fits[k]
        out[k] = {"observed": observed_information_se(fit, stats), "naive": naive_se(fit, stats)}
        if n_boot and k == selection.chosen_k:
            out[k]["bootstrap"] = bootstrap_se(fit, stats, n_boot, seed=seed, n_jobs=n_jobs)
    return out


def data_summary(panel: Data, data_path: Path, detailed: bool = False) -> dict[str, Any]:
    """The results.json ``data`` entry: file, hash, units N, observations n (BIC's n), T, a
    formula's description, and with ``detailed`` the store-weeks used and stores excluded."""
    with open(data_path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    data: dict[str, Any] = {"file": data_path.name, "sha256": digest}
    if not is_sales(panel):
        return data | {"N": panel.n_units, "observations": panel.n_obs, **panel.describe()}
    data |= {"N": panel.n_stores, "T": panel.n_weeks,
             "observations": int(panel.sufficient_stats().n_total)}  # fmt: skip
    if panel.covariates is not None:
        data["covariates"] = list(panel.covariate_names)
    if detailed or isinstance(panel, LongPanel):
        data["store_weeks"] = int(panel.y.size)
        excluded = getattr(panel, "excluded", ())
        data["excluded_stores"] = [{"store": name, "reason": reason} for name, reason in excluded]
    return data


def results_document(
    panel: Panel | LongPanel,
    selection: ModelSelection,
    settings: dict[str, Any],
    data_path: Path,
    inference: dict[int, dict[str, Inference]] | None = None,
) -> dict[str, Any]:
    """The results.json document (schema in the README; standard errors in docs/inference.md,
    sigma, missing weeks, long files and extra regressors in docs/extensions.md)."""
    models = []
    for k in selection.k_range:
        entry = selection.fits[k].to_dict()
        entry.update(selection.criteria[k])
        entry["criteria"] = dict(selection.criteria[k])
        if inference is not None:
            entry["standard_errors"] = {
                method: result.to_dict() for method, result in inference[k].items()
            }
        models.append(entry)
    return {
        "schema_version": SCHEMA_VERSION,
        "data": data_summary(
            panel, data_path, settings.get("missing") == "drop" or settings.get("format") == "long"
        ),
        "settings": settings,
        "models": models,
        "chosen_K": selection.chosen_k,
        "chosen_by": selection.chosen_by(),
        "software": software_versions(),
    }


def store_segments_csv(panel: Data, selection: ModelSelection) -> str:
    """One row per unit: posterior of every segment under the chosen K, and the most likely one.

    The unit column is ``store`` for sales panels, the group column (or ``row``) for tables.
    """
    fit = selection.fits[selection.chosen_k]
    unit = "store" if is_sales(panel) else (panel.group or "row")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [unit, *(f"posterior_{c + 1}" for c in range(fit.n_components)), "segment", "max_posterior"]
    )
    for store, posteriors, label in zip(panel.store_ids, fit.posteriors, fit.labels, strict=True):
        writer.writerow(
            [cell_text(store), *(f"{p:.10g}" for p in posteriors), int(label) + 1,
             f"{posteriors.max():.10g}"]
        )  # fmt: skip
    return buffer.getvalue()


def is_sales(data: Data) -> bool:
    """Whether ``data`` is a sales panel (wide or long), not a formula's table."""
    return isinstance(data, Panel | LongPanel)


def describe(panel: Data, path: Path) -> str:
    """One line about the data fitted (the balanced wide panel's line is unchanged)."""
    if not is_sales(panel):
        return (
            f"{path}: {panel.formula}, {panel.n_units} units"
            + (f" (group {panel.group})" if panel.group else " (every row its own)")
            + f", {panel.n_obs} observations"
            + (f"; concomitant {panel.concomitant}" if panel.concomitant else "")
        )
    if not isinstance(panel, LongPanel):
        return f"{path}: N = {panel.n_stores} stores, T = {panel.n_weeks} weeks"
    return (
        f"{path}: N = {panel.n_stores} stores ({len(panel.excluded)} excluded), "
        f"{len(panel.y)} store-weeks over T = {panel.n_weeks} weeks; "
        f"regressors: {', '.join(panel.coef_names)}"
    )


SIGMA_NOTES = {
    "fixed": "",
    "common": "; sigma estimated, one for all segments",
    "segment": "; sigma estimated per segment",
}


def run_fit(
    data: Path,
    out: Path,
    k: list[int],
    n_init: int = DEFAULT_N_INIT,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: int = REAL_FIT_SEED,
    init: str = DEFAULT_INIT,
    bootstrap: int = 0,
    blrt: int = 0,
    n_jobs: int = 1,
    sigma: str = "fixed",
    missing: str = "error",
    data_format: str = "auto",
    extra: list[str] | None = None,
    model: ModelSpec = ModelSpec(),
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fit the panel for every K, write OUT/results.json and OUT/real/store_segments.csv as
    one unit (and the BLRT's figure, OUT/real/blrt_lr); return the results.json document.

    Parameters are the command's options (``--help``); ``echo`` receives the printed report.
    ValueError: a loading error, or ``blrt`` without matplotlib for its figure, before
    anything is fitted or written.
    """
    if blrt and importlib.util.find_spec("matplotlib") is None:
        raise ValueError(
            "--blrt draws the figure real/blrt_lr, which needs matplotlib; install the project: "
            "pip install -e ."
        )
    panel, data_format, excluded_messages = load_model_data(
        data, model, data_format, missing, extra
    )
    for message in excluded_messages:
        echo(f"warning: {message}")
    options = FitOptions(n_init=n_init, tol=tol, max_iter=max_iter, seed=seed, init=init,
                         sigma=sigma, guard=model.guard)  # fmt: skip
    sales = is_sales(panel)
    settings = {
        "k_range": sorted(set(k)), "tol": tol, "max_iter": max_iter, "n_init": n_init,
        "seed": seed, "init": init, "bootstrap": bootstrap, "blrt": blrt, "sigma": sigma,
        "guard": model.guard, "missing": missing, "format": data_format,
        "extra_regressors": list(panel.coef_names[2:]) if sales else [],
        "formula": model.formula, "group": model.group, "concomitant": model.concomitant,
        "unit_data": None if model.unit_data is None else Path(model.unit_data).name,
    }  # fmt: skip
    stats = panel.sufficient_stats()
    covariates = {"covariates": panel.covariates, "covariate_names": panel.covariate_names}
    with Heartbeat(f"fitting K = {sorted(set(k))}, {n_init} starts each"):
        selection = fit_k_range(stats, k, options, coef_names=panel.coef_names, **covariates)
    with Heartbeat("standard errors" + (f", {bootstrap} bootstrap refits" if bootstrap else "")):
        inference = standard_errors(panel, selection, bootstrap, seed, n_jobs)
    document = results_document(panel, selection, settings, data, inference)
    test = None
    if blrt:
        with Heartbeat(f"bootstrap likelihood-ratio tests, B = {blrt}"):
            test = blrt_on_fits(stats, selection, blrt, seed, n_jobs, options=options)
        document["blrt"] = test.to_dict()
    segments = store_segments_csv(panel, selection)
    write_json_unit(out / "results.json", document, {"real/store_segments.csv": segments})
    echo(describe(panel, data))
    echo(render(model_comparison(document), "text"))
    echo(
        f"\nchosen K = {selection.chosen_k} (lowest BIC); estimates, standard errors "
        f"(observed information; naive = posteriors taken as known) and 95% intervals"
        f"{SIGMA_NOTES[sigma]}:"
    )
    echo(render(estimates(model_of(document, selection.chosen_k)), "text"))
    if test is not None:
        plot_blrt(test, out / "real" / "blrt_lr")
        table = blrt_table(test)
        echo(f"\n{table.caption}\n{render(table, 'text')}")
    return document
