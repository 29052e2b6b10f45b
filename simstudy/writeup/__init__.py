"""Every table and figure, built once; the report (``python -m experiments.report``) and blocks.

:mod:`.format` every number, :mod:`.tables` every table, :mod:`.study_figures` and
:mod:`.study_report` a study's figures and folder, :mod:`.generic` a study of your own,
:mod:`.report` and :mod:`.doc` report.md, :mod:`.blocks` the generated blocks of
README.md and docs/.
"""
