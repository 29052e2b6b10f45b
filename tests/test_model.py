"""SalesMixture and select_k: scikit-learn conventions, every input kind, new data, criteria."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_DATA, REPO
from scipy.special import logsumexp
from scipy.stats import norm

from estimator import (
    CRITERIA,
    DEFAULT_INIT,
    DEFAULT_MAX_ITER,
    DEFAULT_N_INIT,
    DEFAULT_TOL,
    LongPanel,
    NotFittedError,
    SalesMixture,
    fit_mixture,
    load_csv,
    load_long_csv,
    select_k,
)

RESULTS = REPO / "outputs" / "results.json"
FAST = {"n_init": 5, "tol": 1e-10, "random_state": 3}


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    return pd.read_csv(REAL_DATA)


@pytest.fixture(scope="module")
def long(wide) -> pd.DataFrame:
    frame = wide.melt(id_vars=["Price"], var_name="store", value_name="sales", ignore_index=False)
    frame = frame.rename_axis("week").reset_index().rename(columns={"Price": "price"})
    return frame[["store", "week", "sales", "price"]]


@pytest.fixture(scope="module")
def model(wide) -> SalesMixture:
    return SalesMixture(3, **FAST).fit(wide)


def brute_store_logliks(panel: LongPanel, theta, pi, sigma):
    """log sum_c pi_c prod_t N(y_it; x_it' theta_c, sigma_c^2), store by store, from the rows."""
    out = np.empty(panel.n_stores)
    for i in range(panel.n_stores):
        rows = panel.store == i
        y, X = panel.y[rows], panel.X[rows]
        terms = [
            np.log(pi[c]) + norm.logpdf(y, loc=X @ theta[c], scale=sigma[c]).sum()
            for c in range(len(pi))
        ]
        out[i] = logsumexp(terms)
    return out


def test_constructor_only_stores_and_sklearn_clone_works():
    base = pytest.importorskip("sklearn.base")
    model = SalesMixture(n_components=0, sigma="nonsense", random_state=7)  # checked at fit
    params = model.get_params()
    assert params == {
        "n_components": 0,
        "sigma": "nonsense",
        "n_init": DEFAULT_N_INIT,
        "init": DEFAULT_INIT,
        "tol": DEFAULT_TOL,
        "max_iter": DEFAULT_MAX_ITER,
        "random_state": 7,
        "concomitant": None,
        "guard": "size",
    }
    twin = base.clone(model)
    assert twin is not model and twin.get_params() == params
    assert twin.set_params(n_components=2, tol=1e-8) is twin
    assert twin.n_components == 2 and twin.tol == 1e-8 and model.n_components == 0
    with pytest.raises(ValueError, match=r"no parameter 'n_inti'"):
        twin.set_params(n_inti=3)


def test_clone_of_a_fitted_model_is_unfitted_and_refits_to_the_same(model, wide):
    base = pytest.importorskip("sklearn.base")
    twin = base.clone(model)
    assert not hasattr(twin, "theta_")
    twin.fit(wide)
    np.testing.assert_array_equal(twin.theta_, model.theta_)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"n_components": 2.5}, r"SalesMixture: n_components must be an integer, got 2\.5"),
        ({"n_init": "5"}, r"SalesMixture: n_init must be an integer, got '5'"),
        ({"sigma": "both"}, r"sigma must be one of"),
    ],
)
def test_bad_parameters_are_named_at_fit(wide, params, expected):
    with pytest.raises(ValueError, match=expected):
        SalesMixture(**params).fit(wide)


def test_methods_before_fit_say_so(wide):
    with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
        SalesMixture().predict(wide)


def test_the_not_fitted_error_is_scikit_learns(model, wide):
    exceptions = pytest.importorskip("sklearn.exceptions")
    validation = pytest.importorskip("sklearn.utils.validation")
    assert issubclass(NotFittedError, exceptions.NotFittedError)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)
    fresh = SalesMixture(2)
    for call in (
        lambda: fresh.predict_proba(wide),
        lambda: fresh.summary(),
        lambda: fresh.sample(2),
        lambda: fresh.bic(),
        lambda: validation.check_is_fitted(fresh),
    ):
        with pytest.raises(exceptions.NotFittedError):
            call()
    validation.check_is_fitted(model)  # fitted: no error
    assert getattr(fresh, "theta_", None) is None


def test_fit_predict_and_n_features_in(model, wide, long):
    labels = SalesMixture(3, **FAST).fit_predict(wide)
    pd.testing.assert_series_equal(labels, model.labels_)
    assert model.n_features_in_ == 2 == len(model.coef_names_)
    promo = long.assign(promo=(long["week"] % 4 == 0).astype(float))
    with_promo = SalesMixture(2, **FAST).fit(promo)
    assert with_promo.n_features_in_ == 3 and with_promo.theta_.shape == (2, 3)


