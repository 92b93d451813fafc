"""An emoji on a message: what the person who reacted is told when the message has nothing to explain (the
answer itself is an answer or a scan, bot/views/answer.py and scan.py)."""

from __future__ import annotations

from bot.views.block_kit import Message, note

NOTHING_TO_EXPLAIN = (
    "I found no FTP, FTPS or SFTP code, socket error, client message or log in that message, so I did not answer "
    "in its thread."
)


def nothing_to_explain_message() -> Message:
    return note(NOTHING_TO_EXPLAIN)
