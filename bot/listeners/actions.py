"""Buttons: on answers (share, explain another reading, show the rest) and in triage threads.

A click is checked, acknowledged and queued; the job answers (response_url, chat.postMessage, chat.update).
A click that cannot be understood gets a polite note on its response_url, never an exception after ack().
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError

from bot import answered, payloads, replies
from bot.database import DatabaseError
from bot.views import answer as answer_view
from bot.views import triage as tb
from bot.views.block_kit import Message
from bot.worker import Work
from knowledge import answer as answers
from knowledge.lookup import LookupResult, finder

if TYPE_CHECKING:  # bot/triage_flow.py loads with the first triage, or in the background (bot/warm_up.py)
    from bot.triage_flow import Reply

logger = logging.getLogger("bot.actions")

NOT_UNDERSTOOD = "I could not make sense of that button. Ask me again with `/ftpcode CODE`."
DATABASE_DOWN = "I cannot reach my database just now, so I did not record that. Try again in a minute."


def queue_click(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
    ack()
    who = payloads.interaction(body)
    if who is None:
        logger.info("a click without a valid user was ignored")
        return
    kind = _kind(str(action.get("action_id")))
    value = payloads.text_of(action.get("value"), 2000)
    if not _understood(kind, value, who):
        kind, value = "notice", NOT_UNDERSTOOD
    context["work"].submit(kind, {**who, "value": value, "blocks": _blocks_for(kind, value, body)})


def _blocks_for(kind: str, value: str, body: dict) -> list:
    """The clicked message's blocks, for a click on a checklist's feedback (the job keeps them without the buttons);
    no other job reads them, and they are most of a click's size in the work queue."""
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    if kind != "triage_click" or "f" not in tb.parse_value(value) or not isinstance(message.get("blocks"), list):
        return []
    return message["blocks"]


def _kind(action_id: str) -> str:
    if action_id.startswith("show_answer"):
        return "show_answer"
    return _ACTIONS.get(action_id, "triage_click")


def _understood(kind: str, value: str, who: dict) -> bool:
    if kind == "share_answer" and who["channel"] is None:
        return False
    if kind == "share_answer":
        return bool(value) and len(finder().resolve(value.split(","))) > 0
    if kind == "show_answer":
        return len(finder().resolve([value])) > 0
    if kind == "show_rest":
        entry_id, _, start = value.rpartition(":")
        return start.isdecimal() and len(finder().resolve([entry_id])) > 0
    if kind == "start_triage":
        entry_id, _ = tb.parse_start_value(value)
        return entry_id in finder().kb.by_id
    return who["channel"] is not None and bool(tb.parse_value(value).get("s"))


# -- the jobs ----------------------------------------------------------------------------------------------


def _reply(matches: list, message: Message) -> replies.Reply:
    return replies.Reply(message, matches, subject=matches[0].entry.id, subject_kind="entry")


def run_share(work: Work) -> None:
    matches = finder().resolve(work.payload["value"].split(","))
    shared = answer_view.answer_message(LookupResult("", matches), ephemeral=False, shared_by=work.payload["user"])
    # The shared answer gets buttons of its own for the channel; it is the same question, so no second row.
    message = answered.in_job(work, _reply(matches, shared), "", work.payload, "channel", record=False)
    try:
        work.client.chat_postMessage(channel=work.payload["channel"], **message.kwargs())
    except SlackApiError as exc:
        logger.info("share failed in %s: %s", work.payload["channel"], exc.response.get("error"))
        work.respond(
            response_type="ephemeral",
            replace_original=False,
            text="I could not post in this channel. Invite me with `/invite @ftpcode`, then try again.",
        )
        return
    work.respond(delete_original=True)


def run_show(work: Work) -> None:
    matches = finder().resolve([work.payload["value"]])
    shown = answer_view.answer_message(LookupResult("", matches), ephemeral=True)
    query = answers.query_for(matches[0].entry)
    message = answered.in_job(work, _reply(matches, shown), query, work.payload, "command")
    work.respond(response_type="ephemeral", replace_original=False, **message.kwargs())


def run_show_rest(work: Work) -> None:
    entry_id, _, start = work.payload["value"].rpartition(":")
    match = finder().resolve([entry_id])[0]
    message = answer_view.rest_message(match.entry, match.known, int(start))
    work.respond(response_type="ephemeral", replace_original=False, **message.kwargs())


def run_start_triage(work: Work) -> None:
    entry_id, prefill = tb.parse_start_value(work.payload["value"])
    where = tb.thread_of_start_value(work.payload["value"])
    reply = start_triage(work, entry_id, prefill, work.payload, where)
    if reply.text:
        work.respond(response_type="ephemeral", replace_original=False, **reply.kwargs())


def start_triage(
    work: Work, entry_id: str, prefill: dict[str, str], who: dict, where: tuple[str, str] | None = None
) -> Reply:
    """Starts a triage where the answer was: its thread, or the user's DM for a private answer; or in the thread a
    Start over names (`where`), when it is in the channel clicked in. What to tell the user privately."""
    from bot.triage_flow import TriageFlow, Turn

    flow = TriageFlow.for_work(work)
    turn = Turn.of_click(who)
    if where is not None and where[0] == turn.channel:
        turn.thread_ts = where[1]
        return flow.start(turn, entry_id, prefill)
    if who["ephemeral"] or not who["message_ts"] or not who["channel"]:
        return flow.start_in_dm(turn, entry_id, prefill)
    return flow.start(turn, entry_id, prefill)


def run_triage_click(work: Work) -> None:
    from bot.triage_flow import Reply, TriageFlow, Turn

    who = work.payload
    try:
        reply = TriageFlow.for_work(work).click(Turn.of_click(who), who["value"], who["blocks"])
    except DatabaseError:  # a click is answered now or not at all: the user may already have clicked again
        reply = Reply(DATABASE_DOWN)
    if reply.text:
        work.respond(response_type="ephemeral", replace_original=False, **reply.kwargs())


def run_notice(work: Work) -> None:
    work.respond(response_type="ephemeral", replace_original=False, text=work.payload["value"])


_ACTIONS = {
    "share_answer": "share_answer",
    "show_rest": "show_rest",
    tb.START: "start_triage",
}
JOBS = {
    "share_answer": run_share,
    "show_answer": run_show,
    "show_rest": run_show_rest,
    "start_triage": run_start_triage,
    "triage_click": run_triage_click,
    "notice": run_notice,
}


def register(app: App) -> None:
    app.action(tb.START)(queue_click)
    app.action(re.compile(f"^({tb.ANSWER}|{tb.CONTROL}|{tb.FEEDBACK})_"))(queue_click)
    app.action("share_answer")(queue_click)
    app.action(re.compile(r"^show_answer(_\d+)?$"))(queue_click)
    app.action("show_rest")(queue_click)
