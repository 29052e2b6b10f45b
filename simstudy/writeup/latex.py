"""LaTeX tables that fit a journal page: math for symbols, stacked headers, split columns.

Written here because pandas' ``Styler.to_latex`` neither splits a wide table nor stacks
its headers. Booktabs rules in ``\footnotesize``; a table wider than the text block
(6.5 in) is split into parts repeating the key columns; one longer than
:data:`LONG_ROWS` rows becomes a ``longtable``. Widths are estimated from the
characters and checked by compiling (``tests/print_checks.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

TEXT_WIDTH_PT = 469.0
"""6.5 in: letter paper with 1-inch margins."""
CHAR_PT = 4.4
"""Estimated width of a digit or letter at \\footnotesize (8 pt Computer Modern), generous."""
NARROW_PT = 2.4
"""Estimated width of a space or narrow punctuation (``.,:;[]()|'``) at \\footnotesize."""
NARROW = frozenset(" .,:;[]()|'!")
COLSEP_PT = 8.0
"""Space between two columns (2 x \\tabcolsep of 4 pt)."""
HEADER_LINE_CHARS = 11
"""Headers wrap onto lines of about this many characters."""
KEY_LINE_CHARS = 16
"""Row labels (the key columns) wrap onto lines of about this many characters."""
LONG_ROWS = 40
"""Tables with more body rows become longtables."""

SPECIALS = {ch: "\\" + ch for ch in "&%$#_{}"} | {
    "\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    "*": r"\textasteriskcentered{}",
}  # fmt: skip
GREEK = ("alpha", "beta", "gamma", "pi", "sigma", "theta", "tau", "psi")
SYMBOL = re.compile(
    r"(?P<abs>\|\s*)?"
    r"\b(?:(?P<base>[A-Za-z])\^(?P<sup>(?:" + "|".join(GREEK) + r")(?:_\w+)?)"
    r"|(?P<greek>" + "|".join(GREEK) + r")(?:_(?P<sub>[A-Za-z0-9]+|\{[^}]*\}))?)\b"
    r"(?(abs)\s*\|)"
)


def escape(text: str) -> str:
    """Plain text with LaTeX's special characters escaped (``*`` included)."""
    return "".join(SPECIALS.get(ch, ch) for ch in text)


def _math_symbol(match: re.Match[str]) -> str:
    if match.group("base"):
        sup = match.group("sup")
        greek, _, sub = sup.partition("_")
        inner = f"\\{greek}" + (f"_{{{sub}}}" if sub else "")
        body = f"{match.group('base')}^{{{inner}}}"
    else:
        sub = match.group("sub")
        body = f"\\{match.group('greek')}" + (f"_{{{sub.strip('{}')}}}" if sub else "")
    if match.group("abs"):
        body = f"|{body}|"
    return f"${body}$"


def latex_text(text: str) -> str:
    """Text for LaTeX: symbols as math (alpha_c, pi_K, p^beta_c, |beta|), the rest escaped."""
    text = str(text)
    out, last = [], 0
    for match in SYMBOL.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(_math_symbol(match))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _visible(text: str) -> int:
    """Characters a cell shows (a symbol like alpha_1 prints as two)."""
    return len(SYMBOL.sub(lambda m: "xx", str(text)))


def _points(text: str) -> float:
    """Estimated printed width of ``text`` in points."""
    shown = SYMBOL.sub(lambda m: "xx", str(text))
    return sum(NARROW_PT if ch in NARROW else CHAR_PT for ch in shown)


def _wrap(header: str, width: int = HEADER_LINE_CHARS) -> list[str]:
    lines: list[str] = []
    for word in str(header).split():
        if lines and _visible(lines[-1]) + 1 + _visible(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _stacked(text: str, align: str, width: int, valign: str = "t") -> str:
    """A cell whose words wrap onto lines of about ``width`` characters."""
    lines = [latex_text(line) for line in _wrap(text, width)]
    if len(lines) == 1:
        return lines[0]
    # "\\{}": a line starting with "[" is not read as the optional argument of \\
    opening = f"\\begin{{tabular}}[{valign}]{{@{{}}{align}@{{}}}}"
    return opening + r" \\{} ".join(lines) + r"\end{tabular}"


def _header_cell(header: str, align: str) -> str:
    return _stacked(header, align, HEADER_LINE_CHARS, valign="b")


def _column_widths(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], key_columns: int
) -> list[float]:
    widths = []
    for j, header in enumerate(headers):
        cells = [_points(line) for line in _wrap(header)]
        for r in rows:
            lines = _wrap(r[j], KEY_LINE_CHARS) if j < key_columns else [r[j]]
            cells += [_points(line) for line in lines]
        widths.append(max(cells) + COLSEP_PT)
    return widths


def column_groups(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], key_columns: int = 1
) -> list[list[int]]:
    """Columns of each part: the key columns, then contiguous runs of the others, in as few
    parts as the text width allows, shared evenly by estimated width."""
    widths = _column_widths(headers, rows, key_columns)
    key = list(range(min(key_columns, len(headers))))
    others = list(range(len(key), len(headers)))
    room = TEXT_WIDTH_PT - sum(widths[j] for j in key)
    for n_parts in range(1, len(others) + 1):
        share = sum(widths[j] for j in others) / n_parts
        groups: list[list[int]] = [[]]
        used = 0.0
        for j in others:
            if groups[-1] and used + widths[j] / 2 > share * len(groups):
                groups.append([])
            groups[-1].append(j)
            used += widths[j]
        if len(groups) <= n_parts and all(sum(widths[j] for j in g) <= room for g in groups):
            return [key + g for g in groups]
    return [key + [j] for j in others] or [key]


