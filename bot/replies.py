"""What the bot says to a piece of text, wherever it came from (slash command, mention, DM)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bot import blocks, scan_reply
from bot.blocks import Message
from knowledge import listing
from knowledge.lookup import Match, finder


@dataclass
class Reply:
    message: Message
    matches: list[Match] = field(default_factory=list)
    is_log: bool = False
    log_found: bool = False
    """Read as a log, and the scan found something in it (is_log alone may be "I found nothing in that log")."""

    @property
    def explains(self) -> bool:
        """Whether the reply explains a code, an error or a log (not usage, a list, or "nothing found")."""
        return bool(self.matches) or self.log_found


def for_text(text: str, *, ephemeral: bool) -> Reply:
    """`help`, `list 4xx`, or a query: the Message to send back, and what the query matched."""
    if scan_reply.looks_like_log(text):
        message, result = scan_reply.for_log(text, ephemeral=ephemeral)
        found = scan_reply.found_anything(result)
        if found or not scan_reply.names_a_code(text):
            return Reply(message, finder().resolve(result.codes[:1]), is_log=True, log_found=found)
        # No log, but a code in a code block (```Error: 530 Login incorrect```): a question about that code.
    return _answer(text, ephemeral)


def for_message(text: str, *, ephemeral: bool) -> Reply:
    """What to say about a message someone wrote (the shortcut, or an emoji on it): text of several lines is
    read as a log first, since a client's error is often two or three lines that look like no log."""
    if not scan_reply.looks_like_log(text) and len(text.splitlines()) > 1:
        message, result = scan_reply.for_log(text, ephemeral=ephemeral)
        if scan_reply.found_anything(result):
            return Reply(message, finder().resolve(result.codes[:1]), is_log=True, log_found=True)
    return for_text(text, ephemeral=ephemeral)


# The knowledge is read-only while the bot runs and the same few codes are asked all day: rendering (mostly
# slack_sdk's limit checks) was two thirds of the CPU a /ftpcode answer cost (bench/README.md). Callers must
# not change a cached Reply.
@functools.lru_cache(maxsize=512)
def _answer(text: str, ephemeral: bool) -> Reply:
    words = text.split()
    first = words[0].lower() if words else ""
    if first in ("", "help", "?", "-h", "--help"):
        return Reply(blocks.help_message())
    if first == "list":
        try:
            title, entries = listing.select(finder().kb, " ".join(words[1:]))
        except listing.UnknownFilter:
            hint = blocks.section(f"I can list: {listing.FILTER_HELP}. For example `/ftpcode list 4xx`.")
            return Reply(blocks.finish("Unknown list.", [hint]))
        return Reply(blocks.list_message(title, entries))
    result = finder().lookup(text)
    return Reply(blocks.answer_message(result, ephemeral=ephemeral), result.matches)
