"""The committed outputs/results.json comes out of the code: a fresh run reproduces it."""

import json
from pathlib import Path

import pandas as pd
import pytest

from experiments import fit_real

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "outputs" / "results.json"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("fit_real")
    assert fit_real.main(["--data", str(ROOT / "data" / "609948.csv"), "--out", str(out)]) == 0
    return out


def test_fresh_run_reproduces_committed_results(fresh):
    new = json.loads((fresh / "results.json").read_text())
    old = json.loads(COMMITTED.read_text())
    assert new["data"] == old["data"]
    assert new["settings"] == old["settings"]
    assert new["chosen_K"] == old["chosen_K"] == 3
    assert [m["K"] for m in new["models"]] == [1, 2, 3, 4]
    for a, b in zip(new["models"], old["models"], strict=True):
        assert a["loglik"] == pytest.approx(b["loglik"], rel=1e-6, abs=1e-6)
        assert a["theta"] == pytest.approx(b["theta"], rel=1e-4, abs=1e-4)
        assert a["n_params"] == 3 * a["K"] - 1


def test_results_schema(fresh):
    doc = json.loads((fresh / "results.json").read_text())
    assert (
        doc["data"]["file"] == "609948.csv" and doc["data"]["N"] == 300 and doc["data"]["T"] == 52
    )
    assert len(doc["data"]["sha256"]) == 64
    for key in ("tol", "max_iter", "n_init", "seed"):
        assert key in doc["settings"]
    for model in doc["models"]:
        k = model["K"]
        assert len(model["theta"]) == 2 * k and len(model["alpha"]) == k and len(model["pi"]) == k
        assert model["theta"][0::2] == model["alpha"] and model["theta"][1::2] == model["beta"]
        assert sum(model["pi"]) == pytest.approx(1.0)
        for key in ("bic", "bic_n", "aic", "aic3", "caic", "icl", "converged", "iterations"):
            assert key in model
        assert model["restarts_at_best"] >= 1
    bics = {m["K"]: m["bic"] for m in doc["models"]}
    assert doc["chosen_K"] == min(bics, key=bics.get)


def test_store_segments_file(fresh):
    frame = pd.read_csv(fresh / "real" / "store_segments.csv")
    assert len(frame) == 300
    assert list(frame.columns[:4]) == ["store", "posterior_1", "posterior_2", "posterior_3"]
    posteriors = frame[["posterior_1", "posterior_2", "posterior_3"]].to_numpy()
    assert posteriors.sum(axis=1) == pytest.approx(1.0, abs=1e-8)
    assert (frame["segment"] == posteriors.argmax(axis=1) + 1).all()


def test_bad_data_file_gives_clear_error_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Price,Sales1\n2,1\n3,x\n")
    out = tmp_path / "out"
    assert fit_real.main(["--data", str(bad), "--out", str(out)]) == 2
    assert "column 'Sales1', row 2" in capsys.readouterr().err
    assert not out.exists()


def test_default_path_reproduces_the_committed_results(fresh):
    """The assignment's model (balanced panel, sigma fixed) is untouched by the extensions.

    1e-9 relative in log-likelihood, not bit for bit: the last digit differs between
    machines (BLAS summation order)."""
    new = json.loads((fresh / "results.json").read_text())
    old = json.loads(COMMITTED.read_text())
    for a, b in zip(new["models"], old["models"], strict=True):
        assert a["loglik"] == pytest.approx(b["loglik"], rel=1e-9, abs=0)
        assert a["theta"] == pytest.approx(b["theta"], rel=1e-6, abs=1e-9)
        assert a["pi"] == pytest.approx(b["pi"], rel=1e-6, abs=1e-9)
        assert a["sigma"] == [1.0] * a["K"] and a["sigma_mode"] == "fixed"


@pytest.mark.parametrize("mode", ["common", "segment"])
def test_the_sigma_estimated_fits_reproduce_their_committed_results(mode, tmp_path):
    """outputs/real_sigma_MODE/results.json (the sigma calibration's truths, the report's
    sigma table) comes out of the code too: every model's maximum, estimates, guard entry,
    restart counts and standard errors, to the precision the default path is held to."""
    data = str(ROOT / "data" / "609948.csv")
    assert fit_real.main(["--data", data, "--sigma", mode, "--out", str(tmp_path)]) == 0
    new = json.loads((tmp_path / "results.json").read_text())
    old = json.loads((ROOT / "outputs" / f"real_sigma_{mode}" / "results.json").read_text())
    assert new["settings"] == old["settings"] and new["data"] == old["data"]
    assert new["chosen_K"] == old["chosen_K"]
    for a, b in zip(new["models"], old["models"], strict=True):
        assert a["loglik"] == pytest.approx(b["loglik"], rel=1e-9, abs=0)
        for key in ("theta", "pi", "sigma"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-9)
        for key in ("converged", "restarts_at_best", "distinct_maxima", "guard"):
            assert a.get(key) == b.get(key)
        committed_ses = numbers(b["standard_errors"])  # 28 numbers at K = 1
        assert committed_ses and numbers(a["standard_errors"]) == pytest.approx(
            committed_ses, rel=1e-5
        )


def numbers(tree):
    """Every number in a JSON tree, in document order (flags and names left out)."""
    if isinstance(tree, dict):
        return [x for value in tree.values() for x in numbers(value)]
    if isinstance(tree, list):
        return [x for value in tree for x in numbers(value)]
    return [tree] if isinstance(tree, float) else []
