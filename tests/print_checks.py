"""Do the write-up's tables and figures fit a printed page? Checked as an author would.

A LaTeX table is ``\\input`` into a plain one-column ``article`` (letter paper,
1-inch margins, booktabs, 10 pt) and compiled with pdflatex; the log's overfull
boxes and errors are the verdict. A figure must have one of the print widths and
no text below the smallest print size.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from matplotlib.figure import Figure

from simstudy.writeup.style import MIN_FONT_PT, WIDTHS, style

PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[letterpaper,margin=1in]{geometry}
\usepackage{booktabs}
\usepackage{longtable}
\begin{document}
"""
"""The page every table must fit: the plainest journal submission."""

OVERFULL = re.compile(r"^(Overfull \\[hv]box .*)$", re.M)
ERROR = re.compile(r"^! (.*)$", re.M)


def pdflatex() -> str | None:
    """Path of pdflatex, or None when it is not installed."""
    return shutil.which("pdflatex")


def compile_table(tex: Path, timeout: float = 60.0) -> list[str]:
    """Problems of one table compiled alone on the page: overfull boxes and LaTeX errors.

    Parameters
    ----------
    tex : Path
        A ``table`` environment as written by the report or a study.
    timeout : float
        Seconds pdflatex may take.

    Returns
    -------
    list of str
        One line per problem (empty: the table compiles and fits).

    Raises
    ------
    FileNotFoundError
        pdflatex is not installed, or ``tex`` does not exist.
    """
    exe = pdflatex()
    if exe is None:
        raise FileNotFoundError(
            "pdflatex is not installed (apt-get install texlive-latex-recommended)"
        )
    tex = Path(tex).resolve()
    if not tex.is_file():
        raise FileNotFoundError(f"{tex}: no such table")
    with tempfile.TemporaryDirectory() as tmp:
        main = Path(tmp) / "page.tex"
        main.write_text(PREAMBLE + f"\\input{{{tex.as_posix()}}}\n\\end{{document}}\n")
        done = subprocess.run(
            [exe, "-interaction=nonstopmode", "-halt-on-error", "page.tex"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        log_path = Path(tmp) / "page.log"
        log = log_path.read_text(errors="replace") if log_path.is_file() else done.stdout
    problems = OVERFULL.findall(log) + [f"error: {e}" for e in ERROR.findall(log)]
    if done.returncode != 0 and not problems:
        problems.append(f"pdflatex exited with status {done.returncode}")
    return problems


def committed_tables(outputs: Path) -> list[Path]:
    """Every LaTeX table under ``outputs`` (report and study tables)."""
    return sorted(Path(outputs).glob("**/tables/*.tex"))


def print_problems(fig: Figure) -> list[str]:
    """What keeps a figure from print: a width other than :data:`WIDTHS`, text below
    :data:`MIN_FONT_PT` (empty: fit to print)."""
    problems = []
    width = fig.get_figwidth()
    if not any(abs(width - w) < 0.01 for w in WIDTHS):
        problems.append(f"width {width:.2f} in (not one of {WIDTHS})")
    with style():
        fig.canvas.draw()
        for text in fig.findobj(lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text")):
            if text.get_visible() and text.get_text().strip() and text.get_fontsize() < MIN_FONT_PT:
                problems.append(f"{text.get_text()[:30]!r} at {text.get_fontsize():.1f} pt")
    return problems
