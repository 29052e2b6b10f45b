"""The studies of the sales mixture, each through :func:`simstudy.harness.simulation.simulate`.

:mod:`.config` and :mod:`.schema` study configs, the design grid and truths for every
K, :mod:`.generate` synthetic panels, :mod:`.mixture` the recovery and selection
studies, :mod:`.baselines` a single start and the two-step route, :mod:`.blrt` the
bootstrap LRT on fitted data, :mod:`.hard_cases` and :mod:`.reliability` how often a
setting reaches the best-known maximum, :mod:`.sigma_calibration` the SEs with sigma
estimated, :mod:`.paths` the data path and seeds.
"""
