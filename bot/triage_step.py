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
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.step_completion import complete
from bot.views import triage as triage_view
from bot.views import workflow_steps as steps_view
from bot.views.block_kit import Message
from bot.workflow_triages import ENDED_JOB

if TYPE_CHECKING:
    from bot.journal import JournaledClient
    from bot.worker import Work

logger = logging.getLogger("bot.functions")


def start(
    work: Work, execution: str, token: str | None, user: str, channel: str, entry_id: str, team: str
) -> str | None:
    """Asks the first question in a new thread in `channel`; the error for the step when that cannot be done."""
    from bot.triage_flow import TriageFlow, Turn  # loaded with the first triage, or by bot/warm_up.py

    try:
        root = work.client.chat_postMessage(channel=channel, **steps_view.triage_opening(user, entry_id).kwargs())
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        logger.info("triage step: the opening message was refused (%s)", error)
        return steps_view.triage_refused(error)
    # The step waits on the thread before its first question is asked: a click on Stop can come at once.
    work.store.keep_workflow_step(channel, root["ts"], execution, token)
    reply = TriageFlow.for_work(work).start(Turn(user, team, channel, root["ts"]), entry_id)
    return reply.text  # None, or why the triage could not start (the tree refused the code): the step's error


def run_ended(work: Work) -> None:
    """Completes the step a triage ended for (queued by the store where the triage ended)."""
    job = work.payload
    channel, thread_ts, state = job["channel"], job["thread_ts"], job["state"]
    if job.get("announce"):  # expired by the chore, not by someone coming back: the thread is told
        prefill = state.get("prefilled") if isinstance(state.get("prefilled"), dict) else {}
        expired = triage_view.expired_message(str(state.get("entry_id", "")), prefill)
        _post(work.client, channel, thread_ts, expired)
    link = _permalink(work.client, channel, thread_ts)
    outputs = steps_view.triage_outputs(state, job["outcome"], channel, thread_ts, link)
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