def test_segment_labels_are_0_based_and_named_from_1(model, wide):
    proba = model.predict_proba(wide)
    assert list(proba.columns) == ["segment_1", "segment_2", "segment_3"]
    assert list(model.posteriors_.columns) == list(proba.columns)
    labels = model.predict(wide)
    assert set(labels.unique()) <= {0, 1, 2}
    assert (proba.columns[labels.to_numpy()] == proba.idxmax(axis=1).to_numpy()).all()
    assert (proba.to_numpy().argmax(axis=1) == labels.to_numpy()).all()
    assert model.summary().parameters.index[0] == "alpha[1]"  # what a person reads: from 1


@pytest.mark.parametrize("scale", [1e200, -1e200, 1e300])
def test_data_beyond_float64_are_refused_naming_the_argument(model, scale):
    panel = load_csv(REAL_DATA)
    huge = panel.y * scale
    message = r"^data is too large in magnitude: .* overflow"
    for method in ("predict_proba", "predict", "score_samples", "score", "criteria"):
        with pytest.raises(ValueError, match=message):
            getattr(model, method)(huge)
    with pytest.raises(ValueError, match=message):
        SalesMixture(2, **FAST).fit((huge, panel.X))


def test_a_probability_is_never_nan(model):
    panel = load_csv(REAL_DATA)
    for scale in 10.0 ** np.arange(0, 310, 10):
        for sign in (1.0, -1.0):
            try:
                proba = model.predict_proba(panel.y * scale * sign)
            except ValueError as err:
                assert str(err).startswith("data is too large in magnitude"), err
                continue
            assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1.0)


def test_every_input_kind_gives_the_panel_fit(wide, long, tmp_path):
    panel = load_csv(REAL_DATA)
    reference = fit_mixture(panel.sufficient_stats(), 2, n_init=5, tol=1e-10, seed=3)
    string_ids = long.assign(store="store " + long["store"].str[5:])
    int_ids = long.assign(store=long["store"].str[5:].astype(int) * 10)
    path = tmp_path / "copy.csv"
    wide.to_csv(path, index=False)
    for data in (panel, wide, long, string_ids, int_ids, (panel.y, panel.X), str(path)):
        fitted = SalesMixture(2, **FAST).fit(data)
        assert fitted.loglik_ == pytest.approx(reference.loglik, rel=1e-10), type(data)
        np.testing.assert_allclose(fitted.theta_, reference.theta, rtol=1e-7)
        np.testing.assert_allclose(fitted.pi_, reference.pi, rtol=1e-7)
        np.testing.assert_allclose(np.asarray(fitted.posteriors_), reference.posteriors, atol=1e-8)
    assert fitted.theta_.shape == (2, 2) and fitted.sigma_.tolist() == [1.0, 1.0]
    assert isinstance(fitted.converged_, bool) and fitted.n_iter_ > 0
    assert 1 <= fitted.n_starts_at_best_ <= 5


def test_per_store_outputs_are_labelled_by_store_id_for_frames(model, long):
    assert isinstance(model.posteriors_, pd.DataFrame)
    assert model.posteriors_.index[0] == "Sales1"
    assert (model.posteriors_.to_numpy().argmax(axis=1) == model.labels_).all()
    by_int = SalesMixture(3, **FAST).fit(long.assign(store=long["store"].str[5:].astype(int)))
    assert by_int.posteriors_.index[:3].tolist() == [1, 2, 3]
    by_panel = SalesMixture(3, **FAST).fit(load_csv(REAL_DATA))
    assert isinstance(by_panel.posteriors_, np.ndarray) and by_panel.labels_.shape == (300,)


def test_predict_proba_on_the_training_data_is_the_posteriors(model, wide, long):
    np.testing.assert_allclose(model.predict_proba(wide), model.posteriors_, rtol=0, atol=1e-13)
    assert (model.predict(wide) == model.labels_).all()
    as_long = model.predict_proba(long).loc[model.posteriors_.index]
    np.testing.assert_allclose(as_long, model.posteriors_, atol=1e-9)
    panel = load_csv(REAL_DATA)
    np.testing.assert_allclose(model.predict_proba(panel.y), model.posteriors_, atol=1e-13)


