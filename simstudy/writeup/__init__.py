"""Every table and figure, built once; the report (``python -m experiments.report``) and blocks.

:mod:`.format` every number, :mod:`.tables` every table of a study (markdown, LaTeX,
text), :mod:`.study_figures` a study's figures, :mod:`.study_report` a study folder's
tables/ and figures/, :mod:`.generic` a study of your own, :mod:`.real`,
:mod:`.baselines` and :mod:`.blrt` the real data, the baselines and the bootstrap LRT,
:mod:`.studies` readings and captions, :mod:`.report` and :mod:`.doc` report.md (main
part and appendix), :mod:`.latex`, :mod:`.style`, and
:mod:`.blocks` the generated blocks of README.md and docs/.
"""
