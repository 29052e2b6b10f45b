"""The report bundle: it builds from the committed outputs, lists only files that exist, keeps
its main part to at most 16 tables and figures, its tables carry the JSON's numbers; the
two-step baseline's Gaussian mixture (scikit-learn) chooses K by its BIC."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tabulate import tabulate

from simstudy.harness.runner import run_replication
from simstudy.studies import baselines
from simstudy.studies.config import load_config
from simstudy.studies.mixture import study as build_study
from simstudy.writeup import baselines as report_baselines
from simstudy.writeup import real as report_real
from simstudy.writeup.doc import ReportDoc
from simstudy.writeup.real import elasticity_reading
from simstudy.writeup.report import MAIN_ITEMS, Sources, build, study_appendix
from simstudy.writeup.tables import text_table

pytestmark = pytest.mark.slow  # builds the report: tens of seconds

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = REPO / "outputs"


def committed_sources() -> Sources:
    return Sources(
        results=OUTPUTS / "results.json",
        segments=OUTPUTS / "real" / "store_segments.csv",
        data=REPO / "data" / "609948.csv",
        sigma_common=OUTPUTS / "real_sigma_common" / "results.json",
        sigma_segment=OUTPUTS / "real_sigma_segment" / "results.json",
        baselines=OUTPUTS / "baselines",
        real_like=OUTPUTS / "real_like",
        selection_grid=OUTPUTS / "selection_grid",
        irregular=OUTPUTS / "irregular",
        blrt_size=OUTPUTS / "blrt_size",
        blrt_grid=OUTPUTS / "blrt_grid",
        blrt=OUTPUTS / "real_blrt" / "results.json",
        benchmark=OUTPUTS / "benchmark",
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    manifest = build(out, committed_sources())
    return out, manifest, (out / "report.md").read_text(encoding="utf-8")


def markdown_table(text: str, caption_start: str) -> list[list[str]]:
    """Cells of the first markdown table after the caption that starts with caption_start."""
    start = text.index(caption_start)
    lines = text[start:].splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [rows[0], *rows[2:]]  # header, then the body (no separator)


def latex_rows(path: Path) -> list[list[str]]:
    """Body cells of a booktabs table (between midrule and bottomrule); the parts of a table
    split for width are joined again (each part repeats the first, key, column)."""
    text = path.read_text(encoding="utf-8")
    merged: list[list[str]] = []
    for part in text.split("\\midrule")[1:]:
        body = part.split("\\bottomrule")[0]
        lines = [line.strip().removesuffix("\\\\").strip() for line in body.strip().splitlines()]
        rows = [[cell.strip() for cell in row.split("&")] for row in lines if row]
        merged = rows if not merged else [a + b[1:] for a, b in zip(merged, rows, strict=True)]
    return merged


def numbers(cell: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+|-?\d+", cell)]


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------


def test_every_listed_table_and_figure_exists(built):
    out, manifest, text = built
    assert manifest["tables"] and manifest["figures"]
    for entry in manifest["tables"]:
        assert (out / entry["files"][0]).is_file(), entry
        assert entry["files"][0].endswith(".tex")
        assert f"**Table {entry['number']}.**" in text
    for entry in manifest["figures"]:
        suffixes = sorted(Path(f).suffix for f in entry["files"])
        assert suffixes == [".pdf", ".png"], entry
        for f in entry["files"]:
            assert (out / f).stat().st_size > 1000, f
        assert f"**Figure {entry['number']}.**" in text
    links = re.findall(r"\]\(((?:figures|tables)/[^)]+)\)", text)
    assert links
    for link in links:
        assert (out / link).is_file(), link
    on_disk = {p.relative_to(out).as_posix() for p in out.glob("*/*") if p.is_file()}
    listed = {f for e in manifest["tables"] + manifest["figures"] for f in e["files"]}
    assert on_disk == listed  # nothing stale, nothing unlisted
    written = json.loads((out / "manifest.json").read_text())
    assert [t["name"] for t in written["tables"]] == [t["name"] for t in manifest["tables"]]


def test_the_main_part_carries_the_argument_in_at_most_16_items(built):
    _, manifest, text = built
    main = [e for e in manifest["tables"] + manifest["figures"] if e["part"] == "main"]
    assert len(main) <= MAIN_ITEMS == 16
    names = {e["name"] for e in main}
    assert {"real_model_comparison", "real_segment_profiles", "real_like_recovery"} <= names
    assert {"selection_grid_nested_loop_bic", "selection_grid_nested_loop_aic"} <= names
    assert {"blrt_size_tests", "blrt_grid_hit_rates", "baselines_methods", "speed"} <= names
    appendix = text.index("Appendix")
    for entry in manifest["tables"] + manifest["figures"]:
        label = "Table" if entry in manifest["tables"] else "Figure"
        where = text.index(f"**{label} {entry['number']}.**")
        assert (where > appendix) == (entry["part"] == "appendix"), entry["name"]
        assert entry["number"].startswith("A") == (entry["part"] == "appendix")


def test_real_data_figures_and_tables_are_there(built):
    _, manifest, text = built
    names = {f["name"] for f in manifest["figures"]}
    assert {"real_criteria", "real_store_ols", "real_demand", "real_max_posterior"} <= names
    # the committed results.json has no test: the figure comes from outputs/real_blrt
    (blrt,) = [f for f in manifest["figures"] if f["name"] == "real_blrt"]
    chosen = json.loads((OUTPUTS / "real_blrt" / "results.json").read_text())["blrt"]["chosen_K"]
    assert (
        f"chooses K = {chosen}" in blrt["caption"] and "real_blrt/results.json" in blrt["caption"]
    )
    tables = {t["name"] for t in manifest["tables"]}
    assert {"real_model_comparison", "real_segment_profiles"} <= tables
    for missing in manifest["missing"]:  # a study not yet run is named in a line
        assert f"`{missing}/summary.json`" in text


def test_the_committed_report_is_current(built):
    """outputs/report is what the committed outputs give today (text: markdown and LaTeX)."""
    out, _, _ = built
    committed = OUTPUTS / "report"

    def text(path: Path) -> str:  # a link to a source names it from its folder: drop both
        return re.sub(r"\[`\S*?outputs/([^`]*)`\]\([^)]*\)", r"\1", path.read_text("utf-8"))

    stale = [
        str(path.relative_to(out))
        for path in sorted([out / "report.md", *(out / "tables").glob("*.*")])
        if path.suffix in (".md", ".tex") and text(committed / path.relative_to(out)) != text(path)
    ]
    assert not stale, f"stale in outputs/report (python -m experiments.report): {stale}"


def test_model_comparison_table_equals_results_json(built):
    _, _, text = built
    results = json.loads((OUTPUTS / "results.json").read_text())
    table = markdown_table(text, "**Table 1.** Model comparison")
    header, body = table[0], table[1:]
    assert header[:3] == ["K", "log L", "params"]
    models = sorted(results["models"], key=lambda m: m["K"])
    assert len(body) == len(models)
    criteria = ["bic", "bic_n", "aic", "aic3", "caic", "icl"]
    for row, model in zip(body, models, strict=True):
        assert int(row[0]) == model["K"]
        assert float(row[1]) == pytest.approx(model["loglik"], abs=5e-4)
        assert int(row[2]) == model["n_params"]
        for cell, name in zip(row[3:9], criteria, strict=True):
            assert float(cell.rstrip(" *")) == pytest.approx(model["criteria"][name], abs=5e-3)
            starred = cell.endswith("*")
            assert starred == (results["chosen_by"][name] == model["K"])


def test_segment_profile_latex_equals_results_json(built):
    out, _, _ = built
    results = json.loads((OUTPUTS / "results.json").read_text())
    model = next(m for m in results["models"] if m["K"] == results["chosen_K"])
    se = model["standard_errors"]["observed"]
    rows = latex_rows(out / "tables" / "real_segment_profiles.tex")
    assert len(rows) == results["chosen_K"]
    for c, row in enumerate(rows):
        pi, pi_lo, pi_hi = numbers(row[2])
        alpha, alpha_lo, alpha_hi = numbers(row[3])
        beta, beta_lo, beta_hi = numbers(row[4])
        assert pi == pytest.approx(model["pi"][c], abs=5e-4)
        assert [pi_lo, pi_hi] == pytest.approx(se["pi"]["ci"][c], abs=5e-4)
        assert alpha == pytest.approx(model["alpha"][c], abs=5e-4)
        assert [alpha_lo, alpha_hi] == pytest.approx(se["alpha"]["ci"][c], abs=5e-4)
        assert beta == pytest.approx(model["beta"][c], abs=5e-4)
        assert [beta_lo, beta_hi] == pytest.approx(se["beta"]["ci"][c], abs=5e-4)
        assert row[5] == elasticity_reading(tuple(se["beta"]["ci"][c]))
    segments = np.loadtxt(
        OUTPUTS / "real" / "store_segments.csv", delimiter=",", skiprows=1, usecols=(-2,)
    )
    assert [int(r[1]) for r in rows] == [int(np.sum(segments == c + 1)) for c in range(len(rows))]


def test_baseline_table_equals_summary_json(built):
    _, manifest, text = built
    if str(committed_sources().baselines) in manifest["missing"]:
        pytest.skip("outputs/baselines not committed")
    summary = json.loads((OUTPUTS / "baselines" / "summary.json").read_text())["conditions"][0]
    body = markdown_table(text, "Choice of K and classification by method")[1:]
    for row, method in zip(body, ("full", "single", "twostep"), strict=True):
        result = summary["methods"][method]
        rate, low, high = numbers(row[1])
        assert rate == pytest.approx(result["selection"]["hit_rate"], abs=5e-4)
        assert [low, high] == pytest.approx(
            [result["selection"]["ci_low"], result["selection"]["ci_high"]], abs=5e-4
        )
        assert numbers(row[3])[0] / 100 == pytest.approx(
            result["classification"]["misclassification_mean"], abs=5e-4
        )


def test_every_axis_of_every_figure_is_labelled():
    src = committed_sources()
    real = report_real.load_real(src.results, src.segments, src.data)
    figures = [
        report_real.plot_criteria(real.results),
        report_real.plot_store_ols(real),
        report_real.plot_demand(real),
        report_real.plot_max_posterior(real),
    ]
    loaded = report_baselines.load_baselines(src.baselines)
    if loaded is not None:
        figures += [
            report_baselines.plot_errors(*loaded),
            report_baselines.plot_selection_and_time(*loaded),
        ]
    unlabelled = []
    for fig in figures:
        fig.canvas.draw()  # tick labels exist (and hidden shared ones are known) once drawn
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.has_data()]
        assert axes
        for ax in axes:
            for axis, label in ((ax.xaxis, ax.get_xlabel()), (ax.yaxis, ax.get_ylabel())):
                shown = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
                # an axis that shows numbers says what they are; a shared one may not repeat it
                if shown and not label:
                    unlabelled.append((fig.get_suptitle() or ax.get_title(), axis.axis_name))
    assert unlabelled == []


def test_elasticity_reading():
    assert elasticity_reading((-1.3, -1.05)) == "clearly elastic"
    assert elasticity_reading((-0.9, -0.2)) == "clearly inelastic"
    assert elasticity_reading((-1.2, -0.8)) == "undetermined"


# ---------------------------------------------------------------------------
# study sections on small studies run here (the committed ones may not exist yet)
# ---------------------------------------------------------------------------


def test_missing_study_is_one_line(tmp_path):
    doc = ReportDoc(tmp_path, "t")
    assert not study_appendix(doc, tmp_path / "nothing", "real_like", "A.3", [])
    assert "Not available" in doc.markdown()
    assert not doc.tables and not doc.figures


def test_study_sections_from_small_studies(tmp_path):
    from experiments import recovery, selection

    one = tmp_path / "one"
    grid = tmp_path / "grid"
    config = REPO / "experiments" / "configs"
    args = ["--replications", "3", "--no-figures", "--quiet"]
    assert (
        recovery.main(["--config", str(config / "real_like.json"), "--out", str(one), *args]) == 0
    )
    assert selection.main(["--config", str(config / "smoke.json"), "--out", str(grid), *args]) == 0
    doc = ReportDoc(tmp_path / "report", "t")
    assert study_appendix(doc, one, "real_like", "A.3", [])
    assert study_appendix(doc, grid, "selection_grid", "A.4", [])
    text = doc.markdown()
    summary = json.loads((one / "summary.json").read_text())["conditions"][0]
    body = markdown_table(text, "Recovery at the true K")[1:]
    for row, rec in zip(body, summary["recovery"], strict=True):
        assert row[0] == rec["parameter"]
        bias, mcse = numbers(row[3])
        assert bias == pytest.approx(rec["bias"], rel=5e-3, abs=1e-6)
        assert mcse == pytest.approx(rec["mcse_bias"], rel=0.05)
        assert numbers(row[5])[0] == pytest.approx(rec["rmse"], rel=5e-3)
    assert f"in {100 * summary['selection']['bic']['hit_rate']:.1f}% of replications" in text
    names = {t["name"] for t in doc.tables}
    assert {"selection_grid_hit_rates_reference", "selection_grid_hit_rate_bic"} <= names
    for t in doc.tables:
        assert (tmp_path / "report" / t["files"][0]).is_file()


# ---------------------------------------------------------------------------
# the baseline study
# ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::estimator.results.ConvergenceWarning")
def test_baselines_full_method_is_the_recovery_study(tmp_path):
    config = REPO / "experiments" / "configs" / "real_like.json"
    document = baselines.run(config, tmp_path, replications=2, gmm_n_init=2, quiet=True)
    summary = document["conditions"][0]
    assert summary["n_ok"] == 2 and set(summary["methods"]) == set(baselines.METHODS)
    raw = np.genfromtxt(tmp_path / "raw" / "condition_0000.csv", delimiter=",", names=True)
    study = build_study(load_config(config))
    condition = study.conditions[0]
    for r in range(2):
        record = run_replication(study, condition, r)
        assert raw["full_est_alpha_3"][r] == pytest.approx(record["est_alpha_3"], abs=1e-12)
        assert raw["full_chosen_k"][r] == record["chosen_bic"]


# ---------------------------------------------------------------------------
# the Gaussian mixture of the two-step route (scikit-learn's)
# ---------------------------------------------------------------------------


def test_two_step_mixture_chooses_the_clusters_by_its_bic():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [6.0, 1.0], [1.0, 7.0]])
    labels = rng.choice(3, size=600, p=[0.5, 0.3, 0.2])
    x = means[labels] + rng.normal(size=(600, 2))
    fits, bic = baselines.gaussian_mixtures(x, (1, 2, 3, 4), n_init=3, seed=1)
    assert min(bic, key=bic.get) == 3
    fit = fits[3]
    n_params = 3 * 2 + 3 * 3 + 2  # means, full covariances, weights
    assert bic[3] == pytest.approx(n_params * np.log(600) - 2 * 600 * fit.score(x))
    np.testing.assert_allclose(np.sort(fit.means_[:, 0]), np.sort(means[:, 0]), atol=0.3)
    again, _ = baselines.gaussian_mixtures(x, (3,), n_init=3, seed=1)  # seeded: reproducible
    np.testing.assert_array_equal(again[3].means_, fit.means_)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n: st.tuples(
            st.lists(st.text("ab -.*()[]01 9", max_size=8), min_size=n, max_size=n),
            st.lists(st.lists(st.text("ab -.*()[]01 9", max_size=8), min_size=n, max_size=n),
                     max_size=5),
        )
    )
)  # fmt: skip
def test_text_tables_are_laid_out_as_tabulate_lays_them_out(table):
    # the printout of fit_real needs no tabulate; its layout is tabulate's "simple" all the same
    headers, rows = table
    assert text_table(headers, rows) == tabulate(rows, headers, disable_numparse=True)
