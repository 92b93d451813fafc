"""The tables behind `ftpcode list` and `/ftpcode list`: which entries a filter selects."""

from __future__ import annotations

from collections.abc import Callable

from knowledge.base import Entry, KnowledgeBase

FILTERS: dict[str, tuple[str, Callable[[Entry], bool]]] = {
    "ftp": ("FTP reply codes", lambda e: e.kind == "ftp-reply" and e.is_three_digit),
    "series": ("FTP reply classes", lambda e: e.kind == "ftp-reply" and not e.is_three_digit),
    "winsock": ("Windows Sockets errors", lambda e: e.kind == "winsock"),
    "sftp": ("SFTP status codes", lambda e: e.kind == "sftp-status"),
    "client": ("Client and server messages", lambda e: e.kind == "client-message"),
    "curl": ("curl exit codes", lambda e: e.kind == "client-message" and e.client == "curl"),
}
FILTER_HELP = "1xx..6xx, " + ", ".join(FILTERS)


class UnknownFilter(ValueError):
    pass


def select(kb: KnowledgeBase, wanted: str) -> tuple[str, list[Entry]]:
    """(title, entries) for a filter such as '4xx', 'winsock' or '' (everything)."""
    wanted = wanted.strip().lower()
    if not wanted:
        return "All codes", list(kb.entries)
    if wanted in FILTERS:
        title, keep = FILTERS[wanted]
        return title, [e for e in kb.entries if keep(e)]
    if len(wanted) == 3 and wanted[0] in "123456" and wanted[1:] == "xx":
        entries = [e for e in kb.entries if e.is_three_digit and e.code[0] == wanted[0]]
        return f"FTP {wanted} replies", entries
    raise UnknownFilter(f"unknown list {wanted!r}: use {FILTER_HELP}")
