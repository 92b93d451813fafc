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

from bot import payloads, triage_step
from bot.database import DatabaseError
from bot.journal import RetryLater
from bot.step_completion import complete
from bot.views import workflow_steps as steps_view
from bot.views.workflow_steps import StepError
from bot.worker import Work

logger = logging.getLogger("bot.functions")

EXPLAIN = "explain_ftp_code"
DIAGNOSE = "diagnose_ftp_log"
TRIAGE = "start_ftp_triage"
TRIAGE_INPUTS = ("user", "channel", "code")

_EXECUTION = re.compile(r"Fx[A-Z0-9]{4,40}")
_TOKEN = re.compile(r"[A-Za-z0-9-]{10,500}")
_PERSON = re.compile(r"[UW][A-Z0-9]{2,30}")


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


def triage_inputs(inputs: dict[str, str]) -> tuple[str, str, str]:
    """The person, the channel and the knowledge entry the step "Start an FTP triage" was given."""
    user, channel, code = (inputs.get(name, "").strip() for name in TRIAGE_INPUTS)
    if not _PERSON.fullmatch(user):
        raise StepError(steps_view.BAD_USER)
    if payloads.channel_id(channel) is None:
        raise StepError(steps_view.BAD_CHANNEL)
    if not code:
        raise StepError(steps_view.NO_CODE)
    match = steps_view.first_named(code)
    if match is None:
        raise StepError(steps_view.UNKNOWN_CODE)
    return user, channel, match.entry.id


def start_triage(work: Work) -> None:
    """Starts the triage; the step is completed when it ends (bot/triage_step.py), or now with the error."""
    job = work.payload
    user, channel, entry_id = triage_inputs(job.get("inputs") or {})
    refused = triage_step.start(work, job["execution"], job["token"], user, channel, entry_id, job.get("team", ""))
    if refused:
        raise StepError(refused)


STEPS = {EXPLAIN: steps_view.explain_outputs, DIAGNOSE: steps_view.diagnose_outputs}
"""The steps completed at once, by callback_id, with their outputs; TRIAGE is completed when its triage ends."""


def run_step(work: Work) -> None:
    job = work.payload
    callback_id = job["callback_id"]
    try:
        if callback_id == TRIAGE:
            start_triage(work)
            return
        if callback_id not in STEPS:
            raise StepError(steps_view.UNKNOWN_STEP)
        outcome: dict[str, Any] = {"outputs": STEPS[callback_id](job["text"])}
    except StepError as problem:
        logger.info("workflow step %s completed with an error", callback_id)
        outcome = {"error": str(problem)}
    except (RetryLater, DatabaseError):
        raise  # Slack or the database asked us to wait: the job runs again
    except Exception:
        # A bug must not leave the workflow waiting for a step that will never complete.
        logger.exception("workflow step %s failed", callback_id)
        outcome = {"error": steps_view.INTERNAL_ERROR}
    complete(work.client, job["token"], outcome, job["execution"])


JOBS = {"workflow_step": run_step, **triage_step.JOBS}


def register(app: App) -> None:
    # Every step, known or not: a step the app no longer has gets an error rather than a workflow that waits.
    app.function(re.compile(".+"))(queue_step)
