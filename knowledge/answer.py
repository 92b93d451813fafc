"""What an answer about one entry says, in order, ready for any renderer (terminal, Slack, JSON)."""

from __future__ import annotations

from collections import namedtuple

from knowledge import digits
from knowledge.base import Entry
from knowledge.lookup import LookupResult, Match

_KIND_LABELS = {
    "ftp-reply": "FTP",
    "winsock": "Winsock",
    "sftp-status": "SFTP status",
    "client-message": "",
}
_PROTOCOL_LABELS = {"ftp": "FTP", "ftps": "FTPS", "sftp": "SFTP"}


class Section(namedtuple("Section", "title items bulleted", defaults=(True,))):
    """A titled part of an answer: `items` a tuple of str, shown as bullets or as paragraphs."""

    __slots__ = ()


class Answer:
    def __init__(
        self,
        entry: Entry,
        known: bool,
        heading: str,
        summary: str,
        digits: list[digits.Digit] | None = None,
        sections: list[Section] | None = None,
    ) -> None:
        self.entry = entry
        self.known = known
        self.heading = heading
        self.summary = summary
        self.digits = [] if digits is None else digits
        self.sections = [] if sections is None else sections

    @property
    def label(self) -> str:
        return label(self.entry)

    @property
    def try_first(self) -> str:
        """The one thing to do now, shown under the summary; the rest of the advice comes below."""
        return self.entry.user_action[0] if self.entry.user_action else ""


def label(entry: Entry) -> str:
    """How a person names the entry: 'FTP 425', 'Winsock 10061', 'SFTP status 3', 'curl exit code 7'."""
    if entry.kind == "client-message":
        if entry.client == "curl" and entry.code.isdigit():
            return f"curl exit code {entry.code}"
        return entry.client
    return f"{_KIND_LABELS[entry.kind]} {entry.code}"


def button_name(entry: Entry) -> str:
    """What an Explain button names: the label, and for a client's message its title too ('FileZilla: No answer
    for 20 seconds'), since one client has many messages."""
    name = label(entry)
    return name if name != entry.client else f"{name}: {entry.title}"


def heading(entry: Entry) -> str:
    name = f" ({entry.name})" if entry.name and entry.kind != "client-message" else ""
    return f"{label(entry)}{name}: {entry.title}"


def build(match: Match) -> Answer:
    entry = match.entry
    answer = Answer(entry=entry, known=match.known, heading=heading(entry), summary=entry.summary)
    if digits.is_reply_code(entry.code) and entry.kind == "ftp-reply":
        answer.digits = digits.explain(entry.code, entry.title if match.known else None)
    sections = [
        Section("What was happening", (entry.details,), bulleted=False) if entry.details else None,
        None if entry.standard else Section("Not a standard code", (f"Comes from: {entry.origin}.",), False),
        Section("Likely causes", entry.causes),
        Section("What you can try", entry.user_action),
        Section("What the server admin should check", entry.admin_action),
        Section(
            "By protocol",
            tuple(f"{_PROTOCOL_LABELS[p]}: {text}" for p, text in entry.protocols.items()),
        ),
        Section("Worth knowing", entry.notes),
        Section("Source", entry.sources, bulleted=False),
    ]
    answer.sections = [s for s in sections if s and s.items]
    return answer


def related_labels(entry: Entry, by_id: dict[str, Entry]) -> list[tuple[str, str]]:
    """(query to type, label) for each related entry, e.g. ('425', 'FTP 425')."""
    out = []
    for rid in entry.related:
        other = by_id.get(rid)
        if other:
            out.append((query_for(other), label(other)))
    return out


def query_for(entry: Entry) -> str:
    """The query that finds exactly this entry again."""
    if entry.kind == "ftp-reply":
        return entry.code
    if entry.kind == "winsock":
        return entry.code
    if entry.kind == "sftp-status":
        return f"sftp {entry.code}"
    if entry.client == "curl" and entry.code.isdigit():
        return f"curl {entry.code}"
    return entry.message or entry.title


def match_json(match: Match) -> dict:
    """One match as the documented JSON object (README: `ftpcode --json`)."""
    entry = match.entry
    answer = build(match)
    return {
        "id": entry.id,
        "kind": entry.kind,
        "code": entry.code,
        "title": entry.title,
        "summary": entry.summary,
        "standard": entry.standard,
        "known": match.known,
        "digits": [
            {"position": d.position, "digit": d.digit, "label": d.short, "meaning": d.meaning} for d in answer.digits
        ],
        "causes": list(entry.causes),
        "user_action": list(entry.user_action),
        "admin_action": list(entry.admin_action),
        "related": list(entry.related),
        "sources": list(entry.sources),
    }


def result_json(result: LookupResult) -> dict:
    return {"query": result.query, "matches": [match_json(m) for m in result.matches]}
