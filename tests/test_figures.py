"""Figures are sized for print (3.5 or 7.2 inches wide, text >= 7 pt), no tick labels run
together, curves differ in colour and line style and carry their Monte Carlo bands, and
figures are captioned from the manifest written with each."""

import json
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import imread
from matplotlib.patches import StepPatch
from print_checks import print_problems

from estimator import CRITERIA
from simstudy.harness.records import read_records, records_frame
from simstudy.harness.runner import raw_path
from simstudy.writeup import baselines as report_baselines
from simstudy.writeup import real as report_real
from simstudy.writeup import study_figures, style
from simstudy.writeup.format import CRITERION_LABELS
from simstudy.writeup.studies import figure_caption, figure_manifest

pytestmark = pytest.mark.slow  # draws every figure of two studies and of the real data

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = REPO / "outputs"


def summaries(study: str) -> list[dict]:
    return json.loads((OUTPUTS / study / "summary.json").read_text())["conditions"]


@pytest.fixture(scope="module")
def harness_figures(tmp_path_factory):
    """Every figure the harness draws for the irregular study and the selection grid."""
    drawn = []

    def keep(fig, stem):
        drawn.append((Path(stem).name, fig))
        return []

    patch = pytest.MonkeyPatch()
    patch.setattr(study_figures.style, "save", keep)
    out = tmp_path_factory.mktemp("figures")
    try:
        for study in ("irregular", "selection_grid"):
            conds = summaries(study)
            records = {}
            for c in conds:
                rows = read_records(raw_path(OUTPUTS / study, c["id"]))
                if rows:
                    records[c["id"]] = records_frame(rows)
            with style.style():
                study_figures.write_figures(conds, records, out / study)
    finally:
        patch.undo()
    return drawn


def test_harness_figures_fit_print(harness_figures):
    names = [name for name, _ in harness_figures]
    for prefix in ("nested_loop", "rmse", "coverage", "errors", "chosen_k_bic"):
        assert any(name.startswith(prefix) for name in names), prefix
    problems = {name: print_problems(fig) for name, fig in harness_figures}
    assert {name: p for name, p in problems.items() if p} == {}


def test_report_figures_fit_print():
    results, segments = OUTPUTS / "results.json", OUTPUTS / "real" / "store_segments.csv"
    with style.style():
        real = report_real.load_real(results, segments, REPO / "data" / "609948.csv")
        figures = {
            "criteria": report_real.plot_criteria(real.results),
            "store_ols": report_real.plot_store_ols(real),
            "demand": report_real.plot_demand(real),
            "max_posterior": report_real.plot_max_posterior(real),
        }
        loaded = report_baselines.load_baselines(OUTPUTS / "baselines")
        figures["errors"] = report_baselines.plot_errors(*loaded)
        figures["selection_time"] = report_baselines.plot_selection_and_time(*loaded)
        problems = {name: print_problems(fig) for name, fig in figures.items()}
    assert {name: p for name, p in problems.items() if p} == {}


def test_print_check_catches_a_poster_and_small_print():
    fig, ax = style.new_figure(width=10.0)
    ax.set_title("tiny", fontsize=5)
    problems = print_problems(fig)
    assert any("width 10.00" in p for p in problems) and any(
        "'tiny' at 5.0 pt" in p for p in problems
    )


def test_nested_loop_groups_every_criterion_with_its_band(harness_figures):
    grid = [(n, f) for n, f in harness_figures if n.startswith("nested_loop")]
    assert len(grid) == 4  # two groups for each of the two studies
    drawn = set()
    for _, fig in grid:
        ax = fig.axes[0]
        labels = [h.get_label() for h in ax.get_legend_handles_labels()[0]]
        assert 2 <= len(labels) <= 4  # a few criteria per panel, not eight piled up
        drawn |= set(labels)
        patches = [p for p in ax.patches if isinstance(p, StepPatch)]
        bands = [p for p in patches if p.get_fill()]
        assert len(bands) == len(labels)  # a Monte Carlo band for every criterion
        looks = {(p.get_edgecolor(), p.get_linestyle()) for p in patches if not p.get_fill()}
        assert len(looks) == len(labels)
    assert drawn == {CRITERION_LABELS[c] for c in CRITERIA}  # SABIC's too


def test_no_tick_labels_run_together(harness_figures):
    """Neighbouring tick labels of an axis never overlap (the grid's error boxplots did)."""
    crowded = []
    for name, fig in harness_figures:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        renderer = canvas.get_renderer()
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
            boxes = sorted((t.get_window_extent(renderer) for t in labels), key=lambda b: b.x0)
            if any(a.x1 > b.x0 + 0.5 for a, b in zip(boxes, boxes[1:], strict=False)):
                crowded.append((name, ax.get_title()))
    assert crowded == []


def test_demand_panel_is_a_summary_not_every_store_week():
    results, segments = OUTPUTS / "results.json", OUTPUTS / "real" / "store_segments.csv"
    with style.style():
        real = report_real.load_real(results, segments, REPO / "data" / "609948.csv")
        fig = report_real.plot_demand(real)
    for ax in fig.axes:
        points = sum(len(line.get_xdata()) for line in ax.get_lines() if line.get_marker() == "o")
        assert points <= real.prices.size  # one per week, whatever the segment's size


NOT_REDRAWN = "selection_grid/figures/errors_"
"""Drawn by the grid's run; its raw records are not committed, so a rebuild keeps them (the
next run of the study redraws them at print size)."""


def test_committed_figures_are_print_width():
    pngs = [
        p
        for p in OUTPUTS.glob("*/figures/*.png")
        if (p.parent / f"{p.stem}.json").is_file() and NOT_REDRAWN not in p.as_posix()
    ]
    pngs += sorted((OUTPUTS / "report" / "figures").glob("real_*.png"))
    pngs += sorted((OUTPUTS / "report" / "figures").glob("baselines_*.png"))
    assert len(pngs) > 40

    widths = {p.name: imread(p).shape[1] / style.PNG_DPI for p in pngs}
    assert {n: w for n, w in widths.items() if round(w, 2) not in style.WIDTHS} == {}


def test_captions_come_from_the_manifest_of_the_figure():
    folder = OUTPUTS / "irregular"
    conds = summaries("irregular")
    for png in sorted((folder / "figures").glob("coverage_c*.png")):
        manifest = figure_manifest(folder, png.stem)
        (shown,) = [c for c in conds if c["id"] in manifest["conditions"]]
        assert manifest["kind"] == "coverage" and shown["label"] in figure_caption(manifest, conds)
    errors = next((folder / "figures").glob("errors_*.png")).stem
    manifest = figure_manifest(folder, errors)
    caption = figure_caption(manifest, conds)
    shown = [c for c in conds if c["id"] in manifest["conditions"]]
    others = [c for c in conds if c["id"] not in manifest["conditions"]]
    assert any(c["label"] in caption for c in shown)
    assert not any(f"at {c['label']}," in caption for c in others)
    assert "without a manifest" in figure_caption(None, conds)
