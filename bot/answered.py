"""Every answer the bot gives: recorded (what was asked, what it answered, or that nothing was found) and ended
with the feedback buttons. One function for the acknowledgement path, one for jobs."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltResponse

from bot.feedback import Answered, clean_query, new_answer_id
from bot.feedback_store import asked_row_id
from bot.replies import Reply
from bot.views.block_kit import Message
from bot.views.feedback import feedback_json, with_feedback

if TYPE_CHECKING:
    from bot.worker import Work, Worker


def describe(reply: Reply, text: str, channel_type: str, answer_id: str) -> Answered | None:
    """What `reply` answered, or None when it answered nothing a vote could be about (help, a list, a gap)."""
    if reply.subject_kind not in ("entry", "finding") or not reply.subject:
        return None
    entries = () if reply.is_log else tuple(m.entry.id for m in reply.matches)
    query = clean_query(reply.summary if reply.is_log else text)
    return Answered(answer_id, reply.subject, reply.subject_kind, channel_type, query, entries, int(time.time()))


def rows_for(
    reply: Reply, answered: Answered | None, text: str, who: dict[str, Any], channel_type: str, answer_id: str
) -> list[dict]:
    """The row to store: the answer given, or the query that found nothing. Its id is the answer's, so a job
    run again after a 429 adds no second row."""
    if not who.get("user"):
        return []
    base = {"user": who["user"], "team_id": who.get("team") or "", "channel_type": channel_type}
    if answered is not None:
        return [
            {
                **base,
                "id": asked_row_id(answer_id),
                "event": "asked",
                "answer_id": answered.answer_id,
                "subject": answered.subject,
                "subject_kind": answered.kind,
                "query": answered.query,
            }
        ]
    if reply.subject_kind == "nothing" and text.strip():
        return [{**base, "id": f"nothing:{answer_id}", "event": "nothing", "query": clean_query(text)}]
    return []


def in_ack(
    worker: Worker, reply: Reply, text: str, who: dict[str, Any], channel_type: str, response_type: str
) -> BoltResponse:
    """The acknowledgement that answers with `reply`: its cached answer, then the feedback buttons. The row goes
    to the recorder, which never makes the acknowledgement wait."""
    answer_id = new_answer_id()
    answered = describe(reply, text, channel_type, answer_id)
    for row in rows_for(reply, answered, text, who, channel_type, answer_id):
        worker.recorder.add(row)
    return ack_response(reply.message, response_type, feedback_json(worker.keys, answered) if answered else "")


def in_job(work: Work, reply: Reply, text: str, who: dict[str, Any], channel_type: str, record: bool = True) -> Message:
    """For an answer a job posts: its id is a journal step, so a rerun draws the same buttons and adds no row.
    The row goes through the recorder too: an answer that needs no database is not held up by one that is
    out of reach."""
    answer_id = work.journal.step("answer_id", new_answer_id)
    answered = describe(reply, text, channel_type, answer_id)
    if record and work.recorder is not None:
        for row in rows_for(reply, answered, text, who, channel_type, answer_id):
            work.recorder.add(row)
    return with_feedback(reply.message, work.keys, answered)


# A cached answer's JSON up to its last block, by the answer (kept here, so its id is not reused while it is a key).
_ENCODED: dict[tuple[int, str], tuple[Message, str]] = {}
_ENCODED_MAX = 1024


def ack_response(base: Message, response_type: str, more_blocks: str = "") -> BoltResponse:
    """The acknowledgement Bolt's `ack(response_type=…, text=…, blocks=…)` makes of `base` (a cached answer: never
    changed) followed by the blocks `more_blocks` encodes (json.dumps of a list, without its brackets), with
    `base` JSON-encoded once: encoding the whole 4-5 kB answer for every /ftpcode was ~50 us of its CPU
    (bench/README.md). The body is the same, byte for byte."""
    if not base.blocks and not more_blocks:
        return BoltResponse(status=200, body={"text": base.text, "response_type": response_type})
    key = (id(base), response_type)
    cached = _ENCODED.get(key)
    if cached is None or cached[0] is not base:
        if len(_ENCODED) >= _ENCODED_MAX:
            _ENCODED.clear()
        whole = json.dumps({"text": base.text, "response_type": response_type, "blocks": base.blocks})
        cached = _ENCODED[key] = (base, whole[:-2])  # without the "]}" that closes the blocks and the body
    joint = ", " if base.blocks and more_blocks else ""
    return BoltResponse(status=200, body=f"{cached[1]}{joint}{more_blocks}]}}")  # "{…": Bolt says application/json
