"""Figures are sized for print (3.5 or 7.2 inches wide, text >= 7 pt), tell curves apart by
marker and line style, and are captioned from the manifest written with each."""

import json
from pathlib import Path

import pytest
from matplotlib.image import imread

from estimator import CRITERIA
from simstudy.writeup import baselines as report_baselines
from simstudy.writeup import real as report_real
from simstudy.writeup import study_report as harness
from simstudy.writeup import style
from simstudy.writeup.studies import figure_caption, figure_manifest

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
    patch.setattr(harness.figure_style, "save", keep)
    out = tmp_path_factory.mktemp("figures")
    try:
        for study in ("irregular", "selection_grid"):
            conds = summaries(study)
            records = {}
            for c in conds:
                rows = harness.read_records(harness.raw_path(OUTPUTS / study, c["id"]))
                if rows:
                    records[c["id"]] = harness.records_frame(rows)
            with style.style():
                harness.write_figures(conds, records, out / study)
    finally:
        patch.undo()
    return drawn


def test_harness_figures_fit_print(harness_figures):
    names = [name for name, _ in harness_figures]
    for prefix in ("hit_rate", "rmse", "coverage", "errors", "chosen_k_bic"):
        assert any(name.startswith(prefix) for name in names), prefix
    problems = {name: style.print_problems(fig) for name, fig in harness_figures}
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
        problems = {name: style.print_problems(fig) for name, fig in figures.items()}
    assert {name: p for name, p in problems.items() if p} == {}


def test_print_check_catches_a_poster_and_small_print():
    fig, ax = style.new_figure(width=10.0)
    ax.set_title("tiny", fontsize=5)
    problems = style.print_problems(fig)
    assert any("width 10.00" in p for p in problems) and any(
        "'tiny' at 5.0 pt" in p for p in problems
    )


def test_hit_rate_curves_differ_in_marker_and_line_style(harness_figures):
    name, fig = next((n, f) for n, f in harness_figures if n.startswith("hit_rate"))
    lines = [
        line
        for line in fig.axes[0].get_lines()
        if line.get_label() in harness.CRITERION_LABELS.values()
    ]
    assert len(lines) == len(CRITERIA)  # every criterion of the committed grid, SABIC's too
    assert len({line.get_marker() for line in lines}) == len(CRITERIA)
    assert len({line.get_linestyle() for line in lines}) >= 4


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
        if p.with_suffix(".json").is_file() and NOT_REDRAWN not in p.as_posix()
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
