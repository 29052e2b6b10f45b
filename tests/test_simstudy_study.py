"""Configs, the design grid, derived truths, and the smoke study end to end."""

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import REAL_DATA, REPO

from estimator import segment_distances
from estimator.panel import design_matrix
from experiments import recovery, selection
from simstudy.harness.runner import WALL_LEDGER, records_wall_seconds, run_study
from simstudy.harness.simulation import summarise_study
from simstudy.studies import mixture
from simstudy.studies.config import (
    check_config,
    conditions,
    derive_truths,
    expand_grid,
    load_config,
    pooled_mean,
    separate,
)
from simstudy.studies.generate import real_prices
from simstudy.studies.mixture import study as build_study

CONFIGS = REPO / "experiments" / "configs"
GRAM = design_matrix(real_prices(REAL_DATA)).T @ design_matrix(real_prices(REAL_DATA))


def real_truth():
    config = load_config(CONFIGS / "real_like.json")
    return np.array(config["truth"]["theta"]), np.array(config["truth"]["pi"])


def test_expand_grid_is_every_combination():
    grid = expand_grid({"N": [1, 2], "T": [13, 26, 52], "K": [3]})
    assert len(grid) == 6
    assert grid[0] == {"N": 1, "T": 13, "K": 3} and grid[-1] == {"N": 2, "T": 52, "K": 3}
    assert len({tuple(g.values()) for g in grid}) == 6
    with pytest.raises(ValueError, match="non-empty list"):
        expand_grid({"N": []})


def test_every_shipped_config_loads():
    sizes = {}
    for path in sorted(CONFIGS.glob("*.json")):
        config = load_config(path)
        sizes[path.stem] = (len(conditions(config)), config["replications"])
    assert sizes["real_like"] == (1, 1000)
    assert sizes["selection_grid"][0] == 4 * 3 * 3 * 4 * 2 == 288
    assert sizes["selection_grid"][1] >= 200


def test_real_like_truth_is_the_real_data_fit():
    """The config's truth is the committed K = 3 maximum, to the certificate's precision.

    A Newton decrement <= 1e-12 pins log L to 1e-12 but the parameters only to about
    sqrt(1e-12 / curvature) ~ 1e-8, so a rerun of the fit (another BLAS order, another
    path to the same maximum) may move them in the eighth digit.
    """
    theta, pi = real_truth()
    results = REPO / "outputs" / "results.json"
    if not results.is_file():
        pytest.skip("outputs/results.json not written yet")
    model = next(m for m in json.loads(results.read_text())["models"] if m["K"] == 3)
    np.testing.assert_allclose(theta.ravel(), model["theta"], rtol=1e-7)
    np.testing.assert_allclose(pi, model["pi"], rtol=1e-7)
    grid = load_config(CONFIGS / "selection_grid.json")
    np.testing.assert_allclose(np.array(grid["truth"]["theta"]), theta, rtol=1e-12)


def test_grid_truths_are_derived_from_the_real_truth():
    theta, pi = real_truth()
    grid = load_config(CONFIGS / "selection_grid.json")
    derived = derive_truths(theta, pi, GRAM, [1, 2, 3, 4])
    for k, (t, p) in derived.items():
        stored = grid["truths_by_k"][str(k)]
        np.testing.assert_allclose(np.array(stored["theta"]), t, rtol=1e-12)
        np.testing.assert_allclose(np.array(stored["pi"]), p, rtol=1e-12)


def test_derived_truths_keep_the_mean_and_the_promised_distances():
    theta, pi = real_truth()
    derived = derive_truths(theta, pi, GRAM, [1, 2, 3, 4])
    smallest = {}
    for k, (t, p) in derived.items():
        assert t.shape == (k, 2) and p.sum() == pytest.approx(1.0)
        np.testing.assert_allclose(pooled_mean(t, p), pooled_mean(theta, pi), atol=1e-12)
        assert np.all(np.diff(t[:, 0]) > 0)  # canonical order
        if k > 1:
            d = segment_distances(t, GRAM)
            smallest[k] = d[np.triu_indices(k, 1)].min()
    np.testing.assert_allclose(derived[3][0], theta[np.argsort(theta[:, 0])])
    # K = 4: the split halves differ only in alpha and are as far apart as the closest real pair
    t4, p4 = derived[4]
    halves = np.flatnonzero(np.isclose(p4, pi.max() / 2))
    assert len(halves) == 2 and t4[halves[0], 1] == t4[halves[1], 1]
    assert segment_distances(t4[halves], GRAM)[0, 1] == pytest.approx(smallest[3])


def test_separation_scales_every_distance():
    theta, pi = real_truth()
    for s in (0.5, 1.5):
        moved = separate(theta, pi, s)
        np.testing.assert_allclose(pooled_mean(moved, pi), pooled_mean(theta, pi))
        np.testing.assert_allclose(
            segment_distances(moved, GRAM), s * segment_distances(theta, GRAM), rtol=1e-12
        )
    with pytest.raises(ValueError, match="positive"):
        separate(theta, pi, 0.0)


def test_bad_configs_are_refused(tmp_path):
    base = json.loads((CONFIGS / "smoke.json").read_text())
    with pytest.raises(ValueError, match="unknown factor"):
        check_config({**base, "factors": {**base["factors"], "n": [3]}})
    with pytest.raises(ValueError, match="no truth with K = 4"):
        check_config({**base, "factors": {**base["factors"], "K": [4]}, "k_range": [1, 4]})
    with pytest.raises(ValueError, match="not in k_range"):
        check_config({**base, "k_range": [1]})
    with pytest.raises(ValueError, match="52 weeks"):
        check_config({**base, "factors": {**base["factors"], "T": [26, 60]}})
    with pytest.raises(ValueError, match="missing key"):
        check_config({k: v for k, v in base.items() if k != "seed"})
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    assert recovery.main(["--config", str(path), "--out", str(tmp_path / "x")]) == 2


