"""The studies of the sales mixture, each through :func:`simstudy.harness.simulation.simulate`:
configs (:mod:`.config`, :mod:`.schema`), panels (:mod:`.generate`), recovery and selection
(:mod:`.mixture`), and the studies of one question each.
"""
