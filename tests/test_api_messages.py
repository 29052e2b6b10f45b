"""Wrong arguments to the public functions: one TypeError/ValueError naming the argument, raised
before any work is done (no fit for K = 1..3 before K = 4 is refused)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from estimator import (
    LogL,
    SalesMixture,
    bootstrap_lrt,
    bootstrap_se,
    fit_k_range,
    fit_mixture,
    load_csv,
    naive_se,
    observed_information_se,
    seed_sequence,
    select_k,
)
from estimator import fit as fit_module

FAST = {"n_init": 2, "tol": 1e-8}


@pytest.fixture(scope="module")
def panel():
    return load_csv("data/609948.csv")


@pytest.fixture(scope="module")
def stats(panel):
    return panel.sufficient_stats()


@pytest.fixture(scope="module")
def fit2(stats):
    return fit_mixture(stats, 2, seed=0, **FAST)


def test_wrong_kinds_of_data_name_the_argument(panel, stats, fit2):
    cases = [
        (lambda: fit_mixture(None, 2), TypeError, r"^stats must be a SufficientStats"),
        (
            lambda: fit_k_range(None, (1, 2)),
            TypeError,
            r"^stats must be SufficientStats or a panel",
        ),
        (lambda: bootstrap_lrt(panel.y, 2), TypeError, r"^data must be .*pass panel_from_arrays"),
        (lambda: bootstrap_se(fit2, panel.y, 2), TypeError, r"^data must be SufficientStats"),
        (lambda: observed_information_se(fit2, None), TypeError, r"^stats must be"),
        (lambda: naive_se(None, stats), TypeError, r"^fit must be a MixtureFit or tuple"),
        (lambda: bootstrap_lrt(stats, 2, fits={1: "x"}), TypeError, r"^fits\[1\] must be a Mixt"),
        (lambda: bootstrap_lrt(stats, 2, fits=[fit2]), TypeError, r"^fits must be a Mapping"),
        (lambda: bootstrap_lrt(stats, 3, fits={1: fit2}), ValueError, r"^fits\[1\] has K = 2"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=message):
            call()


@pytest.mark.parametrize("k_max", [2.5, "3", True, np.float64(3.0)])
def test_bootstrap_lrt_refuses_a_k_max_that_is_not_a_whole_number(stats, k_max):
    with pytest.raises(TypeError, match=r"^k_max must be a whole number"):
        bootstrap_lrt(stats, k_max, 19, n_init=1)


def test_bootstrap_lrt_refuses_other_counts_and_a_level_by_name(stats):
    with pytest.raises(TypeError, match=r"^n_boot must be a whole number"):
        bootstrap_lrt(stats, 2, 19.0)
    with pytest.raises(TypeError, match=r"^k_min must be a whole number"):
        bootstrap_lrt(stats, 3, 19, k_min="1")
    with pytest.raises(TypeError, match=r"^level must be a number"):
        bootstrap_lrt(stats, 2, 19, level="0.05")


@pytest.mark.parametrize(
    "call",
    [
        lambda s, f: fit_mixture(s, 2, seed=-1, **FAST),
        lambda s, f: fit_k_range(s, (1, 2), seed=-1, **FAST),
        lambda s, f: bootstrap_lrt(s, 2, 19, seed=-1, n_init=1),
        lambda s, f: bootstrap_se(f, s, 2, seed=-1),
        lambda s, f: seed_sequence(-1),
    ],
)
def test_a_negative_seed_is_named(stats, fit2, call):
    with pytest.raises(ValueError, match=r"^seed must be >= 0, got -1"):
        call(stats, fit2)


def test_a_negative_random_state_is_named(panel):
    with pytest.raises(ValueError, match=r"random_state must be >= 0, got -1"):
        SalesMixture(2, random_state=-1, **FAST).fit(panel)
    with pytest.raises(ValueError, match=r"random_state must be >= 0, got -1"):
        select_k(panel, (1, 2), random_state=-1, **FAST)


def test_max_iter_zero_is_refused_not_reported_as_converged(stats, panel):
    with pytest.raises(ValueError, match=r"^max_iter must be >= 1, got 0"):
        fit_mixture(stats, 2, max_iter=0, seed=0, **{"n_init": 2})
    with pytest.raises(ValueError, match=r"max_iter must be >= 1, got 0"):
        SalesMixture(2, max_iter=0, n_init=2).fit(panel)


def test_a_design_with_three_columns_is_blamed_not_theta(panel):
    theta, pi = np.array([10.0, -1.0, 11.0, -1.5]), np.array([0.5, 0.5])
    X3 = np.column_stack([panel.X, panel.X[:, 1] ** 2])
    with pytest.raises(ValueError, match=r"^X has 3 columns but theta has 2 coefficients"):
        LogL(theta, pi, panel.y, X3)
    with pytest.raises(ValueError, match=r"^theta has 5 entries but pi has 2"):
        LogL(np.arange(5.0), pi, panel.y, panel.X)  # not a whole number per segment: theta


def test_a_transposed_design_is_blamed_not_y(panel):
    theta, pi = np.array([10.0, -1.0, 11.0, -1.5]), np.array([0.5, 0.5])
    with pytest.raises(ValueError, match=r"^X has shape \(2, 52\) .* pass X\.T"):
        LogL(theta, pi, panel.y, panel.X.T)
    with pytest.raises(ValueError, match=r"^y has shape \(52, 300\) .* pass y\.T"):
        LogL(theta, pi, panel.y.T, panel.X)


def test_the_whole_k_range_is_checked_before_any_fit(panel, monkeypatch):
    calls = []
    real_fit = fit_module.fit_mixture

    def counting(*args, **kwargs):
        calls.append(args[1])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr("estimator.selection.fit_mixture", counting)
    few = (panel.y[:3], panel.X)
    with pytest.raises(ValueError, match=r"^k_range: K = 4 segments needs at least 4 stores"):
        select_k(few, (1, 2, 3, 4), **FAST)
    with pytest.raises(ValueError, match=r"^k_range: K = 4 segments needs at least 4 stores"):
        fit_k_range(panel.sufficient_stats().__class__(*_first_stores(panel, 3)), (1, 4))
    with pytest.raises(TypeError, match=r"^k_range entry must be a whole number.*2\.5"):
        fit_k_range(panel.sufficient_stats(), (1, 2.5))
    with pytest.raises(ValueError, match=r"^k_range is empty"):
        fit_k_range(panel.sufficient_stats(), ())
    assert calls == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_k_range(panel.sufficient_stats(), (1, 2), seed=0, **FAST)
    assert calls == [1, 2]


def _first_stores(panel, n):
    stats = panel.sufficient_stats()
    return stats.ols[:n], stats.rss[:n], stats.gram, stats.n_obs[:n]


def test_fit_real_on_three_stores_refuses_k_4_before_fitting(tmp_path, monkeypatch, capsys):
    from experiments import fit_real

    path = tmp_path / "three.csv"
    pd.read_csv("data/609948.csv").iloc[:, :4].to_csv(path, index=False)
    calls = []
    monkeypatch.setattr("estimator.selection.fit_mixture", lambda *a, **k: calls.append(a[1]))
    code = fit_real.main(["--data", str(path), "--out", str(tmp_path / "out"), "--n-init", "2"])
    assert code == 2 and calls == [] and not (tmp_path / "out").exists()
    assert "K = 4 segments needs at least 4 stores, the data have 3" in capsys.readouterr().err
