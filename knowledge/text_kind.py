"""Is this text a query or a log? Decided here, once, for every place text comes in to the Slack app: a command,
a mention, a DM, the Messages tab, the message shortcut, an emoji, a shared file, a Workflow step. What is read
as a log is scanned (knowledge/logscan); a query is looked up (knowledge/lookup)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge import lookup
from knowledge.logscan import ScanResult, scan

_LOG_LINE = re.compile(
    r"^\s*(?:\d{3}[ -]|(?:Status|Command|Response|Error|Trace):|[<>*] |<---|--->|\*(?:cmd|resp)\*|[.<>!*] \d{4}-)",
    re.M,
)
LOG_LINES = 3
"""Lines that look like a client's log before text reads as a paste."""
LONG_PASTE_CHARS = 4000
"""Longer than any question: read as a paste, or a number somewhere in it would be answered as "the" code."""


@dataclass(frozen=True)
class Reading:
    """What a text was read as: a query, or a log with its scan."""

    scan: ScanResult | None = None
    """The scan, for a text read as a log; None for a query."""

    @property
    def is_log(self) -> bool:
        return self.scan is not None

    @property
    def found(self) -> bool:
        """Read as a log, and the scan found something in it (a log may also be "nothing I can read")."""
        return self.scan is not None and found_anything(self.scan)


def looks_like_log(text: str) -> bool:
    """The shape of a paste, without scanning it: a code block, several lines that look like a client's log, or
    long. Cheap enough for an acknowledgement, to decide that the text is read later, off the request path;
    read() decides what it is."""
    return "```" in text or len(text) > LONG_PASTE_CHARS or len(_LOG_LINE.findall(text)) >= LOG_LINES


def read(text: str, *, whole_message: bool = False, given_as_log: bool = False) -> Reading:
    """A query or a log.

    - `given_as_log`: the text came as a log (a shared file, the Diagnose step): it is scanned, whatever it holds.
    - A paste (looks_like_log) is a log, unless the scan finds no log in it and it names a code or an error
      (```Error: 530 Login incorrect```): then it is a question about that code.
    - `whole_message`: someone's message as they wrote it (the shortcut, an emoji): text of several lines is a
      log when the scan finds one, since a client's error is often two or three lines that look like no log.
    """
    if given_as_log:
        return Reading(scan(text))
    if looks_like_log(text):
        result = scan(text)
        if found_anything(result) or not names_a_code(text):
            return Reading(result)
        return Reading()
    if whole_message and len(text.splitlines()) > 1:
        result = scan(text)
        if found_anything(result):
            return Reading(result)
    return Reading()


def found_anything(result: ScanResult) -> bool:
    """Whether the scan read a log. A client's log of status lines only (no commands or replies, nothing failed)
    is one. In text of no known format whose only "replies" are bare numbers (noise such as `4660/P5ih`, a number
    in prose) there is nothing to explain."""
    if not (result.exchanges or result.findings or result.failure):
        return result.format != "unknown" and bool(result.timeline)
    bare_numbers = not any(e.command for e in result.exchanges) and (result.failure is None or result.failure.code)
    return not (result.format == "unknown" and result.exchanges and bare_numbers)


def names_a_code(text: str) -> bool:
    """A short paste that is no log but names a code or error (```Error: 530 Login incorrect```)."""
    if len(text) > LONG_PASTE_CHARS:
        return False
    found = lookup.finder().lookup(text.replace("```", " "))
    return any(m.reason in ("code", "name") for m in found.matches)
