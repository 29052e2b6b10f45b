"""fit_real's options: --sigma, --missing drop, long files with extra regressors, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import fit_real

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "data" / "609948.csv"
FAST = ["--k", "1", "2", "--n-init", "5"]


def run(capsys, *args):
    code = fit_real.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def two_segment_wide(rng, n_stores=40, n_weeks=14):
    """Sales from two well separated segments; rows are weeks."""
    log_price = np.log(rng.uniform(1.0, 5.0, n_weeks))
    theta = np.array([[8.0, -1.0], [11.0, -2.0]])
    segment = rng.permutation(np.arange(n_stores) % 2)
    y = theta[segment, :1] + theta[segment, 1:] * log_price + rng.normal(size=(n_stores, n_weeks))
    frame = pd.DataFrame(np.exp(y).T, columns=[f"S{i + 1}" for i in range(n_stores)])
    frame.insert(0, "Price", np.exp(log_price))
    return frame


def two_segment_long(rng, n_stores=40, n_weeks=16):
    """Store-specific prices and a promotion flag that lifts sales by 0.5 or 1.0."""
    theta = np.array([[8.0, -1.0, 0.5], [11.0, -2.0, 1.0]])
    rows = []
    for i in range(n_stores):
        c = i % 2
        for t in range(n_weeks):
            price = rng.uniform(1.0, 5.0)
            promo = float(rng.uniform() < 0.3)
            mean = theta[c] @ [1.0, np.log(price), promo]
            rows.append((f"shop{i}", t + 1, np.exp(mean + rng.normal()), price, promo))
    return pd.DataFrame(rows, columns=["store", "week", "sales", "price", "promo"])


def test_sigma_segment_writes_sigma_and_its_standard_errors(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "--data", REAL, "--out", out, "--sigma", "segment", *FAST)
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["settings"]["sigma"] == "segment"
    for model in doc["models"]:
        k = model["K"]
        assert model["sigma_mode"] == "segment" and len(model["sigma"]) == k
        assert model["n_params"] == 3 * k - 1 + k
        for method in ("observed", "naive"):
            errors = model["standard_errors"][method]
            assert errors["sigma_mode"] == "segment" and len(errors["sigma"]["se"]) == k
            for sigma, se, (low, high) in zip(
                model["sigma"], errors["sigma"]["se"], errors["sigma"]["ci"], strict=True
            ):
                assert 0 < se < 0.1 and 0 < low < sigma < high
    table = stdout.split("chosen K")[1]
    assert "sigma estimated per segment" in table
    assert sum(line.split()[1] == "sigma" for line in table.splitlines()[3:] if line) == 2


def test_sigma_common_prints_one_sigma_row(tmp_path, capsys):
    code, stdout, _ = run(capsys, "--data", REAL, "--out", tmp_path, "--sigma", "common", *FAST)
    assert code == 0
    rows = [line.split() for line in stdout.split("chosen K")[1].splitlines()[3:] if line]
    assert [row[:2] for row in rows if row[1] == "sigma"] == [["all", "sigma"]]
    model = json.loads((tmp_path / "results.json").read_text())["models"][1]
    assert model["n_params"] == 6 and model["sigma"][0] == model["sigma"][1]


def test_missing_drop_fits_a_wide_file_with_holes(tmp_path, capsys):
    rng = np.random.default_rng(1)
    frame = two_segment_wide(rng).astype(object)
    holes = rng.random(frame.shape) < 0.15
    holes[:, 0] = False  # Price stays complete
    frame = frame.mask(holes, "")
    frame.loc[0, "S7"] = 1000.0
    frame.loc[1:, "S7"] = ""  # one week left: fewer than the two regressors
    data = tmp_path / "holes.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    code, _, err = run(capsys, "--data", data, "--out", out, *FAST)
    assert code == 2 and "--missing drop" in err and not out.exists()
    code, stdout, err = run(capsys, "--data", data, "--out", out, "--missing", "drop", *FAST)
    assert code == 0
    assert "warning:" in err and "S7" in err
    doc = json.loads((out / "results.json").read_text())
    assert doc["settings"]["missing"] == "drop" and doc["settings"]["format"] == "wide"
    assert doc["data"]["N"] == 39
    assert doc["data"]["excluded_stores"] == [
        {"store": "S7", "reason": "1 week(s) observed, fewer than 2"}
    ]
    observed = frame.drop(columns=["Price", "S7"]).ne("").to_numpy().sum()
    assert doc["data"]["store_weeks"] == observed
    assert doc["chosen_K"] == 2
    segments = pd.read_csv(out / "real" / "store_segments.csv")
    assert "S7" not in set(segments["store"]) and len(segments) == 39
    assert "39 stores (1 excluded)" in stdout


def test_long_file_with_promo_names_it_in_results(tmp_path, capsys):
    data = tmp_path / "long.csv"
    two_segment_long(np.random.default_rng(2)).to_csv(data, index=False)
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "--data", data, "--out", out, "--sigma", "common", *FAST)
    assert code == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["settings"]["format"] == "long" and doc["settings"]["extra_regressors"] == ["promo"]
    assert doc["data"]["excluded_stores"] == [] and doc["data"]["store_weeks"] == 40 * 16
    model = doc["models"][1]
    assert model["theta"][0::3] == model["alpha"] and model["theta"][2::3] == model["promo"]
    assert model["promo"] == pytest.approx([0.5, 1.0], abs=0.2)
    assert model["n_params"] == 3 * 2 + 1 + 1
    assert len(model["standard_errors"]["observed"]["promo"]["se"]) == 2
    assert "regressors: alpha, beta, promo" in stdout
    assert "promo" in stdout.split("chosen K")[1]


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("store,week,sales\na,1,2\n", [], "missing column(s) ['price']"),
        ("store,week,sales,price\na,1,2,3\na,2,x,3\n", [], "column 'sales', row 2"),
        ("store,week,sales,price\na,1,2,3\na,1,4,3\n", [], "appears more than once"),
        ("store,week,sales,price,pi\na,1,2,3,0\na,2,3,4,1\na,3,4,2,0\na,4,5,3,1\n", [], "reserved"),
        ("store,week,sales,price\na,1,2,3\n", ["--missing", "drop"], "applies to wide files"),
        ("store,week,sales,price\na,1,2,3\n", ["--extra", "promo"], "not in the file"),
        ("Price,S1\n2,1\n3,2\n", ["--extra", "promo"], "need the long format"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(
    tmp_path, capsys, content, options, message
):
    data = tmp_path / "bad.csv"
    data.write_text(content)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "--data", data, "--out", out, *options, *FAST)
    assert code == 2
    assert err.startswith("error: ") and message in err and str(data) in err
    assert stdout == "" and not out.exists()
