"""What the bot says to a piece of text, wherever it came from (slash command, mention, DM)."""

from __future__ import annotations

from bot import blocks
from bot.blocks import Message
from knowledge import listing
from knowledge.lookup import finder


def for_text(text: str, *, ephemeral: bool) -> Message:
    """`help`, `list 4xx`, or a query: the Message to send back."""
    words = text.split()
    first = words[0].lower() if words else ""
    if first in ("", "help", "?", "-h", "--help"):
        return blocks.help_message()
    if first == "list":
        try:
            title, entries = listing.select(finder().kb, " ".join(words[1:]))
        except listing.UnknownFilter:
            return blocks.finish(
                "Unknown list.",
                [blocks.section(f"I can list: {listing.FILTER_HELP}. For example `/ftpcode list 4xx`.")],
            )
        return blocks.list_message(title, entries)
    return blocks.answer_message(finder().lookup(text), ephemeral=ephemeral)
