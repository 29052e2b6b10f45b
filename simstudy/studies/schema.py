"""The schema of a mixture study config (docs/simstudy.md): every key, its type and its range.

What needs several keys (a truth for every true K, T within the real prices, true K in
k_range) is checked afterwards by :func:`simstudy.studies.config.check_config`.
"""

from __future__ import annotations

import math
from typing import Any

from estimator import INIT_METHODS, SIGMA_MODES

from ..harness.schema import (
    Check,
    ConfigError,
    boolean,
    choice,
    describe,
    either,
    integer,
    list_of,
    mapping,
    number,
    text,
)
from ..harness.schema import name as name_check

PI_TOLERANCE = 1e-6
"""How far the proportions of a truth may sum from 1 (JSON round-off)."""


def _truth(value: Any, path: str) -> None:
    mapping({"theta": _theta, "pi": list_of(number(0, low_open=True), "proportions > 0"),
              "source": text}, ("theta", "pi"))(value, path)  # fmt: skip
    theta, pi = value["theta"], value["pi"]
    if len(theta) != len(pi):
        raise ConfigError(f"{path}.pi: {len(pi)} proportions for {len(theta)} segments in theta")
    if abs(sum(pi) - 1.0) > PI_TOLERANCE:
        raise ConfigError(f"{path}.pi: proportions must sum to 1, they sum to {sum(pi):.10g}")


def _theta(value: Any, path: str) -> None:
    list_of(list_of(number(-math.inf, low_open=True), "coefficients"), "segments")(value, path)
    widths = {len(row) for row in value}
    if len(widths) > 1 or min(widths) < 2:
        raise ConfigError(
            f"{path}: every segment needs the same coefficients (alpha, beta, extras...), "
            f"got rows of lengths {sorted(widths)}"
        )


def _truths_by_k(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping of K to a truth, got {describe(value)}")
    for key, truth in value.items():
        if not key.isdigit() or int(key) < 1:
            raise ConfigError(f'{path}.{key}: keys are numbers of segments such as "2"')
        _truth(truth, f"{path}.{key}")
        if len(truth["pi"]) != int(key):
            raise ConfigError(f"{path}.{key}: the truth has {len(truth['pi'])} segments, not {key}")


_POSITIVE = number(0, low_open=True)
_LOGNORMAL = mapping(
    {
        "process": choice("lognormal"),
        "meanlog": number(-math.inf, low_open=True),
        "sdlog": number(0, low_open=False),
    },
    ("process", "meanlog", "sdlog"),
)

FACTOR_SCHEMA: dict[str, Check] = {
    "N": list_of(integer(2), "numbers of stores (integers >= 2)"),
    "T": list_of(integer(3), "numbers of weeks (integers >= 3)"),
    "K": list_of(integer(1), "true numbers of segments (integers >= 1)"),
    "separation": list_of(_POSITIVE, "scales > 0"),
    "sigma": list_of(
        either(
            _POSITIVE,
            list_of(_POSITIVE, "standard deviations"),
            "a number > 0 or a list of them (one per segment)",
        ),
        "error standard deviations",
    ),  # fmt: skip
    "prices": list_of(
        either(
            choice("real"),
            _LOGNORMAL,
            '"real" or {"process": "lognormal", "meanlog": m, "sdlog": s}',
        ),
        "price processes",
    ),  # fmt: skip
    "missing_rate": list_of(number(0, 1, low_open=False), "probabilities in [0, 1)"),
    "price_noise": list_of(number(0, low_open=False), "standard deviations >= 0"),
}
FIT_SCHEMA: dict[str, Check] = {
    "n_init": integer(1),
    "tol": _POSITIVE,
    "max_iter": integer(1),
    "init": choice(*INIT_METHODS),
    "sigma": choice(*SIGMA_MODES),
    "inference": boolean,
}
CONFIG_SCHEMA: dict[str, Check] = {
    "name": name_check,
    "description": text,
    "truth": _truth,
    "truths_by_k": _truths_by_k,
    "truths_by_k_derivation": text,
    "factors": mapping(FACTOR_SCHEMA, ("N",), noun="factor"),
    "replications": integer(1),
    "k_range": list_of(integer(1), "numbers of segments (integers >= 1)"),
    "fit": mapping(FIT_SCHEMA),
    "seed": integer(0),
    "batch_size": integer(1),
    "price_data": text,
    "extra_regressors": lambda value, path: _extras(value, path),
    "blrt": mapping(
        {
            "n_boot": integer(2),
            "level": number(0, 1, low_open=True),
            "k_min": integer(1),
            "k_max": integer(1),
            "sequential": boolean,
        },
        ("n_boot",),
    ),
}
REQUIRED: tuple[str, ...] = ("name", "truth", "factors", "replications", "k_range", "seed")


def _extras(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path}: expected a mapping of name to probability, got {describe(value)}"
        )
    for key, prob in value.items():
        number(0, 1, low_open=False, high_open=False)(prob, f"{path}.{key}")


def check_schema(config: Any) -> None:
    """Check every key, type and range of a parsed config; a ConfigError names the first key
    path at fault (``fit.n_init: expected an integer >= 1, got 0``)."""
    mapping(CONFIG_SCHEMA, REQUIRED)(config, "")
