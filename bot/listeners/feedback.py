"""Votes on answers ("Was this helpful?"), the "what was missing?" modal, and what follows a "No".

A vote is checked (its value must be one the bot signed, and not too old) and queued; the job counts it once per
user and answer and shows it in place. A "No" also opens the modal at once, from the listener, while the
click's trigger is fresh (bot/modals.py says why that cannot wait in the queue); the modal's answer is queued:
the comment stored, then a triage started or the case handed to a human, as the user chose.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk.errors import SlackApiError

from bot import payloads, site_notes
from bot.feedback import Vote, clean_comment, read_vote
from bot.listeners.actions import start_triage
from bot.views import answer as answer_view
from bot.views import feedback as fb
from bot.worker import Work
from knowledge.lookup import LookupResult, finder

logger = logging.getLogger("bot.feedback")

FORGED = "I could not match that vote to one of my answers, so I did not count it."
TOO_OLD = "That answer is too old to vote on now. Ask me again and vote on the new answer."
ALREADY = "You already voted on this answer: I count one vote per person, and your first one stands."
THANKS = {"up": "Thanks: noted that this helped.", "down": "Thanks: noted that this did not help."}
_TRIGGER = re.compile(r"[A-Za-z0-9._-]{1,200}")


def _comment_fields(vote: Vote, who: dict[str, Any]) -> dict[str, Any]:
    """What the modal needs to know about the answer (signed, so a forged submission changes nothing)."""
    return {
        "a": vote.answer_id,
        "s": vote.subject,
        "k": vote.kind,
        "c": vote.channel_type,
        "ch": who["channel"] or "",
        "mt": who["message_ts"] or "",
        "tt": who["thread_ts"] or "",
        "e": 1 if who["ephemeral"] or not who["message_ts"] else 0,
    }


def _open_modal(work: Any, body: dict, fields: dict[str, Any], response_url: str | None, received: float) -> None:
    trigger = body.get("trigger_id")
    if not (isinstance(trigger, str) and _TRIGGER.fullmatch(trigger)):
        return
    metadata = work.keys.sign({**fields, "ru": response_url or ""})
    entry = finder().kb.by_id.get(fields["s"]) if fields["k"] == "entry" else None
    vote = Vote(fields["a"], fields["s"], fields["k"], fields["c"], 0, "down", ())
    handoff = site_notes.handoff_channel(fields["s"], work.config.escalation_channel)
    view = fb.comment_modal(metadata, fb.vote_label(vote), entry is not None, handoff)
    reopen = work.keys.sign(fields)

    def failed(error: str) -> None:
        work.submit("feedback_modal_failed", {"response_url": response_url, "value": reopen})

    work.modals.open(trigger, view, received, failed)


def on_vote(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
    received = time.monotonic()
    ack()
    work = context["work"]
    who = payloads.interaction(body)
    if who is None:
        logger.info("a vote without a valid user was ignored")
        return
    vote = read_vote(work.keys, action.get("value"))
    if vote is None:
        work.submit("notice", {**who, "value": FORGED})
        return
    if time.time() - vote.issued > work.config.feedback_ttl_days * 86400:
        work.submit("notice", {**who, "value": TOO_OLD})
        return
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    shown = message.get("blocks")
    valid = isinstance(shown, list) and all(isinstance(b, dict) for b in shown) and fb.has_feedback(shown)
    fields = _comment_fields(vote, who)
    if vote.vote == "down":
        _open_modal(work, body, fields, who["response_url"], received)
    job = {
        **who,
        "vote": vote.to_payload(),
        "blocks": shown[:50] if valid else [],
        "text": payloads.text_of(message.get("text"), 3000),
        "comment_value": work.keys.sign(fields),
    }
    work.submit("feedback_vote", job)


def on_open_comment(ack: Ack, body: dict, action: dict, context: BoltContext) -> None:
    """ "Tell me what was missing" under a "No" (after the modal was closed, or could not open)."""
    received = time.monotonic()
    ack()
    work = context["work"]
    who = payloads.interaction(body)
    fields = work.keys.verify(action.get("value"))
    if who is None or fields is None or not _well_formed(fields):
        if who is not None:
            work.submit("notice", {**who, "value": FORGED})
        return
    _open_modal(work, body, fields, who["response_url"], received)


def _well_formed(fields: dict[str, Any]) -> bool:
    strings = ("a", "s", "k", "c", "ch", "mt", "tt")
    return all(isinstance(fields.get(k), str) for k in strings) and fields.get("e") in (0, 1)


def on_comment(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
    """The modal sent: acknowledged (which closes it), the rest queued."""
    work = context["work"]
    fields = work.keys.verify(view.get("private_metadata"))
    user = payloads.user_id(payloads.dig(body, "user", "id"))
    if fields is None or user is None or not _well_formed(fields) or not isinstance(fields.get("ru"), str):
        logger.info("a feedback form that did not come from one of my answers was ignored")
        ack(
            response_action="update",
            view=fb.note_modal("I could not match this to one of my answers; nothing was saved."),
        )
        return
    values = payloads.dig(view, "state", "values")
    comment = clean_comment(payloads.text_of(payloads.dig(values, "comment", "comment", "value")))
    chosen = payloads.dig(values, "next", "next", "selected_option", "value")
    job = {
        "user": user,
        "team": payloads.team_id(payloads.dig(body, "team", "id"))
        or payloads.team_id(payloads.dig(body, "user", "team_id")),
        "fields": fields,
        "response_url": payloads.response_url(fields["ru"]),
        "comment": comment,
        "next": chosen if chosen in fb.NEXT_STEPS else "none",
    }
    ack()
    work.submit("feedback_comment", job)


# -- the jobs ----------------------------------------------------------------------------------------------


def run_vote(work: Work) -> None:
    p = work.payload
    vote = Vote.from_payload(p["vote"])
    counted = work.store.record_vote(
        vote.answer_id, p["user"], vote.vote, vote.subject, vote.kind, vote.channel_type, p["team"]
    )
    if not counted:
        work.respond(response_type="ephemeral", replace_original=False, text=ALREADY)
        return
    shown, channel, ts = p["blocks"], p["channel"], p["message_ts"]
    if shown and channel and ts and not p["ephemeral"]:
        if channel.startswith("D"):  # only the voter sees a DM: the buttons become the choice
            updated = fb.voted_in_place(shown, vote.vote, p["comment_value"])
        else:  # others may vote too: the buttons stay, with the count so far
            updated = fb.tallied(shown, work.store.vote_counts(vote.answer_id))
        try:
            work.client.chat_update(channel=channel, ts=ts, text=p["text"] or THANKS[vote.vote], blocks=updated)
        except SlackApiError as exc:
            logger.info("could not show the vote in place: %s", exc.response.get("error"))
        return
    matches = finder().resolve(list(vote.entries)) if vote.kind == "entry" else []
    if matches:  # a private answer comes without its blocks: it is drawn again, with the choice in place
        again = answer_view.answer_message(LookupResult("", matches), ephemeral=True)
        updated = fb.voted_in_place(again.blocks, vote.vote, p["comment_value"])
        work.respond(response_type="ephemeral", replace_original=True, text=again.text, blocks=updated)
        return
    work.respond(response_type="ephemeral", replace_original=False, text=THANKS[vote.vote])


def run_comment(work: Work) -> None:
    p = work.payload
    fields, user, team = p["fields"], p["user"], p["team"]
    if p["comment"]:
        work.store.set_comment(fields["a"], user, p["comment"], fields["s"], fields["k"], team)
    done = None
    if p["next"] == "triage" and fields["k"] == "entry" and fields["s"] in finder().kb.by_id:
        who = {
            "user": user,
            "team": team,
            "channel": fields["ch"] or None,
            "message_ts": fields["mt"] or None,
            "thread_ts": fields["tt"] or None,
            "ephemeral": bool(fields["e"]),
        }
        done = start_triage(work, fields["s"], {}, who).text or "I started a triage in the answer's thread."
    elif p["next"] == "human" and site_notes.handoff_channel(fields["s"], work.config.escalation_channel):
        done = _hand_off(work, fields, user, team, p["comment"])
    work.respond(
        response_type="ephemeral", replace_original=False, text=fb.comment_thanks(bool(p["comment"]), p["next"], done)
    )


def _hand_off(work: Work, fields: dict[str, Any], user: str, team: str, comment: str) -> str:
    channel = site_notes.handoff_channel(fields["s"], work.config.escalation_channel) or ""
    permalink = None
    if fields["ch"] and fields["mt"] and not fields["e"]:
        try:
            permalink = work.client.chat_getPermalink(channel=fields["ch"], message_ts=fields["mt"])["permalink"]
        except SlackApiError as exc:
            logger.info("no permalink for the answer: %s", exc.response.get("error"))
    query = work.store.asked_query(fields["a"])
    label = fb.vote_label(Vote(fields["a"], fields["s"], fields["k"], fields["c"], 0, "down", ()))
    message = fb.handoff_message(user, label, query or "", comment, permalink, work.config.escalation_mention)
    try:
        work.client.chat_postMessage(channel=channel, **message.kwargs())
    except SlackApiError as exc:
        logger.error("feedback hand-off failed: %s", exc.response.get("error"))
        return "I could not reach the helpdesk channel; ask there directly."
    work.store.record_handoff(fields["a"], user, fields["s"], fields["c"], team)
    return f"I passed it on to <#{channel}>; someone will follow up."


def run_modal_failed(work: Work) -> None:
    message = fb.modal_failed_message(work.payload["value"])
    work.respond(response_type="ephemeral", replace_original=False, **message.kwargs())


JOBS = {"feedback_vote": run_vote, "feedback_comment": run_comment, "feedback_modal_failed": run_modal_failed}


def register(app: App) -> None:
    app.action(re.compile(r"^answer_feedback(_up|_down)?$"))(on_vote)
    app.action(fb.OPEN_COMMENT_ACTION)(on_open_comment)
    app.view(fb.COMMENT_CALLBACK)(on_comment)
