"""An answer in the acknowledgement, encoded once (bot/answered.py `ack_response`) with the feedback blocks' JSON
after it (bot/views/feedback.py `feedback_json`), is Bolt's own `ack()` body byte for byte: for every entry's
answer with its feedback buttons, in both kinds of buttons, and for messages without blocks."""

from __future__ import annotations

import json

import pytest
from slack_bolt.context.ack import Ack

from bot import answered, replies
from bot.feedback import Answered, FeedbackKeys, new_answer_id
from bot.views.block_kit import Message
from bot.views.feedback import feedback_blocks, feedback_json, with_feedback
from knowledge.lookup import finder

KEYS = FeedbackKeys(b"ack-body-test-secret")


def bolt_ack(message: Message) -> Ack:
    ack = Ack()
    ack(response_type="ephemeral", **message.kwargs())
    return ack


def assert_same_as_bolt(base: Message, more_blocks: str, message: Message) -> None:
    for _ in range(2):  # encoded, then from the cache
        ours = answered.ack_response(base, "ephemeral", more_blocks)
        bolts = bolt_ack(message).response
        assert (ours.status, ours.headers, ours.body) == (bolts.status, bolts.headers, bolts.body)


def test_every_entry_answer_with_its_buttons_is_bolts_ack() -> None:
    for entry in finder().kb.entries:
        reply = replies.for_text(entry.id, ephemeral=True)
        ids = tuple(m.entry.id for m in reply.matches) or (entry.id,)
        voted = Answered(new_answer_id(), ids[0], "entry", "command", f'{entry.id} "é" 👍', ids, 2_000_000_000)
        assert_same_as_bolt(reply.message, feedback_json(KEYS, voted), with_feedback(reply.message, KEYS, voted))
        assert_same_as_bolt(reply.message, "", reply.message)


@pytest.mark.parametrize("plain", [False, True])
def test_the_feedback_json_is_the_feedback_blocks_encoded(plain: bool) -> None:
    voted = Answered(new_answer_id(), "ftp-425", "entry", "dm", "425", ("ftp-425", "winsock-10061"), 2_000_000_000)
    blocks = feedback_blocks(KEYS, voted, plain)
    assert feedback_json(KEYS, voted, plain) == json.dumps(blocks)[1:-1]


DIVIDER = {"type": "divider"}
BLOCKS = json.dumps([DIVIDER, DIVIDER])[1:-1]


@pytest.mark.parametrize(
    "base, more_blocks, message",
    [
        (Message("t", []), "", Message("t", [])),
        (Message("t", []), BLOCKS, Message("t", [DIVIDER, DIVIDER])),
        (Message("t", [DIVIDER]), BLOCKS, Message("t", [DIVIDER, DIVIDER, DIVIDER])),
        (Message('t ✓ "x"', [DIVIDER]), "", Message('t ✓ "x"', [DIVIDER])),
    ],
)
def test_other_messages_are_bolts_ack(base: Message, more_blocks: str, message: Message) -> None:
    assert_same_as_bolt(base, more_blocks, message)
