"""Every committed study summary is what the code makes of the committed records.

The study folders under outputs/ keep their raw records; summarising them again
(through the harness, as a run would) must give every number of the committed
summary.json, to the last digit, and the committed folder must be the study its
config describes (so a rerun resumes it instead of refusing it).
"""

import json
import math
from pathlib import Path

import pytest

from simstudy.harness.files import jsonable
from simstudy.harness.measures import mcse_sd
from simstudy.harness.records import read_records, records_frame, write_records
from simstudy.harness.runner import raw_path, run_replication
from simstudy.harness.simulation import build_study, condition_summary
from simstudy.studies import baselines, concomitant, guard, mixture, sigma_calibration
from simstudy.studies.config import load_config

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = REPO / "outputs"
STUDIES = ("real_like", "irregular", "blrt_size", "blrt_grid")


def differences(committed, recomputed, path=""):
    """Where ``recomputed`` differs from ``committed`` (every key of the latter, exactly)."""
    if isinstance(committed, dict):
        out = []
        for key, value in committed.items():
            if key not in recomputed:
                out.append(f"{path}.{key} missing")
            else:
                out += differences(value, recomputed[key], f"{path}.{key}")
        return out
    if isinstance(committed, list):
        if len(committed) != len(recomputed):
            return [f"{path}: {len(recomputed)} entries, committed {len(committed)}"]
        pairs = enumerate(zip(committed, recomputed, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{path}[{i}]")]
    if isinstance(committed, float) and isinstance(recomputed, float):
        same = committed == recomputed or (math.isnan(committed) and math.isnan(recomputed))
        return [] if same else [f"{path}: {recomputed!r}, committed {committed!r}"]
    return [] if committed == recomputed else [f"{path}: {recomputed!r}, committed {committed!r}"]


def committed_config(name):
    """The study's shipped config, its price data found from this checkout."""
    config = load_config(REPO / "experiments" / "configs" / f"{name}.json")
    config["price_data"] = str(REPO / config["price_data"])
    return config


@pytest.mark.parametrize("name", STUDIES)
def test_committed_summaries_come_from_the_committed_records(name):
    folder = OUTPUTS / name
    config = committed_config(name)
    study = mixture.study(config)
    committed = json.loads((folder / "summary.json").read_text())
    manifest = json.loads((folder / "study.json").read_text())
    assert manifest["code"] == study.code() == {"version": mixture.VERSION}
    assert manifest["seed"] == study.seed and manifest["name"] == study.name
    assert len(committed["conditions"]) == len(study.conditions)
    found = []
    for condition, entry in zip(study.conditions, committed["conditions"], strict=True):
        records = records_frame(read_records(raw_path(folder, condition.id)))
        assert len(records) == config["replications"]
        summary = condition_summary(condition, records, mixture.summarise)
        summary = jsonable({**condition.to_dict(), **summary})
        found += differences(
            {k: v for k, v in entry.items() if k != "price_data"},
            summary,
            f"condition {condition.id}",
        )
    assert found == []


def test_the_differences_are_seen():
    assert differences({"a": [1.0, {"b": 2}]}, {"a": [1.0, {"b": 2}], "c": 3}) == []
    assert differences({"a": 0.1}, {"a": 0.10000000000000002}) == [
        ".a: 0.10000000000000002, committed 0.1"
    ]
    assert differences({"a": {"b": 1}}, {"a": {}}) == [".a.b missing"]


def test_a_design_of_condition_objects_keeps_its_manifest():
    """The built-in studies pass their conditions as they are: study.json is unchanged."""
    config = load_config(REPO / "experiments" / "configs" / "real_like.json")
    manifest = json.loads((OUTPUTS / "real_like" / "study.json").read_text())
    settings = {k: config[k] for k in ("k_range", "fit", "price_data")}
    study = build_study(
        mixture.conditions(config), 1, mixture.generate, mixture.analyse,
        seed=config["seed"], name=config["name"], settings=settings,
    )  # fmt: skip
    assert json.loads(json.dumps(study.manifest())) == {k: manifest[k] for k in study.manifest()}


def test_the_grid_summary_carries_every_measure_with_its_mcse():
    """selection_grid's records are not committed (57,600 rows): its summary, made from
    them by the run, carries rsimsum's measures, the empirical SE's MCSE as its formula."""
    summary = json.loads((OUTPUTS / "selection_grid" / "summary.json").read_text())
    entries = [r for c in summary["conditions"] for r in c["recovery"]]
    assert len(entries) == 2160
    assert all(r["mcse_sd"] == pytest.approx(mcse_sd(r["sd"], r["n"]), rel=1e-12) for r in entries)
    for key in ("bias", "rmse", "mse"):
        assert all(math.isfinite(r[f"mcse_{key}"]) and r[f"mcse_{key}"] >= 0 for r in entries)


@pytest.mark.parametrize(
    ("name", "condition_id", "replication"),
    [
        ("real_like", 0, 0),
        ("irregular", 3, 1),
        pytest.param("blrt_size", 0, 0, marks=pytest.mark.slow),
        pytest.param("blrt_grid", 1, 2, marks=pytest.mark.slow),
    ],
)
@pytest.mark.filterwarnings("ignore::estimator.results.ConvergenceWarning")
def test_the_current_code_reproduces_a_committed_record_bit_for_bit(
    name, condition_id, replication, tmp_path
):
    """A rerun of a committed study must resume it with the same numbers: an engine change
    that moves a last digit fails here until the studies are regenerated."""
    assert_reproduced(
        mixture.study(committed_config(name)), name, condition_id, replication, tmp_path
    )


def assert_reproduced(study, name, condition_id, replication, tmp_path):
    """The record (condition, replication) of outputs/NAME, rerun by ``study``, is the
    committed one in every field but its timings (seconds, full_seconds, ...)."""
    committed = next(
        row
        for row in read_records(raw_path(OUTPUTS / name, condition_id))
        if row["replication"] == replication
    )
    again = run_replication(study, study.conditions[condition_id], replication)
    assert again["status"] == "ok"
    # through the record file's text, as a resumed run would hold them
    write_records(tmp_path / "again.csv", [again])
    (again,) = read_records(tmp_path / "again.csv")
    assert set(again) == set(committed)
    found = differences(
        {k: v for k, v in committed.items() if not k.endswith("seconds")},
        {k: v for k, v in again.items() if not k.endswith("seconds")},
    )
    assert found == []


DESIGN_STUDIES = {
    "guard": guard,
    "concomitant": concomitant,
    "sigma_calibration": sigma_calibration,
}


@pytest.mark.parametrize(
    ("name", "condition_id", "replication"),
    [("guard", 0, 0), ("concomitant", 1, 0), ("sigma_calibration", 1, 0), ("baselines", 0, 0)],
)
@pytest.mark.filterwarnings("ignore::estimator.results.ConvergenceWarning")
def test_the_current_code_reproduces_a_record_of_every_other_committed_study(
    name, condition_id, replication, tmp_path, monkeypatch
):
    """The studies built from a design of their own (the guard, concomitant and sigma
    calibration studies, the baselines) rerun as committed too: each is rebuilt as its
    command builds it (a fixed design from its study.json), its manifest and code version
    match the committed folder's, and one record comes out bit for bit. (guard's record 0
    of condition 0 is one the guard-aware abandonment changed.)"""
    monkeypatch.chdir(REPO)  # the sigma calibration's design names data/609948.csv
    manifest = json.loads((OUTPUTS / name / "study.json").read_text())
    if name == "baselines":
        study, _ = baselines.baseline_study(REPO / "experiments" / "configs" / "real_like.json")
    else:
        module = DESIGN_STUDIES[name]
        design = [condition["factors"] for condition in manifest["conditions"]]
        study = build_study(
            design, 1, module.generate, module.analyse, seed=manifest["seed"], name=name,
            version=module.VERSION,
        )  # fmt: skip
    assert study.manifest() == {key: manifest[key] for key in study.manifest()}
    assert study.code() == manifest["code"]
    assert_reproduced(study, name, condition_id, replication, tmp_path)
