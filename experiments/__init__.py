"""Runnable entry points: ``python -m experiments.NAME``."""
