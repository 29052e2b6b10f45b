"""Every committed LaTeX table compiles on a plain one-column page without an overfull box;
the LaTeX writer sets symbols in math, splits wide tables and breaks long ones."""

import os
from pathlib import Path

import pytest
from print_checks import committed_tables, compile_table, pdflatex

from simstudy.writeup.latex import LONG_ROWS, column_groups, latex_table, latex_text

REPO = Path(__file__).resolve().parents[1]
IN_CI = bool(os.environ.get("CI") or os.environ.get("SALESMIX_CI"))
needs_pdflatex = pytest.mark.skipif(
    pdflatex() is None and not IN_CI,
    reason="pdflatex is not installed (apt-get install texlive-latex-recommended); "
    "CI installs it and runs this test",
)


@needs_pdflatex
@pytest.mark.parametrize(
    "table", committed_tables(REPO / "outputs"), ids=lambda p: str(p.relative_to(REPO))
)
def test_committed_table_fits_the_page(table):
    assert compile_table(table) == []


@needs_pdflatex
def test_the_check_sees_an_overfull_table(tmp_path):
    wide = tmp_path / "wide.tex"
    wide.write_text(
        "\\begin{tabular}{" + "l" * 30 + "}" + " & ".join(["xxxxxx"] * 30) + "\n\\end{tabular}\n"
    )
    problems = compile_table(wide)
    assert problems and problems[0].startswith("Overfull \\hbox")


def test_symbols_become_math_and_specials_are_escaped():
    assert latex_text("alpha_1 and pi_c") == r"$\alpha_{1}$ and $\pi_{c}$"
    assert latex_text("exp(alpha_c) p^beta_c") == r"exp($\alpha_{c}$) $p^{\beta_{c}}$"
    assert latex_text("|beta| > 1") == r"$|\beta|$ \textgreater{} 1"
    assert latex_text("50% * marks the min; a_b") == (
        r"50\% \textasteriskcentered{} marks the min; a\_b"
    )
    assert latex_text("alphabet pipe sigma=1.5") == r"alphabet pipe $\sigma$=1.5"


def test_wide_tables_are_split_and_long_ones_break_across_pages():
    headers = ["condition", *(f"column {j}" for j in range(20))]
    rows = [[f"row {i}", *(f"{i * j:.4f}" for j in range(20))] for i in range(3)]
    groups = column_groups(headers, rows)
    assert len(groups) > 1 and all(g[0] == 0 for g in groups)
    assert sorted(j for g in groups for j in g[1:]) == list(range(1, 21))
    text = latex_table(headers, rows, "A wide table: legend.", "wide")
    assert text.count("\\begin{table}") == len(groups)
    assert f"(part 2 of {len(groups)})" in text and "\\label{tab:wide}" in text
    long_rows = [[f"row {i}", "1"] for i in range(LONG_ROWS + 1)]
    long = latex_table(["condition", "n"], long_rows, "Long.", "long")
    assert "\\begin{longtable}" in long and "\\endhead" in long and "\\begin{table}" not in long
