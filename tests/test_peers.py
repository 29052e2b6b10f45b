"""salesmix against flexmix and mixtools: the maxima, the committed comparison, its doc."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import brute_log_joint, brute_loglik
from formulaic import model_matrix
from scipy.special import log_softmax, logsumexp

from experiments import peers as peers_cli
from simstudy.studies import peers
from simstudy.writeup import peers as peers_doc

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "outputs" / "peers" / "peers.json"


@pytest.fixture(scope="module")
def committed():
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


def _committed_case(committed, name):
    return next(case for case in committed["cases"] if case["case"] == name)


def _check_case(name, committed):
    """A fresh comparison of ``name``: salesmix reaches R, and agrees with the committed one."""
    # The time per start is not compared: timings are measured, never asserted.
    fresh = peers.compare_all((name,))["cases"][0]
    old = _committed_case(committed, name)
    assert [row["status"] for row in fresh["rows"]] == [row["status"] for row in old["rows"]]
    for new, row in zip(fresh["rows"], old["rows"], strict=True):
        assert new["r"] == row["r"]
        assert new["excess"] >= -1e-6, (name, new["peer"], new["K"])
        assert new["salesmix"]["loglik"] == pytest.approx(row["salesmix"]["loglik"], abs=1e-6)
        for key, value in row["loglik_at_r"].items():
            assert new["loglik_at_r"][key] == pytest.approx(value, abs=1e-8)
        assert new.get("same_maximum") == row.get("same_maximum")
        if "se" in row:
            assert new["se"]["max_ratio"] == pytest.approx(row["se"]["max_ratio"], abs=1e-6)
            assert new["se"]["min_ratio"] == pytest.approx(row["se"]["min_ratio"], abs=1e-6)
        if "gamma" in row.get("se", {}):
            assert np.allclose(new["se"]["gamma"], row["se"]["gamma"], atol=1e-6)
            assert np.allclose(new["se"]["se_gamma"], row["se"]["se_gamma"], atol=1e-6)


# 100 starts of a concomitant fit to 500 single-row units take seconds: that case is slow;
# the fast test below polishes from R's parameters instead.
@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow) if name == "gen_concomitant" else name
        for name in peers.CASES
    ],
)
def test_salesmix_reaches_r_and_the_committed_comparison_is_current(name, committed):
    _check_case(name, committed)


@pytest.mark.parametrize("name", ["gen_concomitant", "gen_grouped_concomitant", "nregfix"])
def test_polished_from_r_concomitant_fit_is_the_committed_one(name, committed):
    case = peers.load_case(name)
    fit = next(fit for fit in case.record["fits"] if fit["concomitant"])
    theta, gamma = np.asarray(fit["theta"]), np.asarray(fit["gamma"])
    sigma = np.broadcast_to(np.atleast_1d(fit["sigma_ml"]), (len(theta),))
    ours = peers.fit_salesmix(case, fit["K"], fit["sigma_mode"], fit["concomitant"], n_init=1)
    stats, covariates = ours.stats, ours.fit.covariates
    local = peers.polish_from(stats, theta, gamma, sigma, fit["sigma_mode"], covariates)
    row = next(row for row in _committed_case(committed, name)["rows"] if row["concomitant"])
    assert local.converged
    assert local.loglik == pytest.approx(row["salesmix_from_r"]["loglik"], abs=1e-6)
    assert local.loglik >= row["loglik_at_r"]["ml_sigma"] - 1e-6
    at_r = peers.loglik_at(stats, theta, gamma, sigma, covariates)
    assert at_r == pytest.approx(row["loglik_at_r"]["ml_sigma"], abs=1e-8)


def test_every_case_is_committed_and_every_fit_reaches_r(committed):
    assert [case["case"] for case in committed["cases"]] == list(peers.CASES)
    rows = [row for case in committed["cases"] for row in case["rows"]]
    assert len(rows) >= 20 and all(row["excess"] >= -1e-6 for row in rows)
    assert all(row["status"] == "compared" for row in rows if row["concomitant"])


def _concomitant_rows(committed):
    return [row for case in committed["cases"] for row in case["rows"] if row["concomitant"]]


def test_every_concomitant_fit_is_compared_at_the_maximum_r_was_at(committed):
    rows = _concomitant_rows(committed)
    assert [row["concomitant"] for row in rows] == ["~ w", "~ z", "~ z"]
    for row in rows:
        assert row["same_maximum"] and row["excess"] >= -1e-6
        # optim stopped short of the maximum: refit's estimates are not above it (docs say so)
        assert row["loglik_at_r"]["refit"] <= row["salesmix_from_r"]["loglik"] + 1e-9


def test_concomitant_gamma_and_its_errors_agree_with_flexmix_refit(committed):
    # Both in flexmix's parameterisation: components 2..K against component 1.
    for row in _concomitant_rows(committed):
        ours, ours_se = np.asarray(row["se"]["gamma"]), np.asarray(row["se"]["se_gamma"])
        theirs = np.asarray(row["r"]["refit_gamma"])
        theirs_se = np.asarray(row["r"]["refit_gamma_se"])
        assert ours.shape == theirs.shape == (row["K"] - 1, 2)
        assert np.all(np.abs(ours - theirs) < 0.01 * theirs_se), row["concomitant"]
        assert ours_se == pytest.approx(theirs_se, rel=1e-3)
        assert row["differences_refit"]["gamma"] == pytest.approx(np.max(np.abs(ours - theirs)))


@pytest.mark.parametrize("name", ["gen_concomitant", "gen_grouped_concomitant", "nregfix"])
def test_loglik_at_r_with_a_concomitant_prior_matches_the_brute_force_oracle(name, committed):
    # R's gamma as R gives it (component 1 the reference) straight into the definition.
    case = peers.load_case(name)
    fit = next(fit for fit in case.record["fits"] if fit["concomitant"])
    response, design = model_matrix(case.formula, case.frame)
    unit = np.arange(len(case.frame))
    if case.group is not None:
        unit = case.frame[case.group].to_numpy() - 1
    theta = np.asarray(fit["theta"])
    sigma = np.broadcast_to(np.atleast_1d(fit["sigma_ml"]), (len(theta),))
    y, X = response.to_numpy().ravel(), design.to_numpy()
    dens = brute_log_joint(theta, np.ones(len(theta)), y, X, unit, sigma)
    first_row = np.unique(unit, return_index=True)[1]
    z = model_matrix(fit["concomitant"], case.frame).to_numpy()[first_row]
    log_prior = log_softmax(z @ np.transpose(fit["gamma"]), axis=1)
    expected = logsumexp(dens + log_prior, axis=1).sum()
    row = next(row for row in _committed_case(committed, name)["rows"] if row["concomitant"])
    assert row["loglik_at_r"]["ml_sigma"] == pytest.approx(expected, abs=1e-9)


def test_r_reported_loglik_is_the_likelihood_at_r_parameters(committed):
    # With R's own sigma the log L at R's parameters is R's reported one: the two programs
    # compute the same likelihood (up to R's last EM step at tolerance 1e-10).
    for case in committed["cases"]:
        for row in case["rows"]:
            gap = row["loglik_at_r"]["reported_sigma"] - row["r"]["loglik"]
            assert abs(gap) < 1e-5 * max(1.0, abs(row["r"]["loglik"])), case["case"]


@pytest.mark.parametrize(("name", "index"), [("npreg", 2), ("npreg_grouped", 0), ("nregfix", 0)])
def test_loglik_at_matches_the_brute_force_oracle(name, index):
    case = peers.load_case(name)
    fit = case.record["fits"][index]
    response, design = model_matrix(case.formula, case.frame)
    unit = None if case.group is None else case.frame[case.group].to_numpy() - 1
    theta = np.asarray(fit["theta"])
    sigma = np.broadcast_to(np.atleast_1d(fit["sigma_ml"]), (len(theta),))
    stats = peers.fit_salesmix(case, len(theta), fit["sigma_mode"], n_init=1).stats
    expected = brute_loglik(
        theta,
        fit["prior"],
        response.to_numpy().ravel(),
        design.to_numpy(),
        store=np.arange(len(case.frame)) if unit is None else unit,
        sigma=sigma,
    )
    assert peers.loglik_at(stats, theta, fit["prior"], sigma) == pytest.approx(expected, abs=1e-9)


def test_flexmix_sigma_ml_is_its_sigma_without_the_degrees_of_freedom():
    for name in ("npreg", "nregfix"):
        for fit in peers.load_case(name).record["fits"]:
            if fit["package"] != "flexmix":
                continue
            n, p, k = fit["n"], fit["p"], fit["K_found"]
            dof = n - p if fit["sigma_mode"] == "segment" else n - p / k
            ratio = np.atleast_1d(fit["sigma_ml"]) / np.atleast_1d(fit["sigma"])
            assert ratio == pytest.approx(np.sqrt(dof / n), rel=1e-12)


def test_doc_and_markdown_agree_with_the_committed_comparison(committed):
    doc = (ROOT / "docs" / "peers.md").read_text(encoding="utf-8")
    assert peers_doc.rewrite_doc(doc, committed) == doc, "run python -m experiments.peers"
    markdown = (ROOT / "outputs" / "peers" / "peers.md").read_text(encoding="utf-8")
    assert peers_doc.table(committed) in markdown


def test_a_hand_edited_doc_number_is_put_back(committed):
    doc = (ROOT / "docs" / "peers.md").read_text(encoding="utf-8")
    start = doc.index(peers_doc.BLOCK_OPEN)
    edited = doc[:start] + doc[start:].replace("-22164.1313", "-22164.1", 1)
    assert edited != doc and peers_doc.rewrite_doc(edited, committed) == doc


def test_doc_without_markers_is_refused_naming_the_file(committed):
    with pytest.raises(ValueError, match=r"^notes\.md: needs <!-- peers:table -->"):
        peers_doc.rewrite_doc("no block here\n", committed, "notes.md")


def test_rerun_r_without_rscript_says_so_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(peers_cli.shutil, "which", lambda name: None)
    monkeypatch.chdir(tmp_path)
    assert peers_cli.main(["--rerun-r"]) == 2
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Rscript" in out
    assert not (tmp_path / "outputs").exists()


def test_unknown_case_is_refused_by_name(capsys):
    with pytest.raises(SystemExit) as exit_info:
        peers_cli.parse_args(["--cases", "nope"])
    assert exit_info.value.code == 2
    assert "nope" in capsys.readouterr().err