@pytest.mark.slow
def test_smoke_study_end_to_end(tmp_path, capsys):
    out = tmp_path / "smoke"
    argv = ["--config", str(CONFIGS / "smoke.json"), "--out", str(out), "--quiet"]
    assert selection.main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["conditions"] == 8 and summary["run"]["replications"] == 20
    for name in ("hit_rate_bic", "recovery", "selection", "chosen_k_bic", "conditions"):
        assert "\\begin{tabular}" in (out / "tables" / f"{name}.tex").read_text()
    # the conditions table carries every condition's label and replication count
    conditions_md = (out / "tables" / "conditions.md").read_text()
    for condition in summary["conditions"]:
        row = next(ln for ln in conditions_md.splitlines() if f"| {condition['label']} " in ln)
        assert row.split("|")[2].strip() == str(condition["n_ok"] + condition["n_errors"])
    for stem in ("nested_loop_bic", "rmse_K2", "chosen_k_bic"):
        assert (out / "figures" / f"{stem}.png").stat().st_size > 1000
        assert (out / "figures" / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    assert len(list((out / "raw").glob("condition_*.csv"))) == 8

    easy = next(
        c
        for c in summary["conditions"]
        if c["factors"]
        == {"N": 200, "T": 52, "K": 2, "separation": 1.5, "sigma": 1.0, "prices": "real"}
    )
    assert easy["n_errors"] == 0 and easy["n_ok"] == 20
    assert easy["selection"]["bic"]["hit_rate"] >= 0.9
    assert easy["classification"]["ari_mean"] > 0.95
    truth_alpha_gap = easy["truth"]["theta"][1][0] - easy["truth"]["theta"][0][0]
    for row in easy["recovery"]:
        assert abs(row["bias"]) < 4 * row["mcse_bias"] + 1e-12, row
        limit = 0.05 if row["parameter"].startswith("pi") else 0.15
        assert row["rmse"] < limit, row
    assert truth_alpha_gap > 1.0  # the condition is indeed well separated


def test_estimated_sigma_is_recorded_and_recovered(tmp_path):
    config = load_config(CONFIGS / "smoke.json")
    config.update(
        replications=3,
        factors={"N": [200], "T": [52], "K": [2], "separation": [1.5], "sigma": [1.5]},
        fit={**config["fit"], "sigma": "common"},
        price_data=str(REAL_DATA),
    )
    study = build_study(config)
    records = run_study(study, tmp_path, progress=None)
    assert {"est_sigma_1", "est_sigma_2"} <= set(records[0].columns)
    (summary,) = summarise_study(study, records, mixture.summarise)
    sigma_rows = [r for r in summary["recovery"] if r["parameter"].startswith("sigma")]
    assert len(sigma_rows) == 2 and all(r["true"] == 1.5 for r in sigma_rows)
    assert all(abs(r["mean"] - 1.5) < 0.05 for r in sigma_rows)
    assert summary["selection"]["bic"]["hit_rate"] == 1.0


@pytest.mark.slow
def test_a_resume_keeps_the_wall_time_of_the_runs_that_made_the_records(tmp_path):
    out = tmp_path / "smoke"
    argv = ["--config", str(CONFIGS / "smoke.json"), "--out", str(out), "--quiet"]
    assert selection.main([*argv, "--replications", "2", "--no-figures"]) == 0
    first = json.loads((out / "summary.json").read_text())["run"]
    assert 0 < first["wall_seconds_records"] <= first["wall_seconds_this_run"]
    assert selection.main([*argv, "--replications", "2", "--no-figures"]) == 0  # nothing to do
    again = json.loads((out / "summary.json").read_text())["run"]
    assert again["wall_seconds_records"] == first["wall_seconds_records"]
    assert again["wall_seconds_this_run"] != first["wall_seconds_this_run"]
    assert selection.main([*argv, "--replications", "3", "--no-figures"]) == 0  # one more each
    more = json.loads((out / "summary.json").read_text())["run"]
    added = more["wall_seconds_records"] - first["wall_seconds_records"]
    assert 0 < added <= more["wall_seconds_this_run"]
    # a stale summary describes discarded records: --restart starts the ledger over
    assert selection.main([*argv, "--replications", "3", "--no-figures", "--restart"]) == 0
    fresh = json.loads((out / "summary.json").read_text())["run"]
    assert 0 < fresh["wall_seconds_records"] <= fresh["wall_seconds_this_run"]
    assert records_wall_seconds(out) == fresh["wall_seconds_records"]


def test_records_without_a_ledger_have_no_known_wall_time(tmp_path):
    config = load_config(CONFIGS / "smoke.json")
    config.update(replications=1, price_data=str(REAL_DATA))
    study = build_study(config)
    run_study(study, tmp_path, progress=None)
    assert records_wall_seconds(tmp_path) > 0
    (tmp_path / WALL_LEDGER).unlink()  # checkpointed by a harness that kept no ledger
    assert records_wall_seconds(tmp_path) is None
    done = run_study(replace(study, replications=2), tmp_path, progress=None)
    assert all(len(frame) == 2 for frame in done.values())
    assert records_wall_seconds(tmp_path) is None  # part of the records' time is unknown
    run_study(study, tmp_path, progress=None, restart=True)
    assert records_wall_seconds(tmp_path) > 0
