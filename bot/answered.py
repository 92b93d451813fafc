"""Every answer the bot gives: recorded (what was asked, what it answered, or that nothing was found) and ended
with the feedback buttons. One function for the acknowledgement path, one for jobs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from bot.blocks import Message
from bot.feedback import Answered, FeedbackKeys, clean_query, new_answer_id
from bot.feedback_blocks import with_feedback
from bot.replies import Reply

if TYPE_CHECKING:
    from bot.worker import Work, Worker


def describe(reply: Reply, text: str, channel_type: str, answer_id: str) -> Answered | None:
    """What `reply` answered, or None when it answered nothing a vote could be about (help, a list, a gap)."""
    if reply.subject_kind not in ("entry", "finding") or not reply.subject:
        return None
    entries = () if reply.is_log else tuple(m.entry.id for m in reply.matches)
    query = clean_query(reply.summary if reply.is_log else text)
    return Answered(answer_id, reply.subject, reply.subject_kind, channel_type, query, entries, int(time.time()))


def rows_for(reply: Reply, answered: Answered | None, text: str, who: dict[str, Any], channel_type: str) -> list[dict]:
    """The row to store: the answer given, or the query that found nothing."""
    if not who.get("user"):
        return []
    base = {"user": who["user"], "team_id": who.get("team") or "", "channel_type": channel_type}
    if answered is not None:
        return [
            {
                **base,
                "event": "asked",
                "answer_id": answered.answer_id,
                "subject": answered.subject,
                "subject_kind": answered.kind,
                "query": answered.query,
            }
        ]
    if reply.subject_kind == "nothing" and text.strip():
        return [{**base, "event": "nothing", "query": clean_query(text)}]
    return []


def in_ack(worker: Worker, reply: Reply, text: str, who: dict[str, Any], channel_type: str) -> Message:
    """For an answer sent in the acknowledgement: the row goes to the recorder, which never makes it wait."""
    answered = describe(reply, text, channel_type, new_answer_id())
    for row in rows_for(reply, answered, text, who, channel_type):
        worker.recorder.add(row)
    return with_feedback(reply.message, worker.keys, answered)


def in_job(work: Work, reply: Reply, text: str, who: dict[str, Any], channel_type: str, record: bool = True) -> Message:
    """For an answer a job posts: the answer's id and its row are journal steps, so a rerun repeats neither."""
    answer_id = work.journal.step("answer_id", new_answer_id)
    answered = describe(reply, text, channel_type, answer_id)
    rows = rows_for(reply, answered, text, who, channel_type) if record else []
    if rows:
        work.store.record_answers(rows)
    return with_feedback(reply.message, work.keys, answered)


def buttons_only(keys: FeedbackKeys, message: Message, answered: Answered | None) -> Message:
    return with_feedback(message, keys, answered)
