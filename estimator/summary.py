"""The results summary of a fitted mixture, in statsmodels' layout: text, LaTeX and HTML.

The parameter table has statsmodels' columns ``coef``, ``std err``, ``z``,
``P>|z|`` and the interval limits, labelled by their probabilities (``[0.025``
and ``0.975]`` at level 0.95). ``z`` and ``P>|z|`` test coef = 0; for pi and
sigma zero is the edge of the parameter space, where the z statistic has no
normal reference, so they are left blank there, as statsmodels leaves them blank
for variance components.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
WIDTH = 78
"""Characters per line of the text form."""


def interval_labels(level: float) -> tuple[str, str]:
    """statsmodels' names of the interval columns: ``("[0.025", "0.975]")`` for level 0.95."""
    tail = (1.0 - level) / 2.0
    return f"[{tail:.4g}", f"{1.0 - tail:.4g}]"


def parameter_columns(level: float) -> list[str]:
    """The columns of the parameter table at interval coverage ``level``."""
    return ["coef", "std err", "z", "P>|z|", *interval_labels(level)]


@dataclass(frozen=True, eq=False)
class MixtureSummary:
    """What ``summary()`` of a mixture estimator returns; ``print`` it for the table.

    Attributes
    ----------
    parameters : DataFrame
        One row per parameter (``alpha[1]``, ..., ``pi[K]``, sigma), columns
        ``coef``, ``std err``, ``z``, ``P>|z|`` and the interval limits (see
        :func:`parameter_columns`). Segments are numbered from 1. pi[K]'s SE
        comes from the delta method; pi's interval is the logit-scale one and
        sigma's the log-scale one (:mod:`estimator.inference`); z and P>|z| are
        NaN for pi and sigma (module docstring).
    info : dict
        Data size, log L, free parameters, convergence, iterations, starts at best.
    checks : dict
        Every information criterion, and the observed information's
        diagnostics: the Newton step in SE units (near 0 at a maximum), the
        condition number, whether the SEs could be computed.
    title : str
    """

    parameters: pd.DataFrame
    info: dict[str, Any]
    checks: dict[str, Any]
    title: str = "Mixture results"

    def as_text(self) -> str:
        """The summary as plain text, statsmodels-style (what ``print`` shows)."""
        left = [f"{k + ':':<19}{_fmt(v):>18}" for k, v in self.info.items()]
        right = [f"{k + ':':<19}{_fmt(v):>18}" for k, v in self.checks.items()]
        head = "\n".join(f"{a:<40}{b}".rstrip() for a, b in _pairs(left, right, ""))
        columns = ["", *self.parameters.columns]
        table = tabulate(
            self._cells(),
            headers=columns,
            disable_numparse=True,
            colalign=("left", *["right"] * (len(columns) - 1)),
        )
        rule = "=" * WIDTH
        return "\n".join([rule, self.title.center(WIDTH).rstrip(), rule, head, rule, table, rule])

    def as_latex(self) -> str:
        """The summary as a LaTeX ``table`` (needs ``\\usepackage{booktabs}``).

        Two tabulars: the fit's information and checks, then the parameters.
        """
        info = [
            [_latex(a), _latex(_fmt(b)), _latex(c), _latex(_fmt(d))]
            for (a, b), (c, d) in _pairs(
                list(self.info.items()), list(self.checks.items()), ("", "")
            )
        ]
        head = ["", "coef", "std err", "$z$", r"$P>|z|$"]
        head += ["{" + _latex(label) + "}" for label in self.parameters.columns[4:]]
        cells = [[_latex(cell) for cell in row] for row in self._cells()]
        return "\n".join(
            [
                r"\begin{table}[htbp]",
                r"\centering",
                rf"\caption{{{_latex(self.title)}}}",
                _tabular(None, info, "lrlr"),
                r"\par\medskip",
                _tabular(head, cells, "l" + "r" * (len(head) - 1)),
                r"\end{table}",
            ]
        )

    def as_html(self) -> str:
        """The summary as two HTML tables (information and checks, then parameters)."""
        info = [
            [a, _fmt(b), c, _fmt(d)]
            for (a, b), (c, d) in _pairs(
                list(self.info.items()), list(self.checks.items()), ("", "")
            )
        ]
        caption = f"<caption>{escape(self.title)}</caption>"
        first = tabulate(info, tablefmt="html", disable_numparse=True)
        second = tabulate(
            self._cells(), headers=["", *self.parameters.columns], tablefmt="html",
            disable_numparse=True,
        )  # fmt: skip
        first = first.replace("<table>", f'<table class="simpletable">{caption}', 1)
        return first + "\n" + second.replace("<table>", '<table class="simpletable">', 1)

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        return self.as_text()

    def _cells(self) -> list[list[str]]:
        """Parameter rows as text: coef, std err, limits to 4 decimals, z and P to 3, NaN blank."""
        digits = [4, 4, 3, 3, 4, 4]
        return [
            [str(name), *(_number(v, d) for v, d in zip(row, digits, strict=True))]
            for name, row in zip(self.parameters.index, self.parameters.to_numpy(), strict=True)
        ]


def _tabular(header: list[str] | None, rows: list[list[str]], align: str) -> str:
    """A booktabs tabular of cells already in LaTeX."""
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\toprule"]
    if header is not None:
        lines += [" & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(row) + r" \\" for row in rows]
    return "\n".join([*lines, r"\bottomrule", r"\end{tabular}"])


def _pairs(left: list, right: list, blank: Any) -> list[tuple[Any, Any]]:
    rows = max(len(left), len(right))
    return list(
        zip(left + [blank] * (rows - len(left)), right + [blank] * (rows - len(right)), strict=True)
    )


def _number(value: float, digits: int) -> str:
    return "" if not np.isfinite(value) else f"{value:.{digits}f}"


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3f}" if abs(value) < 1e6 else f"{value:.3g}"
    return str(value)


def _latex(text: str) -> str:
    return "".join(LATEX_SPECIALS.get(char, char) for char in str(text))
