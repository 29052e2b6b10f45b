"""The studies of the sales mixture, each through :func:`simstudy.harness.simulation.simulate`.

Configs and truths (:mod:`.config`, :mod:`.schema`), synthetic panels (:mod:`.generate`),
the recovery and selection studies (:mod:`.mixture`), and the studies of one question
each: baselines, BLRT, hard cases, reliability, sigma calibration, guard, concomitant,
peers.
"""