def _tabular_lines(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str], key_columns: int,
    cols: Sequence[int],
) -> tuple[str, list[str]]:  # fmt: skip
    """The header line and body lines of the columns ``cols`` (the key columns first)."""
    head = " & ".join(_header_cell(headers[j], align[j]) for j in cols) + r" \\"
    body = [
        " & ".join(
            _stacked(row[j], align[j], KEY_LINE_CHARS) if j < key_columns else latex_text(row[j])
            for j in cols
        )
        + r" \\"
        for row in rows
    ]
    return head, body


def latex_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    caption: str,
    label: str,
    align: Sequence[str] | None = None,
    key_columns: int = 1,
) -> str:
    """A booktabs table (or longtable) of formatted ``rows`` that fits the page, in parts
    repeating the ``key_columns`` when too wide; ``label``: ``tab:LABEL`` of the first part;
    ``align``: l/r/c per column (default left for the key columns, right for the others)."""
    rows = [[str(cell) for cell in row] for row in rows]
    align = list(align) if align else ["l"] * key_columns + ["r"] * (len(headers) - key_columns)
    groups = column_groups(headers, rows, key_columns)
    parts = []
    for index, cols in enumerate(groups):
        if index == 0:
            part_caption = latex_text(caption)
        else:  # the first sentence names the table; the legend is in part 1
            part_caption = latex_text(re.split(r"(?<=[.:])\s", caption, maxsplit=1)[0].rstrip(".:"))
        if len(groups) > 1:
            part_caption += f" (part {index + 1} of {len(groups)})"
        head, body = _tabular_lines(headers, rows, align, key_columns, cols)
        spec = "".join(align[j] for j in cols)
        tag = f"\\label{{tab:{label}}}" if index == 0 else ""
        if len(rows) > LONG_ROWS:
            parts.append(
                "{\\footnotesize\\setlength{\\tabcolsep}{4pt}\n"
                f"\\begin{{longtable}}{{{spec}}}\n\\caption{{{part_caption}}}{tag}\\\\\n"
                f"\\toprule\n{head}\n\\midrule\n\\endfirsthead\n"
                f"\\toprule\n{head}\n\\midrule\n\\endhead\n\\bottomrule\n\\endlastfoot\n"
                + "\n".join(body)
                + "\n\\end{longtable}}\n"
            )
        else:
            parts.append(
                "\\begin{table}[htbp]\n\\centering\n\\footnotesize\n\\setlength{\\tabcolsep}{4pt}\n"
                f"\\caption{{{part_caption}}}{tag}\n"
                f"\\begin{{tabular}}{{{spec}}}\n\\toprule\n{head}\n\\midrule\n"
                + "\n".join(body)
                + "\n\\bottomrule\n\\end{tabular}\n\\end{table}\n"
            )
    return (
        "% generated by salesmix (simstudy.writeup.latex); needs \\usepackage{booktabs,longtable}\n"
        + "\n".join(parts)
    )
