"""The comparison with flexmix and mixtools (:mod:`simstudy.studies.peers`) as tables and text.

Everything is rendered from the comparison's JSON: ``outputs/peers/peers.md`` and the
generated block of docs/peers.md, between :data:`BLOCK_OPEN` and :data:`BLOCK_CLOSE`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from estimator import match_segments

from ..harness.files import write_json_atomic, write_text_atomic
from ..studies.peers import SAME_MAXIMUM
from .format import num, sci

BLOCK_OPEN, BLOCK_CLOSE = "<!-- peers:table -->", "<!-- /peers:table -->"
"""Markers of the generated block of docs/peers.md (not ``gen:``: those are the blocks')."""
Row = dict[str, Any]


def _rows(result: dict[str, Any]) -> Iterator[tuple[dict[str, Any], Row]]:
    """(case, row) of every R fit, in the table's order."""
    return ((case, row) for case in result["cases"] for row in case["rows"])


def _markdown(lines: list[dict[str, Any]]) -> str:
    """Rows of header -> cell as a github table (cells as they are: no number parsing)."""
    return tabulate(lines, "keys", tablefmt="github", disable_numparse=True)


def table(result: dict[str, Any]) -> str:
    """The comparison as a markdown table: one line per R fit."""
    lines = []
    for case, row in _rows(result):
        r, ours = row["r"], row["salesmix"]
        prior = f" ({row['concomitant']})" if row["concomitant"] else ""
        lines.append(
            {
                "case": case["case"],
                "peer": row["peer"] + prior,
                "K": row["K"],
                "sigma": row["sigma_mode"],
                "R log L": f"{r['loglik']:.4f}",
                "R starts at best": f"{r['starts_at_best']}/{r['starts']}",
                "log L at R (ML sigma)": f"{row['loglik_at_r']['ml_sigma']:.4f}",
                "salesmix max": f"{ours['loglik']:.4f}",
                "excess": f"{row['excess']:.2e}",
                "salesmix starts at best": f"{ours['starts_at_best']}/{ours['n_init']}",
                "salesmix starts >= R": f"{ours['starts_reaching_r']}/{ours['n_init']}",
                "same maximum": {True: "yes", False: "no"}.get(
                    row.get("same_maximum"), row["status"]
                ),
                "max |d theta| vs R": sci(row.get("differences_from_r", {}).get("theta")),
                "vs refit": sci(row.get("differences_refit", {}).get("theta")),
                "max abs(SE ratio - 1)": sci(_se_gap(row.get("se", {}))),
                "speed ratio": num(row.get("speed", {}).get("ratio"), 0),
            }
        )
    return _markdown(lines)


def _se_gap(se: dict[str, Any]) -> float | None:
    """Largest relative difference of salesmix's SEs from flexmix's (None: not compared)."""
    if not se.get("valid"):
        return None
    return max(abs(se["min_ratio"] - 1.0), abs(se["max_ratio"] - 1.0))


def gamma_table(result: dict[str, Any]) -> str:
    """The concomitant coefficients, flexmix's ``refit`` and salesmix's with their SEs, in
    flexmix's parameterisation (salesmix's segments and the truth matched and re-referenced)."""
    lines = []
    for case, row in _rows(result):
        se = row.get("se", {})
        if not row["concomitant"] or "gamma" not in se:
            continue
        r = row["r"]
        truth = _truth_gamma(case.get("truth"), np.asarray(r["theta"]))
        for c, (theirs, errors) in enumerate(
            zip(r["refit_gamma"], r["refit_gamma_se"], strict=True)
        ):
            for j, name in enumerate(r["gamma_names"]):
                ours, ours_se = se["gamma"][c][j], se["se_gamma"][c][j]
                lines.append(
                    {
                        "case": case["case"],
                        "prior": row["concomitant"],
                        "component: coefficient": f"{c + 2}: {name}",
                        "flexmix refit (SE)": f"{theirs[j]:.4f} ({errors[j]:.4f})",
                        "salesmix (SE)": f"{ours:.4f} ({ours_se:.4f})",
                        "difference": f"{ours - theirs[j]:.1e}",
                        "SE ratio - 1": f"{ours_se / errors[j] - 1:.1e}",
                        "truth": "-" if truth is None else f"{truth[c + 1][j]:.4g}",
                    }
                )
    return _markdown(lines)


def _truth_gamma(truth: dict[str, Any] | None, theta: np.ndarray) -> np.ndarray | None:
    """The true gamma (K, Q) in the order of the components ``theta`` (K, P), against the first."""
    if not truth or "gamma" not in truth:
        return None
    order = match_segments(theta, np.asarray(truth["theta"], dtype=float))
    component_of = np.argsort(order)  # flexmix's component c estimates true component_of[c]
    gamma = np.asarray(truth["gamma"], dtype=float)[component_of]
    return gamma - gamma[0]


def findings(result: dict[str, Any]) -> str:
    """One paragraph of what came out, every number from ``result``."""
    compared = [row for _, row in _rows(result)]
    excess = [row["excess"] for row in compared]
    check = [abs(row["loglik_at_r"]["reported_sigma"] - row["r"]["loglik"]) for row in compared]
    above = [row for row in compared if row["excess"] > SAME_MAXIMUM]
    other = [row for row in compared if row.get("same_maximum") is False]
    gaps = [
        (_se_gap(row["se"]), case["case"], row["K"])
        for case, row in _rows(result)
        if row.get("se", {}).get("valid")
    ]
    worst = max(gaps)
    speed = [row["speed"]["ratio"] for row in compared if "speed" in row]
    reaching = min(
        (row["salesmix"]["starts_reaching_r"], row["salesmix"]["n_init"], case["case"], row["K"])
        for case, row in _rows(result)
    )
    above_best = [row for row in compared if row["salesmix"]["starts_above_best"]]
    return (
        f"{len(compared)} R fits compared. "
        f"salesmix's maximum is at least the log L at R's parameters (ML sigma) on every "
        f"compared fit: the smallest excess is {min(excess):.2e}, the largest {max(excess):.3f}; "
        f"{len(above)} of {len(compared)} are higher by more than {SAME_MAXIMUM:g}. "
        f"Of salesmix's starts, as few as {reaching[0]} of {reaching[1]} reach R's value "
        f"({reaching[2]}, K = {reaching[3]}); on {len(above_best)} fits some starts ended "
        f"above salesmix's chosen maximum, uncertified (a sigma running to the floor). "
        f"At R's own parameters salesmix reproduces R's reported log L to "
        f"{max(check):.1e} (largest absolute difference). "
        f"{len(other)} fits end at a different maximum from the one R was at. "
        f"Standard errors against flexmix's refit ({len(gaps)} fits): salesmix's differ "
        f"by at most {worst[0]:.1e} relative ({worst[1]}, K = {worst[2]}); on "
        f"{sum(gap < 1e-3 for gap, _, _ in gaps)} fits by less than 1e-3. "
        f"Time per start: R takes {min(speed):.0f} to {max(speed):.0f} times salesmix's. "
        f"{concomitant_findings(result)}"
    )


def concomitant_findings(result: dict[str, Any]) -> str:
    """What came out on the fits with a concomitant prior, every number from ``result``."""
    rows = [row for _, row in _rows(result) if row["concomitant"]]
    excess = [row["excess"] for row in rows]
    with_gamma = [row for row in rows if "gamma" in row.get("se", {})]
    gap = max(row["differences_refit"]["gamma"] for row in with_gamma)
    se_gap = max(
        np.max(np.abs(np.divide(row["se"]["se_gamma"], row["r"]["refit_gamma_se"]) - 1.0))
        for row in with_gamma
    )
    speed = [row["speed"]["ratio"] for row in rows if "speed" in row]
    constant = [
        row["speed"]["ratio"]
        for case in result["cases"]
        if any(row["concomitant"] for row in case["rows"])
        for row in case["rows"]
        if not row["concomitant"] and "speed" in row
    ]
    return (
        f"With a concomitant prior ({len(rows)} fits) the excess runs from {min(excess):.2e} "
        f"to {max(excess):.2e}; gamma, in flexmix's parameterisation, differs from "
        f"flexmix's refit by at most {gap:.1e} and its standard errors by at most "
        f"{se_gap:.1e} relative ({len(with_gamma)} fits); R takes {min(speed):.0f} to "
        f"{max(speed):.0f} times salesmix's time per start, against {min(constant):.0f} to "
        f"{max(constant):.0f} on the same data with a constant prior."
    )


def elsewhere(result: dict[str, Any]) -> str:
    """One line per fit where salesmix's best maximum is not the one R was at."""
    lines = []
    for case, row in _rows(result):
        if row.get("same_maximum") is not False:
            continue
        ours = row["salesmix"]
        small = int(np.argmin(ours["pi"]))
        lines.append(
            f"- {case['case']}, K = {row['K']} ({row['peer']}): salesmix's best, "
            f"{ours['loglik']:.4f} ({ours['starts_at_best']} of {ours['n_init']} starts), "
            f"has a segment with pi = {ours['pi'][small]:.4f} and sigma = "
            f"{ours['sigma'][small]:.4g}; started at R's parameters salesmix reaches "
            f"{row['salesmix_from_r']['loglik']:.4f}, the maximum R was at."
        )
    return "\n".join(lines) if lines else "- none"


def doc_block(result: dict[str, Any]) -> str:
    """The generated block of docs/peers.md (between the markers, exclusive)."""
    return (
        f"{findings(result)}\n\n{table(result)}\n\n"
        f"Where salesmix's best maximum is another one than R's:\n\n{elsewhere(result)}\n\n"
        f"The concomitant coefficients, against flexmix's component 1 (salesmix's "
        f"re-referenced):\n\n{gamma_table(result)}\n"
    )


def rewrite_doc(text: str, result: dict[str, Any], source: str = "docs/peers.md") -> str:
    """``text`` with its generated block re-rendered from ``result``; ValueError naming
    ``source`` when the markers are missing or out of order."""
    start, end = text.find(BLOCK_OPEN), text.find(BLOCK_CLOSE)
    if start < 0 or end < start:
        raise ValueError(f"{source}: needs {BLOCK_OPEN} ... {BLOCK_CLOSE} in this order")
    head = text[: start + len(BLOCK_OPEN)]
    return f"{head}\n{doc_block(result)}{text[end:]}"


def write_outputs(folder: Path, result: dict[str, Any]) -> None:
    """``folder/peers.json`` (the comparison) and ``folder/peers.md`` (its tables), atomically."""
    write_json_atomic(folder / "peers.json", result)
    write_text_atomic(
        folder / "peers.md",
        f"# salesmix against flexmix and mixtools\n\n{doc_block(result)}",
    )


def write_doc(path: Path, result: dict[str, Any]) -> bool:
    """Rewrite the block of ``path``; whether it changed."""
    text = path.read_text(encoding="utf-8")
    new = rewrite_doc(text, result, str(path))
    if new != text:
        write_text_atomic(path, new)
    return new != text
