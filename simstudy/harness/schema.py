"""Checks of a parsed JSON config: every key, its type and its range, one line at fault.

A check is ``check(value, path)`` raising :class:`ConfigError` naming the key path
(``fit.n_inti: unknown key; did you mean n_init?``); :func:`mapping`, :func:`list_of`
and :func:`either` build a schema from them. Written here rather than with jsonschema
(not a dependency), whose messages do not name the key in one line.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any, str], None]


class ConfigError(ValueError):
    """A config breaks the schema (the message names the key path)."""


def describe(value: Any) -> str:
    """A value as an error message quotes it (``the string 'x'``, ``a list ([1, 2])``)."""
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


def integer(minimum: int) -> Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigError(f"{path}: expected an integer >= {minimum}, got {describe(value)}")

    return check


def number(low: float, high: float = math.inf, *, low_open: bool, high_open: bool = True) -> Check:
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
            raise ConfigError(f"{path}: expected a number {span}, got {describe(value)}")

    return check


def text(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: expected a string, got {describe(value)}")


def name(value: Any, path: str) -> None:
    text(value, path)
    if not value.strip() or "/" in value or "\\" in value:
        raise ConfigError(f"{path}: expected a non-empty name without slashes, got {value!r}")


def boolean(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {describe(value)}")


def choice(*options: str) -> Check:
    def check(value: Any, path: str) -> None:
        if value not in options:
            raise ConfigError(f"{path}: expected one of {list(options)}, got {describe(value)}")

    return check


def list_of(item: Check, what: str) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{path}: expected a non-empty list of {what}, got {describe(value)}")
        for i, entry in enumerate(value):
            item(entry, f"{path}[{i}]")

    return check


def either(first: Check, second: Check, what: str) -> Check:
    def check(value: Any, path: str) -> None:
        for option in (first, second):
            try:
                option(value, path)
            except ConfigError:
                continue
            return
        raise ConfigError(f"{path}: expected {what}, got {describe(value)}")

    return check


def mapping(
    fields: Mapping[str, Check], required: tuple[str, ...] = (), noun: str = "key"
) -> Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise ConfigError(f"{path or 'config'}: expected a mapping, got {describe(value)}")
        prefix = f"{path}." if path else ""
        for key in value:
            if key not in fields and not key.endswith("_note"):
                raise ConfigError(f"{prefix}{key}: unknown {noun}{_suggest(key, fields)}")
        for key in required:
            if key not in value:
                raise ConfigError(f"{prefix}{key}: missing key (required)")
        for key, entry in value.items():
            (fields.get(key) or text)(entry, f"{prefix}{key}")

    return check


def _suggest(key: str, fields: Mapping[str, Check]) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6) or [
        f for f in fields if f.lower() == key.lower()
    ]
    return f"; did you mean {close[0]}?" if close else f"; known keys: {', '.join(fields)}"
