"""Baselines for the estimator: a single EM start and the two-step route (store OLS, then a
Gaussian mixture, :mod:`.gmm`), compared on the real_like design by :mod:`.study`."""
