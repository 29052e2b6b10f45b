"""The write-up bundle (``python -m experiments.report``): report.md, LaTeX tables, figures.

:mod:`.build` the sections in order, :mod:`.doc` the document (numbered tables and
figures), :mod:`.real` the real data, :mod:`.baselines` the baseline comparison,
:mod:`.studies` the simulation studies.
"""