def test_new_stores_at_their_own_prices_with_missing_weeks(model, long):
    rng = np.random.default_rng(5)
    new = long[long["store"].isin([f"Sales{i}" for i in range(1, 41)])].copy()
    new["price"] *= np.exp(rng.normal(0, 0.2, len(new)))  # store-specific prices
    new = new.drop(index=rng.choice(new.index, size=len(new) // 5, replace=False))
    new["store"] = "new " + new["store"]
    panel = load_long_csv(new)
    expected = brute_store_logliks(panel, model.theta_, model.pi_, model.sigma_)
    got = model.score_samples(new)
    assert got.index.tolist() == list(panel.store_ids)
    np.testing.assert_allclose(got.to_numpy(), expected, rtol=1e-10)
    assert model.score(new) == pytest.approx(expected.mean(), rel=1e-10)
    joint = np.log(model.pi_) + np.column_stack(
        [brute_store_logliks(panel, model.theta_[[c]], [1.0], model.sigma_[[c]]) for c in range(3)]
    )
    posterior = np.exp(joint - logsumexp(joint, axis=1, keepdims=True))
    np.testing.assert_allclose(model.predict_proba(new).to_numpy(), posterior, atol=1e-10)
    assert (model.predict(new).to_numpy() == posterior.argmax(axis=1)).all()


def test_score_samples_sum_to_the_training_loglik(model, wide):
    assert model.score_samples(wide).sum() == pytest.approx(model.loglik_, rel=1e-12)
    assert model.score(wide) == pytest.approx(model.loglik_ / 300, rel=1e-12)


def test_wrong_regressors_are_refused(model):
    frame = pd.DataFrame(
        {"store": ["a", "a", "a"], "week": [1, 2, 3], "sales": [3.0, 4, 5], "price": [1, 2, 3.0]}
    )
    frame["promo"] = [0, 1, 0]
    with pytest.raises(ValueError, match=r"regressors \('alpha', 'beta', 'promo'\) but the model"):
        model.predict(frame)


def test_select_k_and_criteria_equal_results_json(wide):
    results = json.loads(RESULTS.read_text())
    settings = results["settings"]
    table, chosen = select_k(
        wide,
        settings["k_range"],
        n_init=settings["n_init"],
        tol=settings["tol"],
        max_iter=settings["max_iter"],
        init=settings["init"],
        random_state=settings["seed"],
    )
    assert chosen.n_components == results["chosen_K"] == table.index[table["chosen"]][0]
    for entry in results["models"]:
        row = table.loc[entry["K"]]
        assert row["loglik"] == pytest.approx(entry["loglik"], abs=1e-6)
        for name in CRITERIA:
            assert row[name] == pytest.approx(entry["criteria"][name], abs=1e-5), name
    at_chosen = next(m for m in results["models"] if m["K"] == chosen.n_components)
    assert chosen.bic() == pytest.approx(at_chosen["bic"], abs=1e-5)
    assert chosen.aic() == pytest.approx(at_chosen["aic"], abs=1e-5)
    # the same criteria through the new-data path (posteriors recomputed from the data)
    for name, value in chosen.criteria(wide).items():
        assert value == pytest.approx(at_chosen["criteria"][name], abs=1e-5), name
    summary = chosen.summary()
    observed = at_chosen["standard_errors"]["observed"]
    params = summary.parameters
    for c in range(chosen.n_components):
        for name in ("alpha", "beta", "pi"):
            row = params.loc[f"{name}[{c + 1}]"]
            assert row["std err"] == pytest.approx(observed[name]["se"][c], rel=1e-6)
            assert row["[0.025"] == pytest.approx(observed[name]["ci"][c][0], rel=1e-6)
            assert row["0.975]"] == pytest.approx(observed[name]["ci"][c][1], rel=1e-6)
        z = at_chosen["beta"][c] / observed["beta"]["se"][c]
        assert params.loc[f"beta[{c + 1}]", "z"] == pytest.approx(z, rel=1e-6)
    assert observed["pi"]["interval"] == "logit-wald"
    assert (
        select_k(wide, (1, 2, 3, 4), "icl", **FAST)[1].n_components == results["chosen_by"]["icl"]
    )


def test_summary_lists_every_parameter_and_the_fit_checks(model):
    summary = model.summary()
    assert summary.parameters.index.tolist() == [
        "alpha[1]",
        "beta[1]",
        "alpha[2]",
        "beta[2]",
        "alpha[3]",
        "beta[3]",
        "pi[1]",
        "pi[2]",
        "pi[3]",
    ]
    assert summary.info["starts at best"] == f"{model.n_starts_at_best_}/5"
    assert summary.checks["bic"] == pytest.approx(model.bic())
    text = str(summary)
    for needle in ("log L:", "converged:", "starts at best:", "Newton step / SE:", "alpha[3]"):
        assert needle in text


def test_summary_with_estimated_sigma_has_sigma_rows(wide):
    fitted = SalesMixture(2, sigma="common", **FAST).fit(wide)
    rows = fitted.summary().parameters
    assert rows.index[-1] == "sigma" and rows.loc["sigma", "std err"] > 0
    assert rows.loc["sigma", "coef"] == pytest.approx(fitted.sigma_[0])
    assert np.isnan(rows.loc["sigma", "z"]) and np.isnan(rows.loc["sigma", "P>|z|"])


def test_reprs_are_compact(model):
    assert repr(SalesMixture()) == "SalesMixture(n_components=3)"
    text = repr(model)
    assert text.startswith("SalesMixture(n_components=3, n_init=5, tol=1e-10, random_state=3)")
    assert "300 stores" in text and len(text) < 200
    fit_text = repr(model.fit_)
    assert len(fit_text) < 300 and "\n" not in fit_text
    assert f"loglik={model.loglik_:.6f}" in fit_text and "K=3" in fit_text


def test_library_doc_code_runs(monkeypatch, capsys):
    text = (REPO / "docs" / "library.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/library.md", "exec"), namespace)
    assert namespace["best"].n_components == 3
    assert "SalesMixture results" in capsys.readouterr().out
