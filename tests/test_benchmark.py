"""The benchmark's straightforward EM agrees with the engine; the quick benchmark runs end to end.

Timings are the benchmark's business (outputs/benchmark/); nothing here asserts a wall time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from estimator import LogL, MStep, fit_mixture
from estimator.engine import prepare, run_em
from estimator.init import starting_values
from estimator.panel import design_matrix, sufficient_stats
from simstudy.bench.flexmix import case_flexmix
from simstudy.bench.measure import max_rss_mb
from simstudy.bench.naive_em import naive_e_step, naive_em, naive_fit, naive_m_step
from simstudy.bench.render import _flexmix_section, _flexmix_targets
from simstudy.bench.run import refresh, run_benchmark
from simstudy.bench.settings import default_settings
from simstudy.studies.paths import OUTPUTS

THETA = np.array([[9.9, -1.2], [10.8, -1.05], [11.6, -1.8]])
PI = np.array([0.25, 0.5, 0.25])


def small_panel(n_stores: int = 90, n_weeks: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = design_matrix(np.exp(rng.normal(0.0, 0.3, n_weeks)))
    labels = rng.choice(3, size=n_stores, p=PI)
    y = THETA[labels] @ X.T + rng.standard_normal((n_stores, n_weeks))
    return y, X


def test_naive_e_step_matches_logl():
    y, X = small_panel()
    theta, pi = THETA[:2] + 0.1, np.array([0.3, 0.7])
    loglik, W = naive_e_step(y, X, theta, pi)
    assert loglik == pytest.approx(LogL(theta.ravel(), pi, y, X), rel=1e-12)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, rtol=1e-12)


def test_naive_m_step_matches_mstep():
    y, X = small_panel()
    W = np.random.default_rng(1).dirichlet(np.ones(3), size=y.shape[0])
    theta, pi = naive_m_step(np.tile(X, (y.shape[0], 1)), y.reshape(-1), W, y.shape[1])
    ref_theta, ref_pi = MStep(y, X, W)
    np.testing.assert_allclose(theta.ravel(), ref_theta, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pi, ref_pi, rtol=1e-12)


@pytest.mark.parametrize("n_components", [1, 2, 3])
@pytest.mark.parametrize("tol, max_iter", [(1e-10, 1000), (1e-12, 40)])
def test_naive_equals_engine_from_same_starts(n_components, tol, max_iter):
    y, X = small_panel(seed=n_components)
    stats = sufficient_stats(y, X)
    theta0, pi0 = starting_values(stats, n_components, 4, seed=7, method="mixed")
    plain = {"accelerate": False, "polish": False}
    engine = run_em(prepare(stats, n_components), theta0, pi0, tol, max_iter, **plain)
    naive = naive_fit(y, X, theta0, pi0, tol, max_iter)
    np.testing.assert_allclose(naive.restart_logliks, engine.loglik, rtol=1e-10)
    np.testing.assert_array_equal(naive.n_iter, engine.n_iter)
    # the certified fit from the same starts is at least as high, and at the same maximum
    fit = fit_mixture(stats, n_components, theta0=theta0, pi0=pi0, tol=tol, max_iter=max_iter)
    assert fit.converged
    assert fit.loglik >= naive.loglik - 1e-9
    if max_iter == 1000:  # plain EM stopped by a relative-change rule is near, not at, it
        assert naive.loglik == pytest.approx(fit.loglik, rel=1e-10)
        np.testing.assert_allclose(naive.theta, fit.theta, atol=1e-3)
        np.testing.assert_allclose(naive.pi, fit.pi, atol=1e-3)
    for r, run in enumerate(naive.runs):
        np.testing.assert_allclose(run.trace, engine.traces[r], rtol=1e-10)


def test_naive_stopping_rule_and_degenerate_start():
    y, X = small_panel()
    stats = sufficient_stats(y, X)
    # a segment centred far from every store collapses: degenerate, like the engine
    theta0 = np.array([[[10.8, -1.1], [60.0, 0.0]]])
    pi0 = np.array([[0.5, 0.5]])
    engine = run_em(
        prepare(stats, theta0.shape[1]), theta0, pi0, 1e-12, 100, accelerate=False, polish=False
    )
    run = naive_em(y, X, theta0[0], pi0[0], 1e-12, 100)
    assert run.degenerate and engine.degenerate[0]
    assert run.n_iter == engine.n_iter[0]
    # max_iter reached: unconverged, exactly max_iter M-steps
    run = naive_em(y, X, THETA[:2], np.array([0.5, 0.5]), 0.0, 3)
    assert run.n_iter == 3 and not run.converged and run.trace.size == 4


@pytest.mark.slow
def test_quick_benchmark_writes_its_files(tmp_path):
    result = run_benchmark(default_settings(quick=True), tmp_path, command="test")
    for name in ("benchmark.md", "benchmark.json", "time_vs_n.png", "time_vs_n.pdf"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "benchmark.json").read_text())
    assert saved["meta"]["command"] == "test"
    cases = {row["case"] for row in saved["cases"]}
    assert {"1", "2", "3", "4T", "4K"} <= cases
    measured = [row for row in saved["cases"] if row["naive_s"] is not None]
    assert measured, "the straightforward EM ran on at least one case"
    for row in measured:
        assert row["loglik_rel_diff_restarts"] < 1e-8
    assert result["targets"] and all(
        t["status"].startswith("not evaluated") for t in result["targets"]
    )
    blrt = saved["blrt_real"]
    assert blrt["status"] == "ok" and blrt["n_boot"] == 19 and blrt["tests"][0] == 1
    assert any(t["target"].startswith("BLRT on the real data") for t in result["targets"])
    models = saved["models"]
    assert models["ungrouped"]["certified"] and models["concomitant"]["ratio"] > 0
    assert [row["N"] for row in models["threads"]] == [300, 30_000]
    steps = {(row["K"], row["step"]): row for row in saved["newton_steps"]}
    assert all(row["same_best"] == row["fits"] == 2 for row in steps.values())
    assert steps[3, "line search (engine)"]["newton_steps"] > 0
    text = (tmp_path / "benchmark.md").read_text()
    assert "## Summary of cases 1-4" in text and "## Targets" in text
    assert "## Case 6: the Newton step" in text
    assert saved["flexmix"]["status"] == "not run (--quick)"
    assert "## Case 7: R's flexmix and salesmix" in text
    assert "## BLAS threads" in text and "ungrouped, 10,000 rows" in text


def test_refresh_redoes_only_the_parts_named(tmp_path):
    before = json.loads((OUTPUTS / "benchmark" / "benchmark.json").read_text())
    before["meta"].pop("refreshed", None)
    (tmp_path / "benchmark.json").write_text(json.dumps(before))
    result = refresh(tmp_path, ["studies"], default_settings(quick=True))
    assert set(result["meta"]["refreshed"]) == {"studies"}
    assert result["cases"] == before["cases"] and result["probes"] == before["probes"]
    assert (tmp_path / "benchmark.md").read_text().startswith("# Benchmark")
    with pytest.raises(ValueError, match="unknown part 'cases'"):
        refresh(tmp_path, ["cases"], default_settings(quick=True))


def test_a_child_process_reports_its_own_peak_memory_not_its_parents():
    # on Linux, ru_maxrss of a fork+exec'd child starts at the parent's high-water mark
    big = np.ones(60_000_000)  # about 480 MB resident in this process
    code = "from simstudy.bench.measure import max_rss_mb; print(max_rss_mb())"
    child = float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                 text=True, check=True).stdout)  # fmt: skip
    assert max_rss_mb() > big.nbytes / 2**20
    assert child < max_rss_mb() - 300


def test_the_flexmix_case_says_in_one_line_when_r_is_missing(monkeypatch):
    monkeypatch.setattr("simstudy.bench.flexmix.shutil.which", lambda name: None)
    row = case_flexmix(default_settings())
    assert row["status"] == "not run: Rscript is not on PATH (R with r-cran-flexmix)"
    (target,) = _flexmix_targets({"flexmix": row})
    assert target["status"] == "not measured" and target["measured"] == row["status"]
    assert _flexmix_section(row) == [
        "## Case 7: R's flexmix and salesmix, the same fit of the real panel",
        "",
        row["status"],
        "",
    ]


def test_the_flexmix_case_is_judged_by_the_ratio_of_summed_times():
    row = {
        "case": "flexmix", "ks": [1, 2], "n_init": 10, "status": "ok", "seeds": [1, 2],
        "load_at_start": [0.5, 0.5, 0.5], "flexmix_s": [10.0, 30.0], "ours_s": [0.05, 0.05],
        "ratio": 400.0, "flexmix_loglik": [-10.0, -5.0], "ours_loglik": [-10.0, -4.5],
        "versions": {"flexmix": "2.3.18", "R": "4.2.2"},
    }  # fmt: skip
    (target,) = _flexmix_targets({"flexmix": row})
    assert target["status"] == "met" and target["measured"].startswith("400x (flexmix 40.0 s")
    (short,) = _flexmix_targets({"flexmix": {**row, "ratio": 200.0}})
    assert short["status"] == "not met (2.0x short)"
    text = "\n".join(_flexmix_section(row))
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()]
    assert ["1", "10", "50", "200x"] in rows and ["2", "30", "50", "600x"] in rows
    assert "5.00e-01" in text  # salesmix - flexmix at K = 2
    assert _flexmix_targets({}) == []  # a benchmark.json from before case 7
