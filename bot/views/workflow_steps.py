"""Workflow Builder steps: what "Explain an FTP code", "Diagnose an FTP log" and "Start an FTP triage" give a
workflow (their outputs, as manifest.yml declares them), the errors they complete with, in words for whoever
built the workflow, and the message that opens a triage in its channel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.mrkdwn import escape
from bot.views.block_kit import Message, finish, section
from knowledge import answer as answers
from knowledge import text_kind
from knowledge.cli import Style, render_answer
from knowledge.logscan import ScanResult
from knowledge.lookup import Match, finder
from knowledge.scan_text import explained_entries, failure_reply

if TYPE_CHECKING:
    from knowledge.triage import Checklist

ANSWER_WIDTH = 100  # as `ftpcode 425` prints it in a terminal

NO_TEXT = "The step got no text. Give it a code such as 425, or the error your client printed."
NOTHING_TO_EXPLAIN = (
    "No FTP reply code, socket error, SFTP status or client message I know is in the text. Give the step a code "
    "such as 425 or an error such as ECONNREFUSED; for a whole log use the step Diagnose an FTP log."
)
UNKNOWN_STEP = "ftpcode has no such step (any more): remove it from the workflow and add one it lists."
INTERNAL_ERROR = "ftpcode could not finish this step (an error on its side, logged). Run the workflow again."
NO_LOG = (
    "I could not find FTP commands, replies or client errors in the text. Give the step the client's or the "
    "server's log as it is."
)
NO_CODE = "The step got no code. Give it a code such as 425, or the error your client printed."
UNKNOWN_CODE = (
    "No FTP reply code, socket error, SFTP status or client message I know is in the code the step got. Give it "
    "a code such as 425 or an error such as ECONNREFUSED."
)
BAD_USER = "The step's user is not a Slack user id (U… or W…). Give it a person, or a variable that holds one."
BAD_CHANNEL = (
    "The step's channel is not a Slack channel id (C…, G… or D…). Give it a channel, or a variable that holds one."
)
REFUSED = {
    "not_in_channel": "I am not in that channel, so I cannot ask there. Invite me with /invite @ftpcode, or give "
    "the step a channel I am in.",
    "channel_not_found": "I cannot find that channel (or it is private and I am not in it). Give the step a "
    "channel I am in.",
    "is_archived": "That channel is archived. Give the step a channel that is in use.",
}
REFUSED_OTHERWISE = "Slack refused my message in that channel ({error}). Give the step another channel."
CHECKLIST_SHOWN = ("checklist", "resolved", "handoff")


class StepError(Exception):
    """Why a step cannot give its outputs, in words for whoever built the workflow."""


def first_named(text: str) -> Match | None:
    """The first code or error the text names (the order of a lookup: errors first)."""
    named = [m for m in finder().lookup(text).matches if m.reason in ("code", "name", "unknown-code")]
    if not named:
        named = finder().resolve([entry.id for entry in finder().by_message(text)[:1]])
    return named[0] if named else None


def explain_outputs(text: str) -> dict[str, Any]:
    """The first code or error the text names, as the step's outputs."""
    if not text.strip():
        raise StepError(NO_TEXT)
    match = first_named(text)
    if match is None:
        raise StepError(NOTHING_TO_EXPLAIN)
    answer = render_answer(answers.build(match), finder().kb.by_id, Style(enabled=False), ANSWER_WIDTH)
    entry = match.entry
    return {
        "code": answers.button_name(entry),
        "title": entry.title,
        "summary": entry.summary,
        "answer": answer.strip(),
    }


def diagnose_outputs(text: str) -> dict[str, Any]:
    """What a scan of the log found, as the step's outputs."""
    if not text.strip():
        raise StepError(NO_TEXT)
    reading = text_kind.read(text, given_as_log=True)
    result = reading.scan
    if result is None or not reading.found:
        raise StepError(NO_LOG)
    failure = result.failure
    explained = explained_entries(result)
    code = (failure.code if failure else None) or (answers.label(explained[0]) if failure and explained else "")
    return {
        "protocol": result.protocol or "unknown",
        "failing_command": (failure.command or "") if failure else "",
        "failing_code": code,
        "cause": _cause(result),
        "finding_ids": [finding.id for finding in result.findings],
    }


def _cause(result: ScanResult) -> str:
    if result.findings:
        return result.findings[0].summary
    if result.failure is None:
        return "No step failed in this log."
    explained = explained_entries(result)
    if explained:
        return f"{answers.heading(explained[0])} {explained[0].summary}"
    return failure_reply(result.failure)


# -- Start an FTP triage ---------------------------------------------------------------------------------------


def triage_refused(error: str) -> str:
    """The step's error when Slack refused the message that opens the triage."""
    return REFUSED.get(error, REFUSED_OTHERWISE.format(error=error))


def triage_opening(user: str, entry_id: str) -> Message:
    """The message in the channel that starts the triage, mentioning the person who answers."""
    entry = finder().kb.by_id[entry_id]
    text = (
        f"<@{user}>, a workflow asked me to help with {escape(answers.heading(entry))}. I ask a few questions in "
        "this thread: answer with the buttons, or type your answer."
    )
    return finish(text, [section(text)])


def triage_outputs(state: dict[str, Any], outcome: str, channel: str, thread_ts: str, link: str) -> dict[str, Any]:
    """How the triage ended, the code, the answers and the checklist as text, and the thread."""
    from knowledge.triage import TriageError, TriageState, code_label, load_tree

    entry_id = str(state.get("entry_id", ""))
    entry = finder().kb.by_id.get(entry_id)
    tree = load_tree()
    try:
        triage = TriageState.from_dict(state)
        given = "\n".join(f"{question} {label}" for question, label in tree.transcript(triage))
        steps = checklist_text(tree.checklist(triage)) if triage.status in CHECKLIST_SHOWN else ""
    except TriageError:  # a state the tree no longer knows: the rest holds
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
