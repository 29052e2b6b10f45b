"""Benchmark case 7: the real panel fitted by R's flexmix and by salesmix, the same model.

flexmix has no sigma fixed at 1, so both fit a normal mixture of regressions of
log sales on log price, grouped by store, with sigma per segment: flexmix
``stepFlexmix(y ~ lp | store, k = 1:4, nrep = 10)`` against salesmix's
``fit_k_range(..., (1, 2, 3, 4), n_init=10, sigma="segment")`` plus the pass that
computes the sufficient statistics. Both run from the same ``N_SEEDS`` seeds (the
starts, and so the work, differ a great deal from seed to seed); the ratio is of
the times summed over the seeds. flexmix's time is its own ``system.time``
(elapsed) around ``stepFlexmix``; ours is, per seed, the median of ``repeats``
runs in this process; reading the CSV is left out of both. Needs ``Rscript`` with
flexmix (Debian's r-cran-flexmix); without it the case says so in one line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from estimator import fit_k_range, load_csv

from ..harness.runner import silenced
from ..studies.paths import REAL_DATA
from .measure import load_average, timed
from .settings import Settings

KS = (1, 2, 3, 4)
N_INIT = 10
N_SEEDS = 3

R_SCRIPT = r"""
suppressMessages(library(flexmix))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
S <- as.matrix(d[, -1])
long <- data.frame(y = log(as.vector(S)), lp = rep(log(d$Price), ncol(S)),
                   store = rep(seq_len(ncol(S)), each = nrow(S)))
nrep <- as.integer(args[2])
k_max <- as.integer(args[3])
seeds <- as.integer(args[-(1:3)])
seconds <- numeric(0)
best <- NULL
for (seed in seeds) {
  set.seed(seed)
  t <- system.time(m <- stepFlexmix(y ~ lp | store, data = long, k = 1:k_max, nrep = nrep,
                                    verbose = FALSE))
  seconds <- c(seconds, t[["elapsed"]])
  ll <- sapply(m@models, function(x) as.numeric(logLik(x)))
  best <- if (is.null(best)) ll else pmax(best, ll)
}
cat(sprintf('{"seconds": [%s], "loglik": [%s], "flexmix": "%s", "r": "%s"}\n',
            paste(sprintf("%.6f", seconds), collapse = ", "),
            paste(sprintf("%.10f", best), collapse = ", "),
            as.character(packageVersion("flexmix")),
            paste(R.version$major, R.version$minor, sep = ".")))
"""


def case_flexmix(settings: Settings) -> dict[str, Any]:
    """Time flexmix and salesmix on the real panel, K = 1..4 x 10 starts, sigma per segment."""
    row: dict[str, Any] = {"case": "flexmix", "ks": list(KS), "n_init": N_INIT}
    if settings.quick:  # R takes about 15 s a seed
        return {**row, "status": "not run (--quick)"}
    if shutil.which("Rscript") is None:
        return {**row, "status": "not run: Rscript is not on PATH (R with r-cran-flexmix)"}
    load = load_average()
    seeds = [settings.seed % 2**31 + i for i in range(N_SEEDS)]
    data = str(REAL_DATA.resolve())
    command = ["Rscript", "-e", R_SCRIPT, data, str(N_INIT), str(max(KS)), *map(str, seeds)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return {**row, "status": f"failed: Rscript exited {done.returncode}: {last}"}
    peer = json.loads(done.stdout.strip().splitlines()[-1])
    panel = load_csv(REAL_DATA)
    ours_s, best = [], None
    for seed in seeds:

        def ours(seed: int = seed) -> Any:
            stats = panel.sufficient_stats()
            return fit_k_range(stats, KS, n_init=N_INIT, seed=seed, sigma="segment")

        with silenced([Warning]):
            seconds, _, selection = timed(ours, settings.repeats)
        ours_s.append(seconds)
        found = [float(selection.fits[k].loglik) for k in KS]
        best = found if best is None else [max(a, b) for a, b in zip(best, found, strict=True)]
    return {
        **row,
        "status": "ok",
        "seeds": seeds,
        "load_at_start": load,
        "flexmix_s": peer["seconds"],
        "ours_s": ours_s,
        "ratio": sum(peer["seconds"]) / sum(ours_s),
        "flexmix_loglik": peer["loglik"],
        "ours_loglik": best,
        "versions": {"flexmix": peer["flexmix"], "R": peer["r"]},
    }
