"""Workflow Builder steps (custom functions, manifest.yml `functions`): "Explain an FTP code", "Diagnose an FTP
log" and "Start an FTP triage". Each function_executed event is queued; the job completes the step with its
outputs, or with an error a workflow builder can act on, so a step never hangs. The triage step is completed
later, when its triage ends (bot/triage_step.py).

A step is completed with the token Slack sends for that execution (`bot_access_token`), kept in the job's row
only until the job is done (for a triage, with its thread until the triage ends).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import App, BoltContext

from bot import payloads, scan_reply, triage_step
from bot.database import DatabaseError
from bot.journal import RetryLater
from bot.worker import Work
from bot.workflow_steps import StepError, complete
from knowledge import answer as answers
from knowledge.cli import Style, render_answer
from knowledge.logscan import ScanResult, scan
from knowledge.lookup import Match, finder
from knowledge.scan_text import explained_entries, failure_reply

logger = logging.getLogger("bot.functions")

EXPLAIN = "explain_ftp_code"
DIAGNOSE = "diagnose_ftp_log"
TRIAGE = "start_ftp_triage"
TRIAGE_INPUTS = ("user", "channel", "code")
ANSWER_WIDTH = 100  # as `ftpcode 425` prints it in a terminal

_EXECUTION = re.compile(r"Fx[A-Z0-9]{4,40}")
_TOKEN = re.compile(r"[A-Za-z0-9-]{10,500}")
_PERSON = re.compile(r"[UW][A-Z0-9]{2,30}")

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


def queue_step(body: dict, event: dict, context: BoltContext) -> None:
    execution = event.get("function_execution_id")
    if not isinstance(execution, str) or not _EXECUTION.fullmatch(execution):
        logger.info("function_executed without a usable function_execution_id: dropped")
        return
    token = event.get("bot_access_token")
    inputs = event.get("inputs") if isinstance(event.get("inputs"), dict) else {}
    job = {
        "callback_id": payloads.dig(event, "function", "callback_id"),
        "execution": execution,
        "token": token if isinstance(token, str) and _TOKEN.fullmatch(token) else None,
        "text": payloads.text_of(inputs.get("text")),
    }
    if job["callback_id"] == TRIAGE:
        job["inputs"] = {name: payloads.text_of(inputs.get(name), 200) for name in TRIAGE_INPUTS}
        job["team"] = payloads.team_id(body.get("team_id"))
    context["work"].submit("workflow_step", job, f"function:{execution}")


def _first_named(text: str) -> Match | None:
    """The first code or error the text names (the order of a lookup: errors first)."""
    named = [m for m in finder().lookup(text).matches if m.reason in ("code", "name", "unknown-code")]
    if not named:
        named = finder().resolve([entry.id for entry in finder().by_message(text)[:1]])
    return named[0] if named else None


def explain_outputs(text: str) -> dict[str, Any]:
    """The first code or error the text names, as the step's outputs."""
    if not text.strip():
        raise StepError(NO_TEXT)
    match = _first_named(text)
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
    result = scan(text)
    if not scan_reply.found_anything(result):
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


def triage_inputs(inputs: dict[str, str]) -> tuple[str, str, str]:
    """The person, the channel and the knowledge entry the step "Start an FTP triage" was given."""
    user, channel, code = (inputs.get(name, "").strip() for name in TRIAGE_INPUTS)
    if not _PERSON.fullmatch(user):
        raise StepError(BAD_USER)
    if payloads.channel_id(channel) is None:
        raise StepError(BAD_CHANNEL)
    if not code:
        raise StepError(NO_CODE)
    match = _first_named(code)
    if match is None:
        raise StepError(UNKNOWN_CODE)
    return user, channel, match.entry.id


def start_triage(work: Work) -> None:
    """Starts the triage; the step is completed when it ends (bot/triage_step.py), or now with the error."""
    job = work.payload
    user, channel, entry_id = triage_inputs(job.get("inputs") or {})
    refused = triage_step.start(work, job["execution"], job["token"], user, channel, entry_id, job.get("team", ""))
    if refused:
        raise StepError(refused)


STEPS = {EXPLAIN: explain_outputs, DIAGNOSE: diagnose_outputs}
"""The steps completed at once, by callback_id, with their outputs; TRIAGE is completed when its triage ends."""


def run_step(work: Work) -> None:
    job = work.payload
    callback_id = job["callback_id"]
    try:
        if callback_id == TRIAGE:
            start_triage(work)
            return
        if callback_id not in STEPS:
            raise StepError(UNKNOWN_STEP)
        outcome: dict[str, Any] = {"outputs": STEPS[callback_id](job["text"])}
    except StepError as problem:
        logger.info("workflow step %s completed with an error", callback_id)
        outcome = {"error": str(problem)}
    except (RetryLater, DatabaseError):
        raise  # Slack or the database asked us to wait: the job runs again
    except Exception:
        # A bug must not leave the workflow waiting for a step that will never complete.
        logger.exception("workflow step %s failed", callback_id)
        outcome = {"error": INTERNAL_ERROR}
    complete(work.client, job["token"], outcome, job["execution"])


JOBS = {"workflow_step": run_step, **triage_step.JOBS}


def register(app: App) -> None:
    # Every step, known or not: a step the app no longer has gets an error rather than a workflow that waits.
    app.function(re.compile(".+"))(queue_step)
