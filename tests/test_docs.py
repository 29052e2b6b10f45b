"""Every generated number in README.md and docs/ agrees with the committed outputs."""

import json
from pathlib import Path

import pytest

from experiments import docs
from simstudy.writeup.blocks import BLOCKS, documents, rewrite, update_documents
from simstudy.writeup.blocks.studies import blrt_grid

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = REPO / "outputs"


def test_committed_documents_agree_with_committed_outputs():
    stale = update_documents(documents(REPO), OUTPUTS, check=True)
    assert stale == [], "run python -m experiments.docs and commit the documents"


def test_every_block_is_used_and_renders_from_the_outputs():
    text = "\n".join(path.read_text(encoding="utf-8") for path in documents(REPO))
    for name in BLOCKS:
        assert f"<!-- gen:{name} -->" in text, name
        assert "not generated" not in BLOCKS[name](OUTPUTS)


def test_a_hand_edited_number_is_put_back():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- gen:real_estimates -->")
    edited = readme[:start] + readme[start:].replace("0.0215", "0.0216", 1)
    assert edited != readme
    assert rewrite(edited, OUTPUTS) == readme


def test_bad_markers_are_refused_with_the_line(tmp_path):
    with pytest.raises(ValueError, match=r"doc.md, line 2: unknown block gen:nope"):
        rewrite("x\n<!-- gen:nope -->\n<!-- /gen:nope -->\n", OUTPUTS, "doc.md")
    with pytest.raises(ValueError, match="line 1: gen:real_models is not closed"):
        rewrite("<!-- gen:real_models -->\n", OUTPUTS, "doc.md")
    assert (
        rewrite("<!-- gen:real_models -->\nold\n<!-- /gen:real_models -->", tmp_path).count(
            "not generated: "
        )
        == 1
    )  # a missing source says so instead of failing


def test_check_flag_exits_1_on_a_stale_document(tmp_path, monkeypatch, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "<!-- gen:real_models -->\nold\n<!-- /gen:real_models -->\n"
    )
    monkeypatch.chdir(tmp_path)
    assert docs.main(["--check", "--outputs", str(OUTPUTS)]) == 1
    assert "out of date: README.md" in capsys.readouterr().out
    assert "old" in (tmp_path / "README.md").read_text()
    assert docs.main(["--outputs", str(OUTPUTS)]) == 0
    assert docs.main(["--check", "--outputs", str(OUTPUTS)]) == 0


def _grid_summary(rates):
    """A blrt_grid summary: per condition, method -> (hit rate, too few, too many)."""
    conditions = []
    for i, per_method in enumerate(rates):
        selection = {}
        for method, (hit, few, many) in per_method.items():
            half = 0.03 if 0 < hit < 1 else 0.0
            selection[method] = {
                "hit_rate": hit,
                "ci_low": max(hit - half, 0.0),
                "ci_high": min(hit + half, 1.0),
                "too_few": few,
                "too_many": many,
            }
        conditions.append(
            {
                "factors": {"K": 2, "separation": 0.5, "N": 100 * (i + 1), "T": 52},
                "n_ok": 200,
                "selection": selection,
                "blrt": {"level": 0.05},
            }
        )
    return {"conditions": conditions, "run": {"wall_seconds_records": 600, "n_jobs": 2}}


def test_blrt_grid_statement_follows_the_numbers(tmp_path):
    base = {
        "bic_n": (0.7, 0.3, 0.0),
        "sabic": (0.8, 0.1, 0.1),
        "sabic_n": (0.6, 0.0, 0.4),
        "aic3": (0.75, 0.05, 0.2),
        "caic": (0.6, 0.4, 0.0),
        "icl": (0.5, 0.5, 0.0),
    }
    nylund = [
        base | {"blrt": (0.9, 0.05, 0.05), "bic": (0.8, 0.2, 0.0), "aic": (0.5, 0.0, 0.5)},
        base | {"blrt": (0.95, 0.0, 0.05), "bic": (0.95, 0.05, 0.0), "aic": (0.6, 0.0, 0.4)},
    ]

    def statement(rates, name):
        (tmp_path / name / "blrt_grid").mkdir(parents=True)
        summary = json.dumps(_grid_summary(rates))
        (tmp_path / name / "blrt_grid" / "summary.json").write_text(summary)
        return blrt_grid(tmp_path / name)

    text = statement(nylund, "nylund")
    assert "matches theirs" in text
    assert (
        "above BIC's (n = NT) with disjoint Wilson 95% intervals in (K 2, separation 0.5, N 100);"
        in text
    )
    assert "below it in no condition" in text
    # SABIC best of the four, BIC under-fits: the ordering differs, and says why
    other = [r | {"bic": (0.5, 0.5, 0.0), "sabic": (0.85, 0.1, 0.05)} for r in nylund]
    text = statement(other, "other")
    assert "differs from theirs" in text and "by under-fitting (too few segments in 50.0%" in text
    assert "each parameter costs log(52) = 4.0 more" in text
