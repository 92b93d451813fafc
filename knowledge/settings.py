"""Reading numbers from the environment, for the bot's settings and the probe's, with the same one-line errors."""

from __future__ import annotations

from collections.abc import Mapping


def whole_number(
    env: Mapping[str, str], name: str, default: int, low: int, high: int, error: type[ValueError] = ValueError
) -> int:
    """`name` as a whole number from `low` to `high`, `default` when unset or blank; else `error` naming it."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdecimal() or not low <= int(raw) <= high:
        raise error(f"{name} must be a whole number from {low} to {high}")
    return int(raw)
