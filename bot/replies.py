"""What the bot says to a piece of text, wherever it came from (slash command, mention, DM)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from bot import blocks, scan_reply
from bot.blocks import Message
from bot.knowledge_once import finder
from knowledge import listing
from knowledge.lookup import Match


@dataclass
class Reply:
    message: Message
    matches: list[Match] = field(default_factory=list)
    is_log: bool = False

    @functools.cached_property
    def ephemeral_ack(self) -> str:
        """The acknowledgement that carries this reply privately: the JSON body Bolt's
        ack(response_type="ephemeral", text=..., blocks=...) writes, encoded once for a cached reply (writing the
        same 4 kB of JSON was a tenth of an acknowledgement's CPU in Socket Mode, which also read it back)."""
        body: dict = {"text": self.message.text, "response_type": "ephemeral"}
        if self.message.blocks:
            body["blocks"] = self.message.blocks
        return json.dumps(body)


def for_text(text: str, *, ephemeral: bool) -> Reply:
    """`help`, `list 4xx`, or a query: the Message to send back, and what the query matched."""
    if scan_reply.looks_like_log(text):
        message, result = scan_reply.for_log(text, ephemeral=ephemeral)
        if scan_reply.found_anything(result) or not scan_reply.names_a_code(text):
            return Reply(message, finder().resolve(result.codes[:1]), is_log=True)
        # No log, but a code in a code block (```Error: 530 Login incorrect```): a question about that code.
    return _answer(text, ephemeral)


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
