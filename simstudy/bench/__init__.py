"""The benchmark of the EM engine against a straightforward implementation (docs/benchmark.md).

:mod:`.settings` what runs, :mod:`.measure` timers and the two implementations on one
workload, :mod:`.cases` the cases, :mod:`.render` targets, tables and figure,
:mod:`.run` the driver; :mod:`.naive_em` is the straightforward reference EM.
"""
