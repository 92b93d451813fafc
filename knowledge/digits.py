"""Explains the three digits of an FTP reply code, known or not (RFC 959 §4.2)."""

from __future__ import annotations

from collections import namedtuple

from knowledge.base import digit_table


class Digit(namedtuple("Digit", "position digit short meaning")):
    """One digit of a reply code: its position (1-3), the digit, a short label and what it means."""

    __slots__ = ()


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
