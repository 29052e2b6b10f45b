"""Every generated number in README.md and docs/ agrees with the committed outputs."""

from pathlib import Path

import pytest

from experiments import docs
from simstudy.docsgen import BLOCKS, documents, rewrite, update_documents

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
    edited = readme[:start] + readme[start:].replace("(0.0215)", "(0.022)", 1)
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
