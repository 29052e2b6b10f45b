"""The report document: markdown text, numbered tables (markdown + LaTeX) and figures (PNG + PDF).

A :class:`ReportDoc` collects the parts of ``report.md`` in order. Every table
is written inline in markdown and as a standalone LaTeX (booktabs) file
``tables/NAME.tex`` (a ``table`` float with caption and label; needs
``\\usepackage{booktabs}``); every figure as ``figures/NAME.png`` and
``figures/NAME.pdf``, embedded with its caption. :meth:`ReportDoc.write` writes
``report.md`` and ``manifest.json`` (every table and figure with its files), both whole.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from tabulate import tabulate

from ..harness.files import write_json_atomic, write_text_atomic
from . import style as report_style
from .latex import latex_table


def plain(text: str) -> str:
    """Caption text without markdown emphasis or code marks (for LaTeX captions).

    ``**bold**``, ``*emphasis*`` and backticks go; a lone ``*`` (a footnote mark
    such as "* marks the minimum") stays and is escaped when set in LaTeX.
    """
    text = re.sub(r"\*\*(.+?)\*\*", r"\1", text)
    text = re.sub(r"(?<![\w*])\*(?=\S)([^*]*?\S)\*(?![\w*])", r"\1", text)
    return text.replace("`", "")


@dataclass
class ReportDoc:
    """A report being assembled in ``out_dir``.

    Attributes
    ----------
    out_dir : Path
    title : str
    parts : list of str
        Markdown blocks in order.
    tables, figures : list of dict
        What has been written: number, name, caption and files (relative to out_dir).
    """

    out_dir: Path
    title: str
    parts: list[str] = field(default_factory=list)
    tables: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)

    def heading(self, text: str, level: int = 2) -> None:
        """A markdown heading."""
        self.parts.append(f"{'#' * level} {text}")

    def text(self, paragraph: str) -> None:
        """A paragraph of markdown."""
        self.parts.append(paragraph.strip())

    def table(
        self,
        name: str,
        caption: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Any]],
        align: Sequence[str] | None = None,
        collapsed: bool = False,
    ) -> dict[str, Any]:
        """Add a numbered table inline and write ``tables/NAME.tex``.

        Parameters
        ----------
        name : str
            File stem (unique in the report).
        caption : str
            Markdown caption (emphasis and code marks are dropped in LaTeX).
        headers : sequence of str
        rows : sequence of sequences
            Cells, already formatted as strings (numbers are not re-parsed).
        align : sequence of {"left", "right", "center"}, optional
            One per column; default left for the first, right for the others.
        collapsed : bool
            Put the markdown table in a ``<details>`` block (long tables).
        """
        number = len(self.tables) + 1
        align = list(align) if align else ["left"] + ["right"] * (len(headers) - 1)
        body = [[str(cell) for cell in row] for row in rows]
        markdown = tabulate(
            body, headers=list(headers), tablefmt="github", disable_numparse=True, colalign=align
        )
        tex_path = Path("tables") / f"{name}.tex"
        letters = [{"left": "l", "right": "r", "center": "c"}[a] for a in align]
        latex = latex_table(headers, body, plain(caption), name, letters, key_columns=1)
        write_text_atomic(self.out_dir / tex_path, latex)
        label = f"**Table {number}.** {caption} (LaTeX: [`{tex_path}`]({tex_path}))"
        if collapsed:
            self.parts.append(
                f"{label}\n\n<details><summary>show the table ({len(body)} rows)</summary>\n\n"
                f"{markdown}\n\n</details>"
            )
        else:
            self.parts.append(f"{label}\n\n{markdown}")
        entry = {"number": number, "name": name, "caption": caption, "files": [str(tex_path)]}
        self.tables.append(entry)
        return entry

    def _add_figure(self, name: str, caption: str, files: list[Path]) -> dict[str, Any]:
        number = len(self.figures) + 1
        rel = [str(p.relative_to(self.out_dir)) for p in files]
        png = next(p for p in rel if p.endswith(".png"))
        pdf = next((p for p in rel if p.endswith(".pdf")), None)
        link = f" ([PDF]({pdf}))" if pdf else ""
        self.parts.append(f"![Figure {number}]({png})\n\n**Figure {number}.** {caption}{link}")
        entry = {"number": number, "name": name, "caption": caption, "files": rel}
        self.figures.append(entry)
        return entry

    def figure(self, fig: Figure, name: str, caption: str) -> dict[str, Any]:
        """Save ``fig`` as ``figures/NAME.png`` and ``.pdf`` and embed it with its caption."""
        files = report_style.save(fig, self.out_dir / "figures" / name)
        return self._add_figure(name, caption, files)

    def copy_figure(self, source_stem: Path, name: str, caption: str) -> dict[str, Any]:
        """Copy an existing figure (``source_stem``.png and .pdf, when present) and embed it."""
        files = []
        for suffix in (".png", ".pdf"):
            source = source_stem.parent / f"{source_stem.name}{suffix}"
            if source.is_file():
                target = self.out_dir / "figures" / f"{name}{suffix}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                files.append(target)
        if not any(p.suffix == ".png" for p in files):
            raise FileNotFoundError(f"{source_stem}.png does not exist")
        return self._add_figure(name, caption, files)

    def markdown(self) -> str:
        """The whole report.md text."""
        return f"# {self.title}\n\n" + "\n\n".join(self.parts) + "\n"

    def write(self, extra: dict[str, Any] | None = None) -> Path:
        """Write report.md and manifest.json (tables, figures and ``extra``); return report.md."""
        path = write_text_atomic(self.out_dir / "report.md", self.markdown())
        manifest = {"report": "report.md", "tables": self.tables, "figures": self.figures}
        write_json_atomic(self.out_dir / "manifest.json", {**manifest, **(extra or {})})
        return path


def num(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals; ``-`` for missing (None or NaN)."""
    if value is None or value != value:
        return "-"
    return f"{value:.{digits}f}"


def interval(low: float | None, high: float | None, digits: int = 3) -> str:
    """``[low, high]`` with ``digits`` decimals."""
    return f"[{num(low, digits)}, {num(high, digits)}]"


def pct(value: float | None, digits: int = 1) -> str:
    """A proportion as a percentage, ``0.8357`` -> ``83.6%``."""
    if value is None or value != value:
        return "-"
    return f"{100 * value:.{digits}f}%"
