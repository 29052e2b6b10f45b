"""The bootstrap likelihood-ratio test: p-value, seeding, bootstrap panels' design, decisions."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimator import fit_k_range, fit_mixture, sufficient_stats
from estimator.blrt import bootstrap_lrt, bootstrap_p_value, draw_bootstrap_stats, stopping_count
from estimator.longpanel import long_from_arrays
from estimator.selection import information_criteria
from experiments import fit_real, selection
from simstudy.studies.config import check_config, conditions, load_config
from simstudy.writeup.doc import ReportDoc
from simstudy.writeup.report import Sources, blrt_part, real_part

PRICES = np.exp(np.linspace(0.4, 1.4, 20))
X = np.column_stack([np.ones_like(PRICES), np.log(PRICES)])
FAST = {"n_init": 3, "tol": 1e-8, "max_iter": 1000}


def panel_stats(theta: np.ndarray, pi: np.ndarray, n_stores: int, seed: int):
    """Sufficient statistics of a balanced panel with unit noise and the PRICES design."""
    rng = np.random.default_rng(seed)
    segment = rng.choice(len(pi), size=n_stores, p=pi)
    y = theta[segment] @ X.T + rng.standard_normal((n_stores, len(PRICES)))
    return sufficient_stats(y, X)


def test_p_value_formula():
    lr_boot = np.array([0.5, 3.0, 1.0, 7.0])
    assert bootstrap_p_value(2.0, lr_boot) == (1 + 2) / 5
    assert bootstrap_p_value(3.0, lr_boot) == (1 + 2) / 5  # ties count as exceeding
    assert bootstrap_p_value(8.0, lr_boot) == 1 / 5
    assert bootstrap_p_value(-1.0, lr_boot) == 1.0


def test_stopping_count_makes_an_early_stop_a_certain_non_rejection():
    for n_boot, level in [(99, 0.05), (19, 0.05), (97, 0.05), (199, 0.01), (39, 0.1)]:
        h = stopping_count(n_boot, level)
        assert h / n_boot > level  # the sequential p-value h / l, l <= B
        assert (1 + h) / (n_boot + 1) > level  # the full-sample p-value can only be larger
        assert (h - 1) / n_boot <= level  # the smallest such count


def test_sabic_formula():
    crit = information_criteria(-100.0, 5, 1040.0, 20, 0.0)
    assert crit["sabic"] == pytest.approx(5 * np.log(1042.0 / 24.0) + 200.0)
    assert crit["sabic_n"] == pytest.approx(5 * np.log(22.0 / 24.0) + 200.0)


def test_bootstrap_panels_keep_the_design_of_an_unbalanced_panel():
    """Missing weeks and an extra regressor: every store keeps its Gram matrix and its weeks."""
    rng = np.random.default_rng(3)
    n_stores, n_weeks = 60, 15
    store = np.repeat(np.arange(n_stores), n_weeks)
    week = np.tile(np.arange(n_weeks), n_stores)
    keep = rng.random(store.size) > 0.25
    extra = rng.normal(0.0, 1.0, store.size)  # store-specific, like a temperature
    Xl = np.column_stack([np.ones(store.size), rng.normal(1.0, 0.3, store.size), extra])
    truth = np.array([[1.0, -1.0, 0.5], [4.0, -2.0, 1.0]])
    y = np.einsum("mp,mp->m", Xl, truth[store % 2]) + rng.standard_normal(store.size)
    panel = long_from_arrays(store[keep], week[keep], y[keep], Xl[keep])
    stats = panel.sufficient_stats()
    fit = fit_mixture(stats, 2, seed=1, sigma="segment", **FAST)
    boot = draw_bootstrap_stats(fit, stats, 5)
    assert boot.gram.shape == (n_stores, 3, 3)
    np.testing.assert_array_equal(boot.gram, stats.gram)
    np.testing.assert_array_equal(boot.n_obs, stats.n_obs)
    assert not np.array_equal(boot.ols, stats.ols)
    again = draw_bootstrap_stats(fit, stats, 5)
    np.testing.assert_array_equal(again.ols, boot.ols)


def test_bootstrap_panels_follow_the_generating_model():
    """One segment with sigma 2: store OLS ~ N(theta, 4 G^-1), RSS ~ 4 chi2(T - P)."""
    stats = panel_stats(np.array([[2.0, -1.5]]), np.array([1.0]), 4000, seed=0)
    fit = fit_mixture(stats, 1, sigma="common", **FAST)
    fit = type(fit)(**{**fit.__dict__, "theta": np.array([[2.0, -1.5]]), "sigma": np.array([2.0])})
    boot = draw_bootstrap_stats(fit, stats, 11)
    np.testing.assert_array_equal(boot.gram, stats.gram)
    dof = len(PRICES) - 2
    assert boot.rss.mean() == pytest.approx(4.0 * dof, rel=0.03)
    cov = np.cov(boot.ols, rowvar=False)
    np.testing.assert_allclose(cov, 4.0 * np.linalg.inv(stats.gram), rtol=0.1)
    np.testing.assert_allclose(boot.ols.mean(axis=0), [2.0, -1.5], atol=0.05)


def test_result_does_not_depend_on_n_jobs():
    stats = panel_stats(np.array([[1.0, -1.0], [2.0, -1.2]]), np.array([0.5, 0.5]), 40, seed=4)
    one = bootstrap_lrt(stats, 3, 19, seed=9, n_jobs=1, **FAST)
    two = bootstrap_lrt(stats, 3, 19, seed=9, n_jobs=2, **FAST)
    assert [s.k0 for s in one.steps] == [s.k0 for s in two.steps]
    for a, b in zip(one.steps, two.steps, strict=True):
        np.testing.assert_array_equal(a.lr_boot, b.lr_boot)
        assert a.p_value == b.p_value
    assert one.chosen_k == two.chosen_k
    other = bootstrap_lrt(stats, 2, 19, seed=10, **FAST)
    assert not np.array_equal(other.steps[0].lr_boot, one.steps[0].lr_boot)


def test_separated_segments_are_found_and_one_segment_is_not_split():
    two = panel_stats(np.array([[1.0, -1.0], [3.0, -1.5]]), np.array([0.4, 0.6]), 80, seed=1)
    result = bootstrap_lrt(two, 3, 19, seed=2, **FAST)
    first, second = result.steps
    assert first.rejected and first.p_value == pytest.approx(1 / 20)
    assert first.lr > first.lr_boot.max()
    assert not second.rejected and result.chosen_k == 2
    one = panel_stats(np.array([[1.0, -1.0]]), np.array([1.0]), 80, seed=1)
    result = bootstrap_lrt(one, 3, 19, seed=2, **FAST)
    assert len(result.steps) == 1 and not result.steps[0].rejected and result.chosen_k == 1
    doc = result.to_dict()
    assert doc["chosen_K"] == 1 and len(doc["tests"][0]["lr_boot"]) == 19


def test_given_fits_are_used_and_sequential_stopping_is_consistent():
    one = panel_stats(np.array([[1.0, -1.0]]), np.array([1.0]), 60, seed=5)
    fits = fit_k_range(one, (1, 2), seed=0, **FAST).fits
    full = bootstrap_lrt(one, 2, 39, seed=3, fits=fits, **FAST)
    seq = bootstrap_lrt(one, 2, 39, seed=3, fits=fits, sequential=True, **FAST)
    a, b = full.steps[0], seq.steps[0]
    assert a.lr == pytest.approx(2 * (fits[2].loglik - fits[1].loglik))
    assert b.stopped_early and b.n_used < 39 and b.n_exceed == stopping_count(39, 0.05)
    # the samples drawn are the first ones of the full test, and the decision is the same
    np.testing.assert_array_equal(b.lr_boot, a.lr_boot[: b.n_used])
    assert b.p_value == b.n_exceed / b.n_used > 0.05 and not a.rejected


def test_a_sequential_test_in_workers_stops_at_the_same_sample_and_cancels_quietly():
    one = panel_stats(np.array([[1.0, -1.0]]), np.array([1.0]), 60, seed=5)
    fits = fit_k_range(one, (1, 2), seed=0, **FAST).fits
    alone = bootstrap_lrt(one, 2, 39, seed=3, fits=fits, sequential=True, **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        workers = bootstrap_lrt(one, 2, 39, seed=3, fits=fits, sequential=True, n_jobs=2, **FAST)
    a, b = alone.steps[0], workers.steps[0]
    assert b.stopped_early and b.n_used == a.n_used < 39
    np.testing.assert_array_equal(b.lr_boot, a.lr_boot)
    # samples done or running when the test stopped are dropped without joblib's warning
    assert [str(w.message) for w in caught if "input task iterator" in str(w.message)] == []


def test_bad_arguments_are_refused_naming_them():
    stats = panel_stats(np.array([[1.0, -1.0]]), np.array([1.0]), 20, seed=0)
    with pytest.raises(ValueError, match="n_boot = 9 cannot reject at level 0.05"):
        bootstrap_lrt(stats, 2, 9)
    with pytest.raises(ValueError, match="k_min < k_max"):
        bootstrap_lrt(stats, 1, 19)
    with pytest.raises(ValueError, match="level"):
        bootstrap_lrt(stats, 2, 19, level=1.5)
    fits = fit_k_range(stats, (1, 2), seed=0, **FAST).fits
    with pytest.raises(ValueError, match="fits: K = \\[1, 2\\]"):
        bootstrap_lrt(stats, 2, 19, fits=fits, sigma="common")


# ---------------------------------------------------------------------------
# the harness: the two study configs, their smoke variants, the records
# ---------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "experiments" / "configs"


def smoke_variant(name: str, tmp_path: Path, **factors) -> Path:
    """The shipped config with tiny N, two replications and B = 19, written to tmp_path."""
    config = json.loads((CONFIGS / f"{name}.json").read_text())
    config["factors"].update(factors)
    config.update(replications=2, batch_size=1)
    config["blrt"]["n_boot"] = 19
    config["fit"].update(n_init=3)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    return path


def test_blrt_configs_are_the_promised_studies():
    size = load_config(CONFIGS / "blrt_size.json")
    (cond,) = conditions(size)
    assert cond.factors["N"] == 300 and cond.factors["T"] == 52 and cond.factors["K"] == 2
    assert size["replications"] >= 500 and size["fit"]["blrt"]["k_min"] == 2
    assert size["fit"]["blrt"]["k_max"] == 3 and size["fit"]["blrt"]["level"] == 0.05
    results = json.loads((REPO / "outputs" / "results.json").read_text())
    model = next(m for m in results["models"] if m["K"] == 2)
    np.testing.assert_allclose(np.ravel(size["truth"]["theta"]), model["theta"], rtol=1e-6)
    np.testing.assert_allclose(size["truth"]["pi"], model["pi"], rtol=1e-6)
    grid = load_config(CONFIGS / "blrt_grid.json")
    cells = {(c.factors["K"], c.factors["N"], c.factors["separation"]) for c in conditions(grid)}
    assert cells == {(k, n, s) for k in (2, 3) for n in (100, 300, 1000) for s in (0.5, 1.0)}
    assert grid["replications"] >= 200 and grid["fit"]["blrt"]["n_boot"] == 99


@pytest.mark.slow
def test_size_study_smoke_variant_runs_through_the_cli(tmp_path):
    out = tmp_path / "size"
    argv = ["--config", str(smoke_variant("blrt_size", tmp_path, N=[60])), "--out", str(out)]
    assert selection.main([*argv, "--quiet", "--no-figures"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    (cond,) = summary["conditions"]
    assert cond["n_ok"] == 2
    (test,) = cond["blrt"]["tests"]
    assert test["K0"] == 2 and test["n"] == 2 and test["ci_low"] <= test["rejection_rate"]
    assert cond["selection"]["blrt"]["n"] == 2 and "sabic" in cond["selection"]
    records = pd.read_csv(next((out / "raw").glob("condition_*.csv")))
    rejected = records["blrt_p_K2"] <= 0.05
    assert (records["chosen_blrt"] == np.where(rejected, 3, 2)).all()
    assert test["rejections"] == int(rejected.sum())
    table = (out / "tables" / "blrt.md").read_text()
    assert "rejection rate" in table and "BLRT" in (out / "tables" / "selection.md").read_text()


@pytest.mark.slow
def test_grid_smoke_variant_records_the_sequential_test_and_draws_it(tmp_path):
    out = tmp_path / "grid"
    path = smoke_variant("blrt_grid", tmp_path, N=[40, 80], K=[2], separation=[1.0])
    assert selection.main(["--config", str(path), "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["conditions"]) == 2
    records = pd.concat(pd.read_csv(p) for p in (out / "raw").glob("condition_*.csv"))
    for _, r in records.iterrows():
        p = [r[f"blrt_p_K{k}"] for k in (1, 2, 3)]
        tested = [k for k in (1, 2, 3) if np.isfinite(p[k - 1])]
        # sequential: every test before the last rejected, the last one decides K
        assert all(p[k - 1] <= 0.05 for k in tested[:-1])
        last = tested[-1]
        assert r["chosen_blrt"] == (last if p[last - 1] > 0.05 else last + 1)
    assert (out / "figures" / "nested_loop_blrt.png").stat().st_size > 1000


def test_bad_blrt_entries_are_refused_in_one_line():
    base = json.loads((CONFIGS / "blrt_size.json").read_text())
    with pytest.raises(ValueError, match="c.json: blrt.n_boot: missing key"):
        check_config({**base, "blrt": {"level": 0.05}}, "c.json")
    with pytest.raises(ValueError, match="c.json: 'blrt': n_boot = 9 cannot reject"):
        check_config({**base, "blrt": {"n_boot": 9}}, "c.json")
    with pytest.raises(ValueError, match="unknown key"):
        check_config({**base, "blrt": {"n_boot": 99, "B": 3}}, "c.json")
    with pytest.raises(ValueError, match="must lie in k_range"):
        check_config({**base, "blrt": {"n_boot": 99, "k_max": 5}}, "c.json")


# ---------------------------------------------------------------------------
# the real data: fit_real --blrt B
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_fit_real_blrt_writes_the_tests_the_table_and_the_figure(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--data", str(REPO / "data" / "609948.csv"), "--out", str(out), "--k", "1", "2"]
    assert fit_real.main([*argv, "--n-init", "3", "--blrt", "19"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["settings"]["blrt"] == 19
    blrt = doc["blrt"]
    (test,) = blrt["tests"]
    loglik = {m["K"]: m["loglik"] for m in doc["models"]}
    assert test["K0"] == 1 and test["lr"] == pytest.approx(2 * (loglik[2] - loglik[1]))
    assert len(test["lr_boot"]) == test["n_used"] == 19
    assert test["p_value"] == bootstrap_p_value(test["lr"], np.array(test["lr_boot"]))
    assert blrt["chosen_K"] == (2 if test["rejected"] else 1)
    printed = capsys.readouterr().out
    assert f"chooses K = {blrt['chosen_K']}" in printed and "1 vs 2" in printed
    # the model-comparison table gains the p-value of K - 1 against K in row K
    header = next(line for line in printed.splitlines() if line.lstrip().startswith("K "))
    assert "BLRT p" in header
    row = next(line for line in printed.splitlines() if line.lstrip().startswith("2 "))
    assert f"{test['p_value']:.3f}" in row.split()
    for suffix in ("png", "pdf"):
        assert (out / "real" / f"blrt_lr.{suffix}").stat().st_size > 1000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--k", "3", "--blrt", "19"], "--blrt needs at least two consecutive K values"),
        (["--k", "1", "3", "--blrt", "19"], "--blrt needs at least two consecutive K values"),
        (["--blrt", "9"], "--blrt: n_boot = 9 cannot reject at level 0.05"),
    ],
)
def test_fit_real_bad_blrt_is_one_line_and_writes_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    assert fit_real.main(["--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.slow
def test_report_shows_the_blrt_figure_when_results_json_has_the_test(tmp_path):
    out = tmp_path / "out"
    argv = ["--data", str(REPO / "data" / "609948.csv"), "--out", str(out), "--k", "1", "2"]
    assert fit_real.main([*argv, "--n-init", "3", "--blrt", "19"]) == 0
    blrt = json.loads((out / "results.json").read_text())["blrt"]
    sources = Sources(
        results=out / "results.json",
        segments=out / "real" / "store_segments.csv",
        data=REPO / "data" / "609948.csv",
        sigma_common=tmp_path / "absent.json",
        sigma_segment=tmp_path / "absent.json",
    )
    doc = ReportDoc(tmp_path / "report", "test")
    real = real_part(doc, sources)
    blrt_part(doc, sources, real.results)
    (entry,) = [f for f in doc.figures if f["name"] == "real_blrt"]
    assert f"chooses K = {blrt['chosen_K']}" in entry["caption"]
    assert f"p = {blrt['tests'][0]['p_value']:.3f}" in entry["caption"]
    assert (tmp_path / "report" / "figures" / "real_blrt.png").stat().st_size > 1000
