"""Mutated copies of the real CSV: each loads and fits, or is refused with one line naming it.

A fuzz of the reader: truncations, random bytes, deleted spans, duplicated or dropped
lines, odd cells and headers, other delimiters and line endings, shifted columns.
Nothing may end in another exception type, a multi-line message or a NaN fit.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from estimator import fit_k_range, load_panel

pytestmark = pytest.mark.slow  # a few hundred loads and fits

N_FILES = 1000
REAL = Path(__file__).resolve().parents[1] / "data" / "609948.csv"
CELLS = ["", "nan", "NaN", "-1", "0", "1e400", "-inf", "abc", "=1+1", "n/a", "1,5", '"',
         "1e-320", " 3 ", "\x00", "é", "12345678901234567890", "Total"]  # fmt: skip


def _cell(lines: list[str], rng: random.Random, row: int) -> str:
    cells = lines[row].rstrip("\n").split(",")
    cells[rng.randrange(len(cells))] = rng.choice(CELLS)
    lines[row] = ",".join(cells) + "\n"
    return "".join(lines)


def _column(lines: list[str], rng: random.Random) -> str:
    rows = [line.rstrip("\n").split(",") for line in lines]
    c, drop = rng.randrange(len(rows[0])), rng.random() < 0.5
    rows = [r[:c] + r[c + 1 :] if drop else r[c:] + r[:c] for r in rows]
    return "\n".join(",".join(r) for r in rows) + "\n"


def mutate(text: str, rng: random.Random) -> tuple[str, str]:
    """One random mutation of ``text``: (the new text, the kind of mutation)."""
    lines = text.splitlines(keepends=True)
    at = rng.randrange(len(text))
    kinds = {
        "truncate": lambda: text[:at],
        "insert": lambda: text[:at] + "".join(map(chr, rng.sample(range(1, 256), 4))) + text[at:],
        "delete": lambda: text[:at] + text[at + rng.randrange(1, 200) :],
        "duplicate line": lambda: "".join(lines[:at % len(lines) + 1] + lines[at % len(lines):]),
        "drop line": lambda: "".join(lines[: at % len(lines)] + lines[at % len(lines) + 1 :]),
        "cell": lambda: _cell(lines, rng, rng.randrange(1, len(lines))),
        "header": lambda: _cell(lines, rng, 0),
        "delimiter": lambda: text.replace(",", rng.choice([";", "\t", " ", "|"]), at % 40_000),
        "line endings": lambda: rng.choice(["\ufeff" + text, text.replace("\n", "\r\n"),
                                            text.replace("\n", "\r")]),
        "column": lambda: _column(lines, rng),
    }  # fmt: skip
    kind = rng.choice(sorted(kinds))
    return kinds[kind](), kind


@pytest.mark.filterwarnings("ignore")  # plausibility and convergence warnings: not at issue
def test_mutated_csv_files_fit_or_are_refused_in_one_line_naming_the_file(tmp_path):
    text, rng, outcomes = REAL.read_text(encoding="utf-8"), random.Random(20261207), Counter()
    for i in range(N_FILES):
        mutated, kind = mutate(text, rng)
        path = tmp_path / f"mutated_{i}.csv"
        path.write_text(mutated, encoding="utf-8", errors="surrogateescape")
        try:
            stats = load_panel(path, missing=rng.choice(["error", "drop"])).sufficient_stats()
            fits = fit_k_range(stats, (1, 2), n_init=2, seed=i).fits
        except ValueError as err:
            message = str(err)
            assert "\n" not in message and path.name in message, (kind, message)
            outcomes[(kind, "refused")] += 1
            continue
        assert all(math.isfinite(fit.loglik) for fit in fits.values()), kind
        outcomes[(kind, "fitted")] += 1
    print(dict(sorted(outcomes.items())))
    fitted = sum(n for (_, what), n in outcomes.items() if what == "fitted")
    assert sum(outcomes.values()) == N_FILES and 0 < fitted < N_FILES  # both outcomes occur
