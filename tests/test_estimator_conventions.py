"""statsmodels' summary layout and scikit-learn's ``sample`` on SalesMixture."""

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_DATA, REPO
from scipy.special import expit, logit
from scipy.stats import norm

from estimator import (
    LongPanel,
    Panel,
    SalesMixture,
    load_csv,
    observed_information_se,
    panel_from_arrays,
)
from estimator.estimator_base import MixtureEstimator

FAST = {"n_init": 5, "tol": 1e-10, "random_state": 3}
COLUMNS = ["coef", "std err", "z", "P>|z|", "[0.025", "0.975]"]


@pytest.fixture(scope="module")
def wide() -> pd.DataFrame:
    return pd.read_csv(REAL_DATA)


@pytest.fixture(scope="module")
def model(wide) -> SalesMixture:
    return SalesMixture(3, **FAST).fit(wide)


@pytest.fixture(scope="module")
def irregular(wide) -> pd.DataFrame:
    """The real stores in long form, at store-specific prices, a fifth of the weeks missing."""
    rng = np.random.default_rng(8)
    frame = wide.melt(id_vars="Price", var_name="store", value_name="sales", ignore_index=False)
    frame = frame.rename_axis("week").reset_index().rename(columns={"Price": "price"})
    frame = frame[frame["store"].isin([f"Sales{i}" for i in range(1, 81)])].copy()
    frame["price"] *= np.exp(rng.normal(0, 0.2, len(frame)))
    frame["promo_flag"] = (rng.random(len(frame)) < 0.3).astype(float)
    return frame.drop(index=rng.choice(frame.index, size=len(frame) // 5, replace=False))


# ---------------------------------------------------------------------------
# summary(): statsmodels' columns, one pi interval, text / LaTeX / HTML
# ---------------------------------------------------------------------------


def test_summary_has_statsmodels_columns_and_level_dependent_limits(model):
    assert list(model.summary().parameters.columns) == COLUMNS
    assert list(model.summary(0.9).parameters.columns)[-2:] == ["[0.05", "0.95]"]
    assert list(model.summary(0.99).parameters.columns)[-2:] == ["[0.005", "0.995]"]


def test_summary_numbers_are_the_inference_and_the_normal_tail(model):
    table = model.summary().parameters
    inference = observed_information_se(model.fit_, load_csv(REAL_DATA).sufficient_stats())
    theta_rows = table.iloc[:6]
    np.testing.assert_allclose(theta_rows["coef"], model.theta_.ravel())
    np.testing.assert_allclose(theta_rows["std err"], inference.se_theta.ravel(), rtol=1e-9)
    z = model.theta_.ravel() / inference.se_theta.ravel()
    np.testing.assert_allclose(theta_rows["z"], z, rtol=1e-9)
    np.testing.assert_allclose(theta_rows["P>|z|"], 2 * norm.sf(np.abs(z)), rtol=1e-9, atol=1e-300)
    lower = model.theta_.ravel() - norm.ppf(0.975) * inference.se_theta.ravel()
    np.testing.assert_allclose(theta_rows["[0.025"], lower, rtol=1e-9)
    pi_rows = table.loc[["pi[1]", "pi[2]", "pi[3]"]]
    assert pi_rows["z"].isna().all() and pi_rows["P>|z|"].isna().all()  # pi = 0 is the boundary


def test_pi_has_one_interval_the_logit_one_in_the_inference_and_the_summary(model):
    inference = observed_information_se(model.fit_, load_csv(REAL_DATA).sufficient_stats())
    half = norm.ppf(0.975) * inference.se_pi / (model.pi_ * (1 - model.pi_))
    expected = expit(logit(model.pi_)[:, None] + np.outer(half, [-1.0, 1.0]))
    np.testing.assert_allclose(inference.ci_pi, expected, rtol=1e-12)
    assert not hasattr(inference, "ci_pi_logit")
    table = model.summary().parameters.loc[["pi[1]", "pi[2]", "pi[3]"]]
    np.testing.assert_allclose(table[["[0.025", "0.975]"]].to_numpy(), expected, rtol=1e-12)
    assert (table["[0.025"] > 0).all() and (table["0.975]"] < 1).all()
    as_json = inference.to_dict()["pi"]
    assert as_json["interval"] == "logit-wald" and "ci_logit" not in as_json
    np.testing.assert_allclose(as_json["ci"], expected, rtol=1e-12)


def test_summary_text_is_what_print_shows(model, capsys):
    summary = model.summary()
    print(summary)
    text = capsys.readouterr().out.rstrip("\n")
    assert text == summary.as_text() == str(summary) == repr(summary)
    lines = text.splitlines()
    assert lines[1].strip() == "SalesMixture results" and max(map(len, lines)) <= 80
    header = next(line for line in lines if "std err" in line)
    assert [header.index(name) for name in COLUMNS] == sorted(header.index(n) for n in COLUMNS)
    pi_line = next(line for line in lines if line.startswith("pi[1]"))
    assert len(pi_line.split()) == 5  # coef, std err, limits; z and P>|z| blank


def test_summary_html_has_the_tables_escaped(model):
    html = model.summary().as_html()
    assert html.count("<table") == 2 and "<caption>SalesMixture results</caption>" in html
    assert "P&gt;|z|" in html and "P>|z|" not in html
    for name in model.summary().parameters.index:
        assert f"<td>{name}" in html
    assert model.summary()._repr_html_() == html


def test_summary_latex_compiles(irregular, tmp_path):
    fitted = SalesMixture(2, **FAST).fit(irregular)
    latex = fitted.summary().as_latex()
    assert r"$P>|z|$" in latex and r"promo\_flag[1]" in latex and "{[0.025}" in latex
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex not installed")
    doc = tmp_path / "summary.tex"
    doc.write_text(
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
        + latex
        + "\n\\end{document}\n"
    )
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "summary.pdf").stat().st_size > 0


# ---------------------------------------------------------------------------
# sample(): new stores with their design, in the form the model was fitted in
# ---------------------------------------------------------------------------


def test_sample_from_a_balanced_fit_is_the_model_at_the_training_prices(model, wide):
    data, labels = model.sample(40, random_state=11)
    assert list(data.columns) == ["Price", *(f"sample{i}" for i in range(1, 41))]
    pd.testing.assert_series_equal(data["Price"], wide["Price"])
    assert labels.index.tolist() == data.columns[1:].tolist() and labels.index.name == "store"
    # the draw itself: segments ~ pi, then y = X theta_c + sigma_c eps, from one stream
    rng = np.random.default_rng(11)
    drawn = rng.choice(3, size=40, p=model.pi_)
    noise = rng.standard_normal((40, len(wide)))
    X = np.column_stack([np.ones(len(wide)), np.log(wide["Price"])])
    expected = model.theta_[drawn] @ X.T + model.sigma_[drawn, None] * noise
    np.testing.assert_array_equal(labels.to_numpy(), drawn)
    np.testing.assert_allclose(np.log(data.iloc[:, 1:].to_numpy().T), expected, rtol=1e-12)
    again, _ = model.sample(40, random_state=11)
    pd.testing.assert_frame_equal(again, data)
    model.predict_proba(data)  # the form fit takes


def test_sampled_stores_follow_the_fitted_model(model):
    data, labels = model.sample(3000, random_state=5)
    panel = load_csv(data)
    shares = np.bincount(labels, minlength=3) / 3000
    np.testing.assert_allclose(shares, model.pi_, atol=4 * np.sqrt(0.25 / 3000))
    ols = panel.sufficient_stats().ols  # each store's own OLS: unbiased for its segment's theta
    for c in range(3):
        own = ols[labels.to_numpy() == c]
        se = own.std(axis=0, ddof=1) / np.sqrt(len(own))
        assert np.all(np.abs(own.mean(axis=0) - model.theta_[c]) < 4 * se)


def test_sample_keeps_the_form_of_arrays_and_panels(model):
    panel = load_csv(REAL_DATA)
    from_arrays = SalesMixture(2, **FAST).fit((panel.y, panel.X))
    (y, X), labels = from_arrays.sample(7)
    assert y.shape == (7, 52) and isinstance(labels, np.ndarray) and labels.shape == (7,)
    np.testing.assert_array_equal(X, panel.X)
    from_panel = SalesMixture(2, **FAST).fit(panel)
    drawn, _ = from_panel.sample(7)
    assert isinstance(drawn, Panel) and drawn.store_ids[0] == "sample1"
    np.testing.assert_array_equal(drawn.y, y)  # the same random_state, the same draw


def test_sample_of_an_unbalanced_fit_borrows_training_designs(irregular):
    fitted = SalesMixture(2, **FAST).fit(irregular)
    data, labels = fitted.sample(25, random_state=2)
    assert list(data.columns) == ["store", "week", "sales", "price", "promo_flag"]
    assert set(data["store"]) == set(labels.index) and len(labels) == 25
    designs = {
        store: frozenset(zip(rows["week"], rows["price"].round(9), rows["promo_flag"], strict=True))
        for store, rows in irregular.groupby("store")
    }
    for _, rows in data.groupby("store"):
        design = frozenset(
            zip(rows["week"], rows["price"].round(9), rows["promo_flag"], strict=True)
        )
        assert design in designs.values()  # weeks, prices and promotions of a training store
    assert isinstance(fitted.predict(data), pd.Series)


def test_sample_of_a_wide_fit_with_missing_weeks_keeps_the_gaps_of_a_training_store(wide):
    holes = wide.copy()
    rng = np.random.default_rng(4)
    for column in holes.columns[1:]:
        holes.loc[rng.random(len(holes)) < 0.1, column] = np.nan
    fitted = SalesMixture(2, **FAST).fit(holes)
    assert isinstance(fitted._train.panel, LongPanel)
    data, _ = fitted.sample(10, random_state=9)
    pd.testing.assert_series_equal(data["Price"], wide["Price"])
    patterns = {tuple(holes[c].isna()) for c in holes.columns[1:]}
    assert all(tuple(data[c].isna()) in patterns for c in data.columns[1:])
    assert isinstance(load_csv(data, missing="drop"), LongPanel)


def test_sample_refuses_a_count_that_is_not_a_whole_number(model):
    for bad, kind in ((0, ValueError), (2.5, TypeError), ("3", TypeError)):
        with pytest.raises(kind, match=r"^n_samples must be"):
            model.sample(bad)
    with pytest.raises(ValueError, match=r"^random_state must be >= 0"):
        model.sample(2, random_state=-4)


def test_library_doc_states_the_label_convention_once():
    text = (REPO / "docs" / "library.md").read_text()
    assert len(re.findall(r"0-based", text)) >= 1 and "segment_1" in text
    assert text.count("## Segment labels") == 1


# ---------------------------------------------------------------------------
# the base: a second front gets every convention by saying how data become a panel
# ---------------------------------------------------------------------------


class ArraysFront(MixtureEstimator):
    """A front for (y, X) only, with a required argument of its own (as a formula front has)."""

    _unit = "unit"

    def __init__(self, label, n_components=2, *, sigma="fixed", n_init=3, init="mixed",
                 tol=1e-8, max_iter=500, random_state=None):  # fmt: skip
        self._store(locals())

    def _panel(self, data, train):
        return panel_from_arrays(*data, coef_names=("a", "b"))


def test_a_second_front_gets_every_convention_from_the_base():
    base = pytest.importorskip("sklearn.base")
    panel = load_csv(REAL_DATA)
    front = ArraysFront("mine", random_state=0)
    assert front.get_params()["label"] == "mine" and repr(front).startswith("ArraysFront(label=")
    assert base.clone(front).get_params() == front.get_params()
    labels = front.fit_predict((panel.y, panel.X))
    reference = SalesMixture(2, n_init=3, tol=1e-8, max_iter=500, random_state=0).fit(panel)
    np.testing.assert_array_equal(labels, reference.labels_)
    assert front.summary().parameters.index[0] == "a[1]" and front.n_features_in_ == 2
    drawn, segments = front.sample(5)
    assert isinstance(drawn, Panel) and drawn.store_ids[0] == "sample1" and segments.shape == (5,)
    assert "units" in repr(front) and front.summary().info["units"] == 300
