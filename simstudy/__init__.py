"""Monte Carlo machinery for salesmix: generate, fit, record, summarise."""
