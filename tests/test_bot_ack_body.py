"""An answer in the acknowledgement, encoded once (bot/answered.py `ack_response`), is Bolt's own `ack()` body byte
for byte: for every entry's answer with its feedback buttons, and for messages it cannot take a shortcut with."""

from __future__ import annotations

import pytest
from slack_bolt.context.ack import Ack

from bot import answered, replies
from bot.feedback import Answered, FeedbackKeys, new_answer_id
from bot.views.block_kit import Message
from bot.views.feedback import with_feedback
from knowledge.lookup import finder

KEYS = FeedbackKeys(b"ack-body-test-secret")


def bolt_ack(message: Message) -> Ack:
    ack = Ack()
    ack(response_type="ephemeral", **message.kwargs())
    return ack


def assert_same_as_bolt(base: Message, message: Message) -> None:
    for _ in range(2):  # encoded, then from the cache
        ours = answered.ack_response(base, message, "ephemeral")
        bolts = bolt_ack(message).response
        assert (ours.status, ours.headers, ours.body) == (bolts.status, bolts.headers, bolts.body)


def test_every_entry_answer_with_its_buttons_is_bolts_ack() -> None:
    for entry in finder().kb.entries:
        reply = replies.for_text(entry.id, ephemeral=True)
        ids = tuple(m.entry.id for m in reply.matches) or (entry.id,)
        voted = Answered(new_answer_id(), ids[0], "entry", "command", f'{entry.id} "é" 👍', ids, 2_000_000_000)
        assert_same_as_bolt(reply.message, with_feedback(reply.message, KEYS, voted))
        assert_same_as_bolt(reply.message, reply.message)


DIVIDER = {"type": "divider"}


@pytest.mark.parametrize(
    "base, message",
    [
        (Message("t", []), Message("t", [])),
        (Message("t", []), Message("t", [{"type": "divider"}])),
        (Message("t", [DIVIDER]), Message("another text", [DIVIDER])),
        (Message("t", [{"type": "divider"}]), Message("t", [{"type": "divider"}])),  # equal, not the same blocks
    ],
)
def test_a_message_that_does_not_extend_its_cached_answer_is_bolts_ack(base: Message, message: Message) -> None:
    assert_same_as_bolt(base, message)
