"""Workflow Builder steps (custom functions, manifest.yml `functions`): "Explain an FTP code" and "Diagnose an FTP
log". Each function_executed event is queued; the job completes the step with its outputs, or with an error a
workflow builder can act on, so a step never hangs.

Every Web API call of a step uses the token Slack sends for that execution (`bot_access_token`), as Bolt's
AttachingFunctionToken does for its own client; it is kept in the job's row only until the job is done.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk.errors import SlackApiError

from bot import payloads
from bot.knowledge_once import finder
from bot.views import scan as scan_view
from bot.worker import Work
from knowledge import answer as answers
from knowledge.cli import Style, render_answer
from knowledge.logscan import ScanResult, scan
from knowledge.scan_text import explained_entries, failure_reply

logger = logging.getLogger("bot.functions")

EXPLAIN = "explain_ftp_code"
DIAGNOSE = "diagnose_ftp_log"
ANSWER_WIDTH = 100  # as `ftpcode 425` prints it in a terminal

_EXECUTION = re.compile(r"Fx[A-Z0-9]{4,40}")
_TOKEN = re.compile(r"[A-Za-z0-9-]{10,500}")

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


class StepError(Exception):
    """Why a step cannot give its outputs, in words for whoever built the workflow."""


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
    context["work"].submit("workflow_step", job, f"function:{execution}")


def explain_outputs(text: str) -> dict[str, Any]:
    """The first code or error the text names (the order of a lookup: errors first), as the step's outputs."""
    if not text.strip():
        raise StepError(NO_TEXT)
    named = [m for m in finder().lookup(text).matches if m.reason in ("code", "name", "unknown-code")]
    if not named:
        named = finder().resolve([entry.id for entry in finder().by_message(text)[:1]])
    if not named:
        raise StepError(NOTHING_TO_EXPLAIN)
    match = named[0]
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
    if not scan_view.found_anything(result):
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


STEPS = {EXPLAIN: explain_outputs, DIAGNOSE: diagnose_outputs}


def run_step(work: Work) -> None:
    job = work.payload
    client = work.client
    if job["token"]:
        client.token = job["token"]  # this job's own client: no other job sees the token
    execution = job["execution"]
    step = STEPS.get(job["callback_id"])
    try:
        if step is None:
            raise StepError(UNKNOWN_STEP)
        outputs = step(job["text"])
    except StepError as problem:
        logger.info("workflow step %s completed with an error", job["callback_id"])
        _complete(client.functions_completeError, function_execution_id=execution, error=str(problem))
    except Exception:
        # A bug must not leave the workflow waiting for a step that will never complete.
        logger.exception("workflow step %s failed", job["callback_id"])
        _complete(client.functions_completeError, function_execution_id=execution, error=INTERNAL_ERROR)
    else:
        _complete(client.functions_completeSuccess, function_execution_id=execution, outputs=outputs)


def _complete(method: Callable[..., Any], **arguments: Any) -> None:
    try:
        method(**arguments)
    except SlackApiError as exc:  # the execution timed out or was cancelled: nothing is left to complete
        logger.warning("completing a workflow step failed: %s", exc.response.get("error"))


JOBS = {"workflow_step": run_step}


def register(app: App) -> None:
    # Every step, known or not: a step the app no longer has gets an error rather than a workflow that waits.
    app.function(re.compile(".+"))(queue_step)
