"""A study of the user's own: simstudy.run_simulation, its metrics and its generic report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simstudy
from simstudy import StudyFailedError, bias, mcse_mean, rmse, run_simulation
from simstudy.harness.records import RecordWarning
from simstudy.harness.runner import StudyMismatchError, replication_seed
from simstudy.harness.simulation import design_rows
from simstudy.writeup.generic import (
    factor_table,
    plot_statistic,
    summary_frame,
    write_generic_report,
)
from simstudy.writeup.study_report import rebuild_study

REPO = Path(__file__).resolve().parents[1]
DESIGN = [{"n": 5, "mu": 0.0, "dist": "normal"}, {"n": 40, "mu": 1.5, "dist": "normal"}]


def generate(condition, rng):
    return rng.normal(condition["mu"], 1.0, condition["n"])


def analyse(condition, data, rng):
    return {"mean": float(data.mean()), "median": float(np.median(data)), "u": rng.random()}


def summarise(condition, results):
    return {
        "bias": bias(results["mean"], condition["mu"]),
        "rmse": rmse(results["mean"], condition["mu"]),
        "mcse": mcse_mean(results["mean"]),
        "n_seen": len(results),
    }


def test_metrics_helpers_match_their_formulas():
    values = np.array([1.0, 2.0, 4.0, np.nan])
    assert bias(values, 2.0) == pytest.approx(1 / 3)
    assert rmse(values, 2.0) == pytest.approx(np.sqrt(5 / 3))
    assert mcse_mean(values) == pytest.approx(np.std([1, 2, 4], ddof=1) / np.sqrt(3))
    assert np.isnan(mcse_mean([1.0])) and np.isnan(bias([], 0.0))
    for name in ("wilson_interval", "interval_coverage", "match_segments", "parameter_recovery"):
        assert callable(getattr(simstudy, name))


def test_run_simulation_summarises_each_condition_from_its_own_seeds(tmp_path):
    frame = run_simulation(
        DESIGN, 6, generate, analyse, summarise, out_dir=tmp_path / "a", seed=3, progress=None
    )
    assert list(frame.columns[:3]) == ["n", "mu", "dist"]
    assert frame["n_ok"].tolist() == [6, 6] and frame["n_errors"].tolist() == [0, 0]
    assert frame["n_seen"].tolist() == [6, 6]
    # recompute condition 1 by hand from the documented seeds (generate: child 0)
    means = []
    for r in range(6):
        root = np.random.SeedSequence(replication_seed(3, 1, r))
        data = np.random.default_rng(root.spawn(2)[0]).normal(1.5, 1.0, 40)
        means.append(data.mean())
    assert frame.loc[1, "bias"] == pytest.approx(np.mean(means) - 1.5, abs=1e-12)
    # the same study as a DataFrame, in parallel threads with other batches: the same numbers
    again = run_simulation(
        pd.DataFrame(DESIGN), 6, generate, analyse, summarise, out_dir=tmp_path / "b",
        seed=3, n_jobs=2, backend="threading", batch_size=4, progress=None,
    )  # fmt: skip
    pd.testing.assert_frame_equal(frame, again)
    raw = pd.read_csv(tmp_path / "a" / "raw" / "condition_0001.csv")
    for seed, u in zip(raw["seed"], raw["u"], strict=True):  # analyse: child 1 (module doc)
        rng = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(2)[1])
        assert u == rng.random()
    saved = pd.read_csv(tmp_path / "a" / "summary.csv")
    np.testing.assert_allclose(saved["rmse"], frame["rmse"], rtol=1e-12)
    document = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert document["conditions"][1]["factors"] == DESIGN[1]


def test_default_summary_is_the_mean_and_a_rerun_resumes(tmp_path):
    calls = []

    def counting(condition, rng):
        calls.append(condition["n"])
        return generate(condition, rng)

    first = run_simulation(DESIGN, 3, counting, analyse, out_dir=tmp_path, progress=None)
    assert len(calls) == 6
    raw = pd.read_csv(tmp_path / "raw" / "condition_0000.csv")
    assert first.loc[0, "mean"] == pytest.approx(raw["mean"].mean())
    assert "replication" not in first and "seed" not in first
    more = run_simulation(DESIGN, 5, counting, analyse, out_dir=tmp_path, progress=None)
    assert len(calls) == 6 + 4  # only replications 3 and 4 of each condition ran
    assert more["n_ok"].tolist() == [5, 5]
    with pytest.raises(StudyMismatchError, match=r"restart=True"):
        run_simulation(DESIGN, 5, counting, analyse, out_dir=tmp_path, seed=1, progress=None)
    again = run_simulation(DESIGN, 2, counting, analyse, out_dir=tmp_path, seed=1, progress=None,
                           restart=True)  # fmt: skip
    assert len(calls) == 10 + 4 and again["n_ok"].tolist() == [2, 2]


def test_a_torn_record_is_reported_once(tmp_path):
    run_simulation(DESIGN, 4, generate, analyse, out_dir=tmp_path, progress=None)
    path = tmp_path / "raw" / "condition_0001.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2][:10]  # record 2 cut short and joined to the next
    path.write_text("".join(lines))
    with pytest.warns(RecordWarning) as caught:
        frame = run_simulation(DESIGN, 4, generate, analyse, out_dir=tmp_path, progress=None)
    assert [str(w.message).count("line 3") for w in caught] == [1]
    assert frame["n_ok"].tolist() == [4, 4]


@pytest.mark.parametrize(
    ("design", "message"),
    [
        ([{"df": np.inf}], r"design row 0, factor 'df': inf cannot be stored.*'inf'"),
        ([{"df": 3}, {"df": float("nan")}], r"design row 1, factor 'df': nan"),
        ([{"a": 1}, {"b": 1}], r"design row 1: factors \['b'\] differ"),
        ([{"x": np.zeros(2)}], r"factor 'x': a level of type ndarray"),
        ([], "empty design"),
        ({"n": [1, 2]}, "expected a DataFrame or a list of dicts"),
        ([{"seed": 1}], r"reserved"),
    ],
)
def test_bad_designs_are_refused_before_anything_is_written(tmp_path, design, message):
    out = tmp_path / "study"
    with pytest.raises(ValueError, match=message):
        run_simulation(design, 2, generate, analyse, out_dir=out, progress=None)
    assert not out.exists()


def test_an_output_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(ValueError, match=r"^out_dir: .*a_file/study is under .*a_file, which is"):
        run_simulation(DESIGN, 2, generate, analyse, out_dir=tmp_path / "a_file" / "study")


def test_numpy_levels_are_plain_json():
    rows = design_rows(pd.DataFrame({"n": np.array([5, 6]), "x": [0.5, 1.0]}))
    assert rows == [{"n": 5, "x": 0.5}, {"n": 6, "x": 1.0}]
    assert type(rows[0]["n"]) is int


def test_errors_are_recorded_and_a_study_that_only_fails_says_why(tmp_path):
    def fragile(condition, data, rng):
        if condition["n"] == 5:
            raise ArithmeticError("too few stores")
        return analyse(condition, data, rng)

    frame = run_simulation(DESIGN, 2, generate, fragile, out_dir=tmp_path / "a", progress=None)
    assert frame["n_errors"].tolist() == [2, 0]
    assert frame.loc[0, "first_error"] == "ArithmeticError: too few stores"
    assert np.isnan(frame.loc[0, "mean"]) and frame.loc[1, "n_ok"] == 2
    # the user's summarise only sees conditions with results
    frame = run_simulation(
        DESIGN, 2, generate, fragile, summarise, out_dir=tmp_path / "s", progress=None
    )
    assert np.isnan(frame.loc[0, "rmse"]) and np.isfinite(frame.loc[1, "rmse"])

    def no_dict(condition, data, rng):
        return data.mean()

    with pytest.raises(StudyFailedError, match="analyse must return a dict"):
        run_simulation(DESIGN, 2, generate, no_dict, out_dir=tmp_path / "b", progress=None)
    assert (tmp_path / "b" / "raw" / "condition_0001.csv").is_file()  # records kept


# ---------------------------------------------------------------------------
# generic tables and figures
# ---------------------------------------------------------------------------


def _grid_summaries(tmp_path):
    design = [{"n": n, "mu": 0.0, "dist": d} for d in ("normal", "t") for n in (5, 20, 80)]
    return run_simulation(design, 4, generate, analyse, summarise, out_dir=tmp_path, progress=None)


def test_generic_report_tables_and_figures(tmp_path):
    frame = _grid_summaries(tmp_path / "study")
    paths = write_generic_report(frame, tmp_path / "report", x="n", lines="dist")
    names = sorted(p.name for p in paths)
    assert "summary.md" in names and "summary.tex" in names
    assert {"rmse_by_n.png", "rmse_by_n.pdf", "bias_by_n.png"} <= set(names)
    assert "n_ok_by_n.png" not in names  # counts are tabled, not plotted
    table = (tmp_path / "report" / "tables" / "summary.md").read_text().splitlines()
    assert table[0].split("|")[1:4] == [" n   ", " mu   ", " dist   "]
    assert f"{frame.loc[2, 'rmse']:.4g}" in table[4]
    assert "\\toprule" in (tmp_path / "report" / "tables" / "summary.tex").read_text()
    fig = plot_statistic(*summary_frame(frame), "rmse", x="n", lines="dist")
    (normal, t) = fig.axes[0].lines
    np.testing.assert_allclose(normal.get_xdata(), [5, 20, 80])
    np.testing.assert_allclose(normal.get_ydata(), frame["rmse"][:3])
    np.testing.assert_allclose(t.get_ydata(), frame["rmse"][3:])
    assert normal.get_label() == "dist = normal"
    assert fig.axes[0].get_xscale() == "log"  # 5 to 80 stores


def test_bad_report_choices_write_nothing(tmp_path):
    frame = _grid_summaries(tmp_path / "study")
    with pytest.raises(ValueError, match="x='N' is not a design factor"):
        write_generic_report(frame, tmp_path / "report", x="N")
    with pytest.raises(ValueError, match=r"\['nope'\] are not in"):
        factor_table(*summary_frame(frame), columns=["nope"])
    assert not (tmp_path / "report").exists()


def test_rebuilding_a_study_of_your_own_gives_the_generic_report(tmp_path):
    _grid_summaries(tmp_path)
    paths = rebuild_study(tmp_path, figures=False)
    assert [p.name for p in paths] == ["summary.md", "summary.tex"]
    assert "| dist" in (tmp_path / "tables" / "summary.md").read_text()


# ---------------------------------------------------------------------------
# docs/own_study.md runs as written
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_own_study_tutorial_runs(tmp_path, monkeypatch):
    """Every python block of docs/own_study.md, in order, at the documented small size."""
    doc = REPO / "docs" / "own_study.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 6
    monkeypatch.setenv("SALESMIX_QUICK", "1")
    monkeypatch.chdir(tmp_path)  # the tutorial writes outputs/own_study relative to here
    namespace: dict = {"__name__": "own_study_doc"}
    for block in blocks:
        exec(compile(block, str(doc), "exec"), namespace)  # noqa: S102 - the tutorial's own code
    summaries = namespace["summaries"]
    assert len(summaries) == 4 and summaries["n_errors"].sum() == 0
    assert summaries["n_ok"].tolist() == [3, 3, 3, 3]
    assert summaries["bic_hit_rate"].between(0, 1).all()
    out = tmp_path / "outputs" / "own_study"
    assert (out / "tables" / "summary.md").is_file()
    assert (out / "figures" / "bic_hit_rate_by_N.png").is_file()


def _own_study_table() -> tuple[str, pd.DataFrame]:
    summaries = pd.read_csv(REPO / "outputs" / "own_study" / "summary.csv")
    frame, factors = summary_frame(summaries)
    columns = ["bic_hit_rate", "bic_ci_low", "bic_ci_high"]
    return factor_table(frame, factors, columns=columns), frame


def test_own_study_results_in_the_doc_come_from_outputs():
    doc = (REPO / "docs" / "own_study.md").read_text(encoding="utf-8")
    shown = re.search(r"<!-- own_study_table -->\n(.*?)<!-- /own_study_table -->", doc, re.S)
    table, frame = _own_study_table()
    assert shown is not None and shown.group(1).strip() == table.strip()
    # the doc's reading: at every N the two hit rates' intervals overlap
    for _, cell in frame.groupby("N"):
        normal, t5 = (cell[cell["errors"] == e].iloc[0] for e in ("normal", "t5"))
        assert (
            normal["bic_ci_low"] <= t5["bic_ci_high"] and t5["bic_ci_low"] <= normal["bic_ci_high"]
        )
    assert len(frame) == 6 and set(frame["n_ok"]) == {200}
