"""Every table and figure, built once; the report (``python -m experiments.report``) and blocks:
:mod:`.format`, :mod:`.tables`, figures, the report (:mod:`.report`, :mod:`.doc`), the blocks.
"""
