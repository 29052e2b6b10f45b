"""Study configs are checked against a schema: one line naming the key path, exit 2."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from experiments import recovery
from simstudy.harness.schema import ConfigError
from simstudy.studies.config import check_config, load_config
from simstudy.studies.schema import check_schema

CONFIGS = Path(__file__).resolve().parents[1] / "experiments" / "configs"
SMOKE = json.loads((CONFIGS / "smoke.json").read_text())


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.json")), ids=lambda p: p.name)
def test_committed_configs_pass(path):
    check_schema(json.loads(path.read_text()))
    assert load_config(path)["name"] == path.stem


def _with(path: str, value, base=SMOKE):
    """A copy of ``base`` with the key at dotted ``path`` set (or deleted when value is ...)."""
    config = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return config


BAD = [
    ("fit.n_inti", 3, r"fit\.n_inti: unknown key; did you mean n_init\?"),
    ("replicatons", 3, r"replicatons: unknown key; did you mean replications\?"),
    ("factors.n", [3], r"factors\.n: unknown factor; did you mean N\?"),
    ("replications", 2.7, r"replications: expected an integer >= 1, got 2\.7"),
    ("replications", "2", r"replications: expected an integer >= 1, got the string '2'"),
    ("replications", True, r"replications: expected an integer >= 1, got the boolean true"),
    ("replications", 0, r"replications: expected an integer >= 1, got 0"),
    ("fit.tol", "1e-8", r"fit\.tol: expected a number > 0, got the string '1e-8'"),
    ("fit.tol", -1, r"fit\.tol: expected a number > 0, got -1"),
    ("fit.n_init", 0, r"fit\.n_init: expected an integer >= 1, got 0"),
    ("fit.max_iter", 10.5, r"fit\.max_iter: expected an integer >= 1, got 10\.5"),
    (
        "fit.init",
        "kmeans",
        r"fit\.init: expected one of \['mixed', 'kmeans\+\+', 'stores', "
        r"'partition', 'small'\]",
    ),
    ("fit.inference", "yes", r"fit\.inference: expected true or false"),
    ("factors.N", [-5], r"factors\.N\[0\]: expected an integer >= 2, got -5"),
    ("factors.N", 300, r"factors\.N: expected a non-empty list of numbers of stores"),
    ("factors.N", ..., r"factors\.N: missing key \(required\)"),
    ("factors.T", [26, "52"], r"factors\.T\[1\]: expected an integer >= 3, got the string '52'"),
    ("factors.separation", [0], r"factors\.separation\[0\]: expected a number > 0, got 0"),
    ("factors.sigma", [[1, -1]], r"factors\.sigma\[0\]: expected a number > 0 or a list"),
    ("factors.prices", ["fake"], r"factors\.prices\[0\]: expected \"real\" or"),
    ("factors.missing_rate", [1.0], r"factors\.missing_rate\[0\]: expected a number in \[0, 1\)"),
    ("factors.sigma", [1.0, [1.0, 1.2]], r"factors\.sigma\[1\]: 2 standard deviations \(one per"),
    ("truth.pi", [0.5, 0.3, 0.1], r"truth\.pi: proportions must sum to 1, they sum to 0\.9"),
    ("truth.pi", [0.5, 0.5], r"truth\.pi: 2 proportions for 3 segments in theta"),
    ("truth.pi", [1.2, -0.1, -0.1], r"truth\.pi\[1\]: expected a number > 0, got -0\.1"),
    ("truth.theta", [[1.0], [2.0], [3.0]], r"truth\.theta: every segment needs the same"),
    ("truths_by_k.2.pi", [1.0], r"truths_by_k\.2\.pi: 1 proportions for 2 segments"),
    ("seed", -1, r"seed: expected an integer >= 0, got -1"),
    ("seed", ..., r"seed: missing key \(required\)"),
    ("k_range", [], r"k_range: expected a non-empty list of numbers of segments"),
    ("k_range", [1, 3], r"factors\.K: true K = 2 is not in k_range \[1, 3\]"),
    ("name", "a/b", r"name: expected a non-empty name without slashes"),
    ("batch_size", 0, r"batch_size: expected an integer >= 1, got 0"),
    ("extra_regressors", {"promo": 1.5}, r"extra_regressors\.promo: expected a number in \[0, 1\]"),
]


@pytest.mark.parametrize(
    ("key", "value", "message"), BAD, ids=[b[0] + "=" + repr(b[1]) for b in BAD]
)
def test_bad_values_name_their_key_path(key, value, message):
    with pytest.raises(ConfigError, match=f"^where: {message}") as caught:
        check_config(_with(key, value), where="where")
    assert "\n" not in str(caught.value)


def test_notes_are_free_text_but_still_text():
    check_schema(_with("fit.tol_note", "why 1e-8"))
    with pytest.raises(ConfigError, match=r"^fit\.tol_note: expected a string, got 3"):
        check_schema(_with("fit.tol_note", 3))


def test_cli_refuses_with_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(_with("fit.n_inti", 3)))
    out = tmp_path / "out"
    assert recovery.main(["--config", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}: fit.n_inti: unknown key; did you mean n_init?\n"
    assert not out.exists()


def test_broken_json_names_the_line(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "name": "x",\n  "seed": 1,,\n}\n')
    assert recovery.main(["--config", str(path), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {path}: line 3: not valid JSON")
    assert not (tmp_path / "out").exists()
