"""The Workflow Builder step "Start an FTP triage": the bot's guided triage for a code, in a channel, for one
person; the step completes with how the triage ended (resolved, handed off, abandoned or expired).

The start posts a message in the channel that mentions the person; the triage runs in its thread as every
triage does (bot/triage_flow.py: only that person answers, until they let someone else). The step's execution
waits with the thread (bot/workflow_triages.py). Wherever the triage ends, the store queues ENDED_JOB in the
same transaction, and the job completes the step through the work queue: a 429 is waited out, a restart of the
bot loses nothing, minutes or days later.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot import triage_blocks as tb
from bot.blocks import Message, finish, section
from bot.mrkdwn import escape
from bot.triage_flow import TriageFlow
from bot.workflow_steps import complete
from bot.workflow_triages import ENDED_JOB
from knowledge import answer as answers
from knowledge.lookup import finder
from knowledge.triage import Checklist, TriageError, TriageState, load_tree
from knowledge.triage.engine import code_label

if TYPE_CHECKING:
    from bot.journal import JournaledClient
    from bot.worker import Work

logger = logging.getLogger("bot.functions")

CHECKLIST_SHOWN = ("checklist", "resolved", "handoff")

REFUSED = {
    "not_in_channel": "I am not in that channel, so I cannot ask there. Invite me with /invite @ftpcode, or give "
    "the step a channel I am in.",
    "channel_not_found": "I cannot find that channel (or it is private and I am not in it). Give the step a "
    "channel I am in.",
    "is_archived": "That channel is archived. Give the step a channel that is in use.",
}
REFUSED_OTHERWISE = "Slack refused my message in that channel ({error}). Give the step another channel."


def start(
    work: Work, execution: str, token: str | None, user: str, channel: str, entry_id: str, team: str
) -> str | None:
    """Asks the first question in a new thread in `channel`; the error for the step when Slack refuses."""
    try:
        root = work.client.chat_postMessage(channel=channel, **opening_message(user, entry_id).kwargs())
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        logger.info("triage step: the opening message was refused (%s)", error)
        return REFUSED.get(error, REFUSED_OTHERWISE.format(error=error))
    # The step waits on the thread before its first question is asked: a click on Stop can come at once.
    work.store.keep_workflow_step(channel, root["ts"], execution, token)
    TriageFlow.for_work(work).start(entry_id, channel, root["ts"], user, team)
    return None


def opening_message(user: str, entry_id: str) -> Message:
    entry = finder().kb.by_id[entry_id]
    text = (
        f"<@{user}>, a workflow asked me to help with {escape(answers.heading(entry))}. I ask a few questions in "
        "this thread: answer with the buttons, or type your answer."
    )
    return finish(text, [section(text)])


def ended_outputs(state: dict[str, Any], outcome: str, channel: str, thread_ts: str, link: str) -> dict[str, Any]:
    """The step's outputs: how it ended, the code, the answers and the checklist as text, and the thread."""
    entry_id = str(state.get("entry_id", ""))
    entry = finder().kb.by_id.get(entry_id)
    tree = load_tree()
    try:
        triage = TriageState.from_dict(state)
        given = "\n".join(f"{question} {label}" for question, label in tree.transcript(triage))
        steps = checklist_text(tree.checklist(triage)) if triage.status in CHECKLIST_SHOWN else ""
    except (TriageError, KeyError, TypeError, ValueError):  # a state the tree no longer knows: the rest holds
        given, steps = "", ""
    return {
        "outcome": outcome,
        "code": answers.button_name(entry) if entry else code_label(entry_id),
        "answers": given,
        "checklist": steps,
        "thread": {"channel_id": channel, "message_ts": thread_ts},
        "thread_link": link,
    }


def checklist_text(checklist: Checklist) -> str:
    parts = []
    for title, items in (
        ("You can try:", [s.text for s in checklist.user_steps]),
        ("Ask your server admin:", [s.text for s in checklist.admin_steps]),
        ("Notes:", list(checklist.notes)),
    ):
        if items:
            parts.append("\n".join([title, *(f"{i}. {text}" for i, text in enumerate(items, 1))]))
    return "\n\n".join(parts)


def run_ended(work: Work) -> None:
    """Completes the step a triage ended for (queued by the store where the triage ended)."""
    job = work.payload
    channel, thread_ts, state = job["channel"], job["thread_ts"], job["state"]
    if job.get("announce"):  # expired by the chore, not by someone coming back: the thread is told
        prefill = state.get("prefilled") if isinstance(state.get("prefilled"), dict) else {}
        _post(work.client, channel, thread_ts, tb.expired_message(str(state.get("entry_id", "")), prefill))
    outputs = ended_outputs(state, job["outcome"], channel, thread_ts, _permalink(work.client, channel, thread_ts))
    logger.info("triage step completed: %s", job["outcome"])
    complete(work.client, job["token"], {"outputs": outputs}, job["execution"])


def _permalink(client: JournaledClient, channel: str, thread_ts: str) -> str:
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=thread_ts)["permalink"])
    except SlackApiError as exc:
        logger.info("no permalink for the triage thread: %s", exc.response.get("error"))
        return ""


def _post(client: JournaledClient, channel: str, thread_ts: str, message: Message) -> None:
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.kwargs())
    except SlackApiError as exc:
        logger.info("could not tell the thread the triage expired: %s", exc.response.get("error"))


JOBS = {ENDED_JOB: run_ended}
