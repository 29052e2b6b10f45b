"""The study harness: model-agnostic, it imports nothing of the estimator.

:mod:`.simulation` is the one way into a study (a design and generate / analyse /
summarise; the one summary.json); :mod:`.runner`, :mod:`.parallel`, :mod:`.records`,
:mod:`.lock` and :mod:`.progress` run it; :mod:`.measures` are the performance measures.
"""
