"""Explains the three digits of an FTP reply code, known or not (RFC 959 §4.2)."""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

DIGITS_FILE = Path(__file__).parent / "data" / "digits.toml"


@dataclass(frozen=True)
class Digit:
    position: int
    digit: str
    short: str
    meaning: str


_POSITIONS = {"first": "123456", "second": "012345"}
_ROW_FIELDS = ("short", "meaning")


class DigitsError(ValueError):
    """digits.toml is malformed; the message names the file and the row."""


def load_table(path: Path) -> dict:
    """digits.toml read and checked: `source`, and a `short` and `meaning` for each class and group digit."""

    def fail(where: str, problem: str) -> DigitsError:
        return DigitsError(f"{path.name}: {where}: {problem}")

    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise DigitsError(f"{path.name}: not valid TOML: {exc}") from exc
    unknown = set(table) - {"source", *_POSITIONS}
    if unknown:
        raise fail("top level", f"unknown key(s) {', '.join(sorted(unknown))}")
    if not isinstance(table.get("source"), str) or not table["source"].strip():
        raise fail("top level", "'source' is missing (the defining documents)")
    for position, wanted in _POSITIONS.items():
        rows = table.get(position)
        if not isinstance(rows, dict):
            raise fail(position, f"[{position}] is missing (a row for each of {', '.join(wanted)})")
        if set(rows) != set(wanted):
            raise fail(position, f"needs exactly the digits {', '.join(wanted)}, has {', '.join(sorted(rows))}")
        for digit, row in rows.items():
            where = f"{position}.{digit}"
            if not isinstance(row, dict):
                raise fail(where, "must be a table { short = ..., meaning = ... }")
            if set(row) - set(_ROW_FIELDS):
                raise fail(where, f"unknown field(s) {', '.join(sorted(set(row) - set(_ROW_FIELDS)))}")
            for key in _ROW_FIELDS:
                if not isinstance(row.get(key), str) or not row[key].strip():
                    raise fail(where, f"'{key}' is missing or empty")
    return table


@functools.cache
def _table() -> dict:
    return load_table(DIGITS_FILE)


def is_reply_code(code: str) -> bool:
    """True for a three-digit code whose first digit is a class (1-6) and second a group (0-5)."""
    return len(code) == 3 and code.isdigit() and code[0] in "123456" and code[1] in "012345"


def first_digit(digit: str) -> tuple[str, str]:
    row = _table()["first"][digit]
    return row["short"], row["meaning"]


def second_digit(digit: str) -> tuple[str, str]:
    row = _table()["second"][digit]
    return row["short"], row["meaning"]


def explain(code: str, title: str | None = None) -> list[Digit]:
    """Digit by digit; `title` is the known code's title, None for a code no standard defines."""
    if not is_reply_code(code):
        raise ValueError(f"{code!r} is not a three-digit FTP reply code")
    first_short, first_meaning = first_digit(code[0])
    group_short, group_meaning = second_digit(code[1])
    if title:
        third = f"Which reply within the {group_short} group: {code} is “{title}”."
    else:
        third = f"No standard assigns {code[2]} within the {group_short} group of class {code[0]}."
    return [
        Digit(1, code[0], first_short, first_meaning),
        Digit(2, code[1], group_short, group_meaning),
        Digit(3, code[2], "detail", third),
    ]


def source() -> str:
    return _table()["source"]
