"""Explains the three digits of an FTP reply code, known or not (RFC 959 §4.2)."""

from __future__ import annotations

import os
from collections import namedtuple

from knowledge.base import KnowledgeError, digit_table


class Digit(namedtuple("Digit", "position digit short meaning")):
    """One digit of a reply code: its position (1-3), the digit, a short label and what it means."""

    __slots__ = ()


_POSITIONS = {"first": "123456", "second": "012345"}
_ROW_FIELDS = ("short", "meaning")


class DigitsError(KnowledgeError):
    """digits.toml is malformed; the message names the file and the row."""


def parse_table(name: str, data: bytes) -> dict:
    """digits.toml checked: `source`, and a `short` and `meaning` for each class and group digit."""
    import tomllib  # only when the snapshot is rebuilt

    def fail(where: str, problem: str) -> DigitsError:
        return DigitsError(f"{name}: {where}: {problem}")

    try:
        table = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DigitsError(f"{name}: not valid TOML: {exc}") from exc
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


def load_table(path: str | os.PathLike) -> dict:
    """A digits.toml file read and checked (parse_table)."""
    with open(path, "rb") as handle:
        return parse_table(os.path.basename(path), handle.read())


def is_reply_code(code: str) -> bool:
    """True for a three-digit code whose first digit is a class (1-6) and second a group (0-5)."""
    return len(code) == 3 and code.isdigit() and code[0] in "123456" and code[1] in "012345"


def first_digit(digit: str) -> tuple[str, str]:
    row = digit_table()["first"][digit]
    return row["short"], row["meaning"]


def second_digit(digit: str) -> tuple[str, str]:
    row = digit_table()["second"][digit]
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
    return digit_table()["source"]
