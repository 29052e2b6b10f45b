"""The report document: markdown text, numbered tables (markdown + LaTeX) and figures (PNG + PDF).

A :class:`ReportDoc` collects the parts of ``report.md``: a main part (numbered 1, 2, ...)
and, after :meth:`ReportDoc.appendix`, an appendix (A1, A2, ...); each table also goes to
``tables/NAME.tex``, each figure to ``figures/NAME.png`` and ``.pdf``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..harness.files import write_json_atomic, write_text_atomic
from . import style as report_style
from .tables import Table, render

LONG_TABLE = 60
"""Rows above which a report table is linked (``tables/NAME.md``), not inlined."""


@dataclass
class ReportDoc:
    """A report being assembled in ``out_dir``: its markdown ``parts`` in order, and the
    ``tables`` and ``figures`` written (number, name, caption, part, files)."""

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

    part: str = "main"

    def appendix(self, heading: str) -> None:
        """Start the appendix: what follows is numbered A1, A2, ..."""
        self.part = "appendix"
        self.heading(heading)

    def _number(self, entries: list[dict[str, Any]]) -> str:
        count = sum(e["part"] == self.part for e in entries) + 1
        return f"A{count}" if self.part == "appendix" else str(count)

    def table(self, table: Table, collapsed: bool = False) -> None:
        """Add a numbered table inline (``collapsed``: in a ``<details>`` block; longer than
        :data:`LONG_TABLE` rows: in ``tables/NAME.md``, linked) and write ``tables/NAME.tex``."""
        number = self._number(self.tables)
        tex_path = Path("tables") / f"{table.name}.tex"
        write_text_atomic(self.out_dir / tex_path, render(table, "tex"))
        files = [str(tex_path)]
        markdown = render(table, "md")
        label = f"**Table {number}.** {table.caption} (LaTeX: [`{tex_path}`]({tex_path}))"
        if len(table.rows) > LONG_TABLE:
            md_path = Path("tables") / f"{table.name}.md"
            heading = f"**Table {number}.** {table.caption}"
            write_text_atomic(self.out_dir / md_path, f"{heading}\n\n{markdown}\n")
            files.append(str(md_path))
            markdown = f"{len(table.rows)} rows, too many to read here: [`{md_path}`]({md_path})."
        elif collapsed:
            markdown = (
                f"<details><summary>show the table ({len(table.rows)} rows)</summary>\n\n"
                f"{markdown}\n\n</details>"
            )
        self.parts.append(f"{label}\n\n{markdown}")
        self.tables.append({"number": number, "name": table.name, "caption": table.caption,
                            "part": self.part, "files": files})  # fmt: skip

    def _add_figure(self, name: str, caption: str, files: list[Path]) -> None:
        number = self._number(self.figures)
        rel = [str(p.relative_to(self.out_dir)) for p in files]
        png = next(p for p in rel if p.endswith(".png"))
        pdf = next((p for p in rel if p.endswith(".pdf")), None)
        link = f" ([PDF]({pdf}))" if pdf else ""
        self.parts.append(f"![Figure {number}]({png})\n\n**Figure {number}.** {caption}{link}")
        self.figures.append({"number": number, "name": name, "caption": caption,
                             "part": self.part, "files": rel})  # fmt: skip

    def draw(self, name: str, caption: str, plot: Callable[..., Figure], *args: Any) -> None:
        """Draw ``plot(*args)`` in the report's style, save it as ``figures/NAME.png`` and
        ``.pdf`` and embed it with its caption."""
        with report_style.style():
            files = report_style.save(plot(*args), self.out_dir / "figures" / name)
        self._add_figure(name, caption, files)

    def copy_figure(self, source_stem: Path, name: str, caption: str) -> None:
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
        self._add_figure(name, caption, files)

    def markdown(self) -> str:
        """The whole report.md text."""
        return f"# {self.title}\n\n" + "\n\n".join(self.parts) + "\n"

    def write(self, extra: dict[str, Any] | None = None) -> None:
        """Write report.md and manifest.json (tables, figures and ``extra``)."""
        write_text_atomic(self.out_dir / "report.md", self.markdown())
        manifest = {"report": "report.md", "tables": self.tables, "figures": self.figures}
        write_json_atomic(self.out_dir / "manifest.json", {**manifest, **(extra or {})})
