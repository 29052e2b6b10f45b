"""Standard errors and interval coverage in the simulation harness (issue 4).

Coverage arithmetic on hand-made records, label matching before coverage (a
hand-permuted fit), the fields of a small recovery run with inference on, and
records without standard errors (the selection grid's) still summarising.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from estimator import fit_mixture, match_segments
from estimator.inference import naive_se, observed_information_se
from estimator.selection import CRITERIA
from experiments import recovery
from simstudy.harness.measures import interval_coverage, wilson_interval
from simstudy.harness.runner import run_study
from simstudy.harness.simulation import condition_summary, summarise_study
from simstudy.studies import mixture
from simstudy.studies.config import Condition, conditions, load_config
from simstudy.studies.generate import Truth
from simstudy.studies.mixture import SE_KINDS, generate, inference_fields, summarise
from simstudy.studies.mixture import study as build_study
from simstudy.writeup.study_report import write_report
from simstudy.writeup.tables import has_coverage, standard_errors

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "experiments" / "configs"


# ---------------------------------------------------------------------------
# coverage arithmetic
# ---------------------------------------------------------------------------


def test_interval_coverage_counts_and_wilson_interval():
    covered = [1, 1, 0, 1, np.nan, 1, 0, 1, 1, 1]
    rate = interval_coverage(covered)
    assert rate["n"] == 9 and rate["n_missing"] == 1 and rate["covered"] == 7
    assert rate["coverage"] == pytest.approx(7 / 9)
    assert (rate["ci_low"], rate["ci_high"]) == wilson_interval(7, 9)
    empty = interval_coverage([np.nan, np.nan])
    assert empty["n"] == 0 and np.isnan(empty["coverage"]) and np.isnan(empty["ci_low"])
    with pytest.raises(ValueError, match="0, 1"):
        interval_coverage([1, 0.5])


def _condition(theta, pi, k_range=(1, 2)):
    truth = Truth(np.asarray(theta, dtype=float), np.asarray(pi, dtype=float))
    factors = {"N": 100, "T": 52, "K": len(pi), "separation": 1.0, "sigma": 1.0, "prices": "real"}
    return Condition(id=0, factors=factors, truth=truth, k_range=tuple(k_range))


def _records(n, with_se, rng):
    """Hand-made records of a K = 2 truth with known SE and coverage columns."""
    rows = []
    for r in range(n):
        row = {"condition_id": 0, "replication": r, "seed": r, "status": "ok", "error": ""}
        row.update({f"{c}_K{k}": 0.0 for k in (1, 2) for c in ("loglik", *CRITERIA)})
        row.update({f"converged_K{k}": True for k in (1, 2)})
        row.update({f"n_iter_K{k}": 5 for k in (1, 2)})
        row.update({f"chosen_{c}": 2 for c in CRITERIA})
        row.update(
            est_alpha_1=1.0 + rng.normal(0, 0.1),
            est_beta_1=-1.0,
            est_pi_1=0.3,
            est_alpha_2=3.0,
            est_beta_2=-2.0,
            est_pi_2=0.7,
            ari=1.0,
            misclassification=0.0,
            n_iter=5,
            converged=True,
            degenerate=False,
            restarts_at_best=3,
            seconds=0.01,
        )
        if with_se:
            row["se_valid_observed"] = r != 0
            row["se_valid_naive"] = True
            for name in ("alpha_1", "beta_1", "pi_1", "alpha_2", "beta_2", "pi_2"):
                # observed: replication 0 has no SE; replications 1..6 miss alpha_1
                row[f"se_observed_{name}"] = np.nan if r == 0 else 0.2
                row[f"cover_observed_{name}"] = np.nan if r == 0 else float(r > 6)
                row[f"se_naive_{name}"] = 0.1 if r % 2 else 0.3
                row[f"cover_naive_{name}"] = float(r % 4 != 0)
            for c in (1, 2):
                row[f"cover_observed_logit_pi_{c}"] = np.nan if r == 0 else 1.0
                row[f"cover_naive_logit_pi_{c}"] = 1.0
        rows.append(row)
    return pd.DataFrame(rows)


def test_summary_coverage_and_mean_se_from_hand_made_records():
    condition = _condition([[1.0, -1.0], [3.0, -2.0]], [0.3, 0.7])
    records = _records(40, with_se=True, rng=np.random.default_rng(0))
    errors = pd.DataFrame([{"condition_id": 0, "replication": 40, "seed": 1, "status": "error"}])
    errors["error"], errors["seconds"] = "ValueError: boom", 0.0
    summary = condition_summary(
        condition, pd.concat([records, errors], ignore_index=True), summarise
    )
    assert summary["inference"] == {
        "observed": {"valid": 39, "invalid": 1},
        "naive": {"valid": 40, "invalid": 0},
    }
    row = next(r for r in summary["recovery"] if r["parameter"] == "alpha_1")
    # observed: 39 intervals (replication 0 has none), covered in replications 7..39
    assert row["coverage_observed_n"] == 39 and row["coverage_observed_missing"] == 1
    assert row["coverage_observed"] == pytest.approx(33 / 39)
    low, high = wilson_interval(33, 39)
    assert (row["coverage_observed_low"], row["coverage_observed_high"]) == (low, high)
    assert row["se_observed_mean"] == pytest.approx(0.2)  # NaN SE left out
    assert row["se_observed_ratio"] == pytest.approx(0.2 / row["sd"])
    # naive: missed when r % 4 == 0 (10 of 40); SE alternates 0.3 / 0.1
    assert row["coverage_naive"] == pytest.approx(30 / 40)
    assert row["se_naive_mean"] == pytest.approx(0.2)
    pi_row = next(r for r in summary["recovery"] if r["parameter"] == "pi_2")
    assert pi_row["coverage_observed_logit"] == 1.0 and pi_row["coverage_naive_logit"] == 1.0
    assert np.isnan(pi_row["se_naive_ratio"])  # SD of a constant estimate is 0
    assert "coverage_observed_logit" not in row
    assert has_coverage(summary)


def test_records_without_standard_errors_still_summarise(tmp_path):
    condition = _condition([[1.0, -1.0], [3.0, -2.0]], [0.3, 0.7])
    records = _records(10, with_se=False, rng=np.random.default_rng(1))
    summary = condition_summary(condition, records, summarise)
    assert "inference" not in summary
    for row in summary["recovery"]:
        assert not any(key.startswith(("se_", "coverage_")) for key in row)
        assert row["n"] == 10
    assert not has_coverage(summary)
    described = [{**condition.to_dict(), **summary}]
    assert standard_errors(described).rows == []
    write_report(described, {0: records}, tmp_path, figures=False)
    assert (tmp_path / "tables" / "recovery.md").is_file()
    assert not (tmp_path / "tables" / "standard_errors.md").exists()


# ---------------------------------------------------------------------------
# label matching before coverage
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_like_fit():
    """One real_like data set (N = 300, K = 3) and its K = 3 fit."""
    config = load_config(CONFIGS / "real_like.json")
    (condition,) = conditions(config)
    data = generate(condition, np.random.default_rng(np.random.SeedSequence(11)))
    fit = fit_mixture(data.stats, 3, n_init=5, tol=1e-10, seed=3)
    return condition, data, fit


def test_coverage_is_recorded_after_label_matching(real_like_fit):
    condition, data, fit = real_like_fit
    truth = condition.truth
    metric = data.stats.gram / condition.factors["T"]
    reference_perm = match_segments(fit.theta, truth.theta, metric)
    reference = inference_fields(fit, data.stats, truth, reference_perm)
    # the same fit with its segments shuffled so that the last fitted segment
    # (whose pi SE comes from the delta method) is a different true segment
    for shuffle in ([2, 0, 1], [1, 2, 0], [0, 2, 1]):
        permuted = (fit.theta[shuffle], fit.pi[shuffle])
        perm = match_segments(permuted[0], truth.theta, metric)
        fields = inference_fields(permuted, data.stats, truth, perm)
        assert fields.keys() == reference.keys()
        for key, value in reference.items():
            np.testing.assert_allclose(fields[key], value, rtol=1e-8, err_msg=key)
        unmatched = inference_fields(permuted, data.stats, truth, np.arange(3))
        assert unmatched["se_observed_pi_3"] != pytest.approx(reference["se_observed_pi_3"])

    # the recorded numbers are estimator.inference's, for the matched true segment
    observed = observed_information_se(fit, data.stats).reordered(reference_perm)
    naive = naive_se(fit, data.stats).reordered(reference_perm)
    for c in range(3):
        est_pi = fit.pi[reference_perm[c]]
        assert reference[f"se_naive_pi_{c + 1}"] == pytest.approx(
            np.sqrt(est_pi * (1 - est_pi) / 300)
        )
        assert reference[f"se_observed_pi_{c + 1}"] == pytest.approx(observed.se_pi[c])
        for j, name in enumerate(("alpha", "beta")):
            assert reference[f"se_observed_{name}_{c + 1}"] == observed.se_theta[c, j]
            assert reference[f"se_naive_{name}_{c + 1}"] == naive.se_theta[c, j]
            estimate = fit.theta[reference_perm[c], j]
            se = observed.se_theta[c, j]
            inside = abs(estimate - truth.theta[c, j]) <= 1.959963984540054 * se
            assert reference[f"cover_observed_{name}_{c + 1}"] == float(inside)


def test_invalid_standard_errors_record_nan_coverage(real_like_fit):
    condition, data, _ = real_like_fit
    truth = condition.truth
    # two identical segments: the information is singular, both kinds undefined for theta
    theta = np.vstack([truth.theta[:2], truth.theta[1]])
    fields = inference_fields((theta, np.array([0.1, 0.45, 0.45])), data.stats, truth, np.arange(3))
    assert fields["se_valid_observed"] is False
    assert np.isnan(fields["se_observed_alpha_2"]) and np.isnan(fields["cover_observed_alpha_2"])


# ---------------------------------------------------------------------------
# a small recovery run with inference on
# ---------------------------------------------------------------------------


def _small_config(tmp_path, inference):
    config = load_config(CONFIGS / "smoke.json")
    config.update(
        name="coverage_smoke",
        replications=4,
        factors={"N": [200], "T": [52], "K": [2], "separation": [1.5]},
        k_range=[1, 2],
        price_data=str(REPO / "data" / "609948.csv"),
    )
    config["fit"] = {**config["fit"], "inference": inference}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return config, path


@pytest.mark.slow
def test_small_recovery_run_records_and_reports_coverage(tmp_path):
    config, path = _small_config(tmp_path, inference=True)
    out = tmp_path / "out"
    assert recovery.main(["--config", str(path), "--out", str(out), "--quiet"]) == 0
    raw = pd.read_csv(out / "raw" / "condition_0000.csv")
    for kind in SE_KINDS:
        assert raw[f"se_valid_{kind}"].all()
        for name in ("alpha_1", "beta_1", "pi_1", "alpha_2", "beta_2", "pi_2"):
            assert np.isfinite(raw[f"se_{kind}_{name}"]).all()
            assert set(raw[f"cover_{kind}_{name}"]) <= {0.0, 1.0}
    for name in ("alpha_1", "beta_1", "alpha_2", "beta_2"):
        # observed information = complete minus missing information: never a smaller SE
        observed, naive = raw[f"se_observed_{name}"], raw[f"se_naive_{name}"]
        assert (observed >= naive * (1 - 1e-9)).all() and (naive > 0).all()
    (condition,) = json.loads((out / "summary.json").read_text())["conditions"]
    assert condition["inference"]["observed"] == {"valid": 4, "invalid": 0}
    for row in condition["recovery"]:
        name = row["parameter"]
        for kind in SE_KINDS:
            covered = raw[f"cover_{kind}_{name}"]
            assert row[f"coverage_{kind}_n"] == 4
            assert row[f"coverage_{kind}"] == pytest.approx(covered.mean())
            low, high = wilson_interval(int(covered.sum()), 4)
            assert (row[f"coverage_{kind}_low"], row[f"coverage_{kind}_high"]) == pytest.approx(
                (low, high)
            )
            assert row[f"se_{kind}_mean"] == pytest.approx(raw[f"se_{kind}_{name}"].mean())
    assert "\\begin{tabular}" in (out / "tables" / "standard_errors.tex").read_text()
    assert "observed" in (out / "tables" / "standard_errors.md").read_text()
    assert (out / "figures" / "coverage_c0000.png").stat().st_size > 1000
    assert (out / "figures" / "coverage_c0000.pdf").read_bytes().startswith(b"%PDF")


def test_inference_off_by_default_and_with_estimated_sigma(tmp_path):
    config, _ = _small_config(tmp_path, inference=False)
    del config["fit"]["inference"]
    config["replications"] = 2
    records = run_study(build_study(config), tmp_path / "off", progress=None)
    assert not any(c.startswith(("se_", "cover_")) for c in records[0].columns)

    config["fit"] = {**config["fit"], "inference": True, "sigma": "common"}
    study = build_study(config)
    records = run_study(study, tmp_path / "sigma", progress=None)
    frame = records[0]
    # one common sigma: its naive SE is sigma / sqrt(2 N T), over all N = 200 stores, T = 52
    assert np.isfinite(frame["se_observed_sigma_1"]).all()
    expected = frame["est_sigma_1"] / np.sqrt(2 * 200 * 52)
    np.testing.assert_allclose(frame["se_naive_sigma_1"], expected, rtol=1e-9)
    (summary,) = summarise_study(study, records, mixture.summarise)
    sigma_row = next(r for r in summary["recovery"] if r["parameter"] == "sigma_1")
    assert sigma_row["coverage_observed_n"] == 2
