"""The study harness: model-agnostic, it imports nothing of the estimator.

:mod:`.simulation` the one way into a study (``run_simulation``, ``simulate``: a design
and generate / analyse / summarise; the one summary.json), :mod:`.runner` conditions x
replications (seeds, checkpoints, resume, errors), :mod:`.parallel` where work units run
(loky, threads, dask), :mod:`.records` checksummed CSV records, :mod:`.lock` one writer
per folder, :mod:`.progress` progress (tqdm), :mod:`.measures` performance measures with
Monte Carlo SEs, :mod:`.schema` config checks, :mod:`.files` atomic writes, JSON units,
the software stamp.
"""
