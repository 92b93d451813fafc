"""What the bot says to a piece of text, wherever it came from (slash command, mention, DM)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bot import site_notes
from bot.views import answer as answer_view
from bot.views import scan as scan_view
from bot.views.block_kit import Message
from knowledge import listing, text_kind
from knowledge.logscan import ScanResult
from knowledge.lookup import Match, finder
from knowledge.text_kind import found_anything


@dataclass
class Reply:
    message: Message
    matches: list[Match] = field(default_factory=list)
    is_log: bool = False
    subject: str = ""
    """What was answered: the first entry's id, or for a log its first finding's (or code's) id."""
    subject_kind: str = ""
    """"entry", "finding", "nothing" (a query that found nothing), or "" (help, a list, a log with nothing in it)."""
    summary: str = ""
    """For a log, what is stored of it instead of the paste: its format and the failing reply."""
    log_found: bool = False
    """Read as a log, and the scan found something in it (is_log alone may be "I found nothing in that log")."""

    @property
    def explains(self) -> bool:
        """Whether the reply explains a code, an error or a log (not usage, a list, or "nothing found")."""
        return bool(self.matches) or self.log_found


def for_text(text: str, *, ephemeral: bool, whole_message: bool = False, given_as_log: bool = False) -> Reply:
    """`help`, `list 4xx`, a query or a log (knowledge/text_kind.read decides which, as its arguments say): the
    Message to send back, and what it answered."""
    reading = text_kind.read(text, whole_message=whole_message, given_as_log=given_as_log)
    if reading.scan is not None:
        return log_reply(reading.scan)
    return _answer(text, ephemeral, site_notes.SITE.version)


def for_message(text: str, *, ephemeral: bool) -> Reply:
    """What to say about a message someone wrote (the shortcut, or an emoji on it)."""
    return for_text(text, ephemeral=ephemeral, whole_message=True)


def for_log(text: str) -> Reply:
    """What to say about text that came as a log (a shared file)."""
    return for_text(text, ephemeral=False, given_as_log=True)


def log_reply(result: ScanResult) -> Reply:
    """The reply to a log: what it explained, and what feedback on it is about (bot/answered.py)."""
    subject, kind = scan_view.subject_of(result)
    matches = finder().resolve(result.codes[:1])
    message = scan_view.log_message(result)
    return Reply(message, matches, True, subject, kind, scan_view.summary_of(result), log_found=found_anything(result))


# The knowledge is read-only while the bot runs and the same few codes are asked all day: rendering (mostly
# slack_sdk's limit checks) is most of what an answer costs (bench/README.md). Callers must not change a cached
# Reply.
@functools.lru_cache(maxsize=512)
def _answer(text: str, ephemeral: bool, site_version: int) -> Reply:
    """`site_version` is there for the cache: answers drawn with older site notes are not reused."""
    words = text.split()
    first = words[0].lower() if words else ""
    if first in ("", "help", "?", "-h", "--help"):
        return Reply(answer_view.help_message())
    if first == "list":
        try:
            title, entries = listing.select(finder().kb, " ".join(words[1:]))
        except listing.UnknownFilter:
            return Reply(answer_view.unknown_list_message())
        return Reply(answer_view.list_message(title, entries))
    result = finder().lookup(text)
    message = answer_view.answer_message(result, ephemeral=ephemeral)
    if not result.matches:
        return Reply(message, subject_kind="nothing")
    return Reply(message, result.matches, subject=result.matches[0].entry.id, subject_kind="entry")
