"""The schema of a study config: every key, its type and its range, checked before anything runs.

:func:`check_schema` walks a config (parsed JSON) and raises :class:`ConfigError`
with one line naming the key path at fault, e.g. ``fit.n_inti: unknown key; did
you mean n_init?`` or ``replications: expected an integer >= 1, got 2.7``.
Keys ending in ``_note`` (and ``description``, ``source``,
``truths_by_k_derivation``) are free text for the reader. What needs more
than one key (a truth for every true K, T within the real price series, true K
inside k_range) is checked by :func:`simstudy.studies.config.check_config` afterwards.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

from estimator import INIT_METHODS, SIGMA_MODES

PI_TOLERANCE = 1e-6
"""How far the proportions of a truth may sum from 1 (JSON round-off)."""

Check = Callable[[Any, str], None]


class ConfigError(ValueError):
    """A config breaks the schema (the message names the key path)."""


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, list | dict):
        return f"a {'list' if isinstance(value, list) else 'mapping'} ({_short(value)})"
    return repr(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _integer(minimum: int) -> Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{path}: expected an integer >= {minimum}, got {_kind(value)}")

    return check


def _number(low: float, high: float = math.inf, *, low_open: bool, high_open: bool = True) -> Check:
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    span = f"> {low:g}" if math.isinf(high) and low_open else f"in {left}{low:g}, {high:g}{right}"
    if math.isinf(high) and not low_open:
        span = f">= {low:g}"

    def check(value: Any, path: str) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if ok:
            ok = (value > low if low_open else value >= low) and (
                value < high if high_open else value <= high
            )
        if not ok:
            raise ConfigError(f"{path}: expected a number {span}, got {_kind(value)}")

    return check


def _text(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: expected a string, got {_kind(value)}")


def _name(value: Any, path: str) -> None:
    _text(value, path)
    if not value.strip() or "/" in value or "\\" in value:
        raise ConfigError(f"{path}: expected a non-empty name without slashes, got {value!r}")


def _boolean(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {_kind(value)}")


def _choice(*options: str) -> Check:
    def check(value: Any, path: str) -> None:
        if value not in options:
            raise ConfigError(f"{path}: expected one of {list(options)}, got {_kind(value)}")

    return check


def _list_of(item: Check, what: str) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{path}: expected a non-empty list of {what}, got {_kind(value)}")
        for i, entry in enumerate(value):
            item(entry, f"{path}[{i}]")

    return check


def _either(first: Check, second: Check, what: str) -> Check:
    def check(value: Any, path: str) -> None:
        for option in (first, second):
            try:
                option(value, path)
            except ConfigError:
                continue
            return
        raise ConfigError(f"{path}: expected {what}, got {_kind(value)}")

    return check


def _mapping(
    fields: Mapping[str, Check], required: tuple[str, ...] = (), noun: str = "key"
) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"{path or 'config'}: expected a mapping, got {_kind(value)}")
        prefix = f"{path}." if path else ""
        for key in value:
            if key not in fields and not _is_note(key):
                raise ConfigError(f"{prefix}{key}: unknown {noun}{_suggest(key, fields)}")
        for key in required:
            if key not in value:
                raise ConfigError(f"{prefix}{key}: missing key (required)")
        for key, entry in value.items():
            (fields.get(key) or _text)(entry, f"{prefix}{key}")

    return check


def _is_note(key: str) -> bool:
    return key.endswith("_note")


def _suggest(key: str, fields: Mapping[str, Check]) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
    if not close:
        close = [f for f in fields if f.lower() == key.lower()]
    if close:
        return f"; did you mean {close[0]}?"
    return f"; known keys: {', '.join(fields)}"


def _truth(value: Any, path: str) -> None:
    _mapping({"theta": _theta, "pi": _list_of(_number(0, low_open=True), "proportions > 0"),
              "source": _text}, ("theta", "pi"))(value, path)  # fmt: skip
    theta, pi = value["theta"], value["pi"]
    if len(theta) != len(pi):
        raise ConfigError(f"{path}.pi: {len(pi)} proportions for {len(theta)} segments in theta")
    if abs(sum(pi) - 1.0) > PI_TOLERANCE:
        raise ConfigError(f"{path}.pi: proportions must sum to 1, they sum to {sum(pi):.10g}")


def _theta(value: Any, path: str) -> None:
    _list_of(_list_of(_number(-math.inf, low_open=True), "coefficients"), "segments")(value, path)
    widths = {len(row) for row in value}
    if len(widths) > 1 or min(widths) < 2:
        raise ConfigError(
            f"{path}: every segment needs the same coefficients (alpha, beta, extras...), "
            f"got rows of lengths {sorted(widths)}"
        )


def _truths_by_k(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping of K to a truth, got {_kind(value)}")
    for key, truth in value.items():
        if not key.isdigit() or int(key) < 1:
            raise ConfigError(f'{path}.{key}: keys are numbers of segments such as "2"')
        _truth(truth, f"{path}.{key}")
        if len(truth["pi"]) != int(key):
            raise ConfigError(f"{path}.{key}: the truth has {len(truth['pi'])} segments, not {key}")


_POSITIVE = _number(0, low_open=True)
_LOGNORMAL = _mapping(
    {
        "process": _choice("lognormal"),
        "meanlog": _number(-math.inf, low_open=True),
        "sdlog": _number(0, low_open=False),
    },
    ("process", "meanlog", "sdlog"),
)

FACTOR_SCHEMA: dict[str, Check] = {
    "N": _list_of(_integer(2), "numbers of stores (integers >= 2)"),
    "T": _list_of(_integer(3), "numbers of weeks (integers >= 3)"),
    "K": _list_of(_integer(1), "true numbers of segments (integers >= 1)"),
    "separation": _list_of(_POSITIVE, "scales > 0"),
    "sigma": _list_of(
        _either(
            _POSITIVE,
            _list_of(_POSITIVE, "standard deviations"),
            "a number > 0 or a list of them (one per segment)",
        ),
        "error standard deviations",
    ),  # fmt: skip
    "prices": _list_of(
        _either(
            _choice("real"),
            _LOGNORMAL,
            '"real" or {"process": "lognormal", "meanlog": m, "sdlog": s}',
        ),
        "price processes",
    ),  # fmt: skip
    "missing_rate": _list_of(_number(0, 1, low_open=False), "probabilities in [0, 1)"),
    "price_noise": _list_of(_number(0, low_open=False), "standard deviations >= 0"),
}
FIT_SCHEMA: dict[str, Check] = {
    "n_init": _integer(1),
    "tol": _POSITIVE,
    "max_iter": _integer(1),
    "init": _choice(*INIT_METHODS),
    "sigma": _choice(*SIGMA_MODES),
    "inference": _boolean,
}
CONFIG_SCHEMA: dict[str, Check] = {
    "name": _name,
    "description": _text,
    "truth": _truth,
    "truths_by_k": _truths_by_k,
    "truths_by_k_derivation": _text,
    "factors": _mapping(FACTOR_SCHEMA, ("N",), noun="factor"),
    "replications": _integer(1),
    "k_range": _list_of(_integer(1), "numbers of segments (integers >= 1)"),
    "fit": _mapping(FIT_SCHEMA),
    "seed": _integer(0),
    "batch_size": _integer(1),
    "price_data": _text,
    "extra_regressors": lambda value, path: _extras(value, path),
    "blrt": _mapping(
        {
            "n_boot": _integer(2),
            "level": _number(0, 1, low_open=True),
            "k_min": _integer(1),
            "k_max": _integer(1),
            "sequential": _boolean,
        },
        ("n_boot",),
    ),
}
REQUIRED: tuple[str, ...] = ("name", "truth", "factors", "replications", "k_range", "seed")


def _extras(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a mapping of name to probability, got {_kind(value)}")
    for key, prob in value.items():
        _number(0, 1, low_open=False, high_open=False)(prob, f"{path}.{key}")


def check_schema(config: Any) -> None:
    """Check every key, type and range of a parsed config.

    Parameters
    ----------
    config : object
        The parsed JSON.

    Raises
    ------
    ConfigError
        One line naming the first key path at fault (``fit.n_init: expected an
        integer >= 1, got 0``).
    """
    _mapping(CONFIG_SCHEMA, REQUIRED)(config, "")
