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
from bot.views import workflow_steps as steps_view
from bot.views.workflow_steps import StepError
from bot.worker import Work

logger = logging.getLogger("bot.functions")

EXPLAIN = "explain_ftp_code"
DIAGNOSE = "diagnose_ftp_log"

_EXECUTION = re.compile(r"Fx[A-Z0-9]{4,40}")
_TOKEN = re.compile(r"[A-Za-z0-9-]{10,500}")


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


STEPS = {EXPLAIN: steps_view.explain_outputs, DIAGNOSE: steps_view.diagnose_outputs}


def run_step(work: Work) -> None:
    job = work.payload
    client = work.client
    if job["token"]:
        client.token = job["token"]  # this job's own client: no other job sees the token
    execution = job["execution"]
    step = STEPS.get(job["callback_id"])
    try:
        if step is None:
            raise StepError(steps_view.UNKNOWN_STEP)
        outputs = step(job["text"])
    except StepError as problem:
        logger.info("workflow step %s completed with an error", job["callback_id"])
        _complete(client.functions_completeError, function_execution_id=execution, error=str(problem))
    except Exception:
        # A bug must not leave the workflow waiting for a step that will never complete.
        logger.exception("workflow step %s failed", job["callback_id"])
        _complete(client.functions_completeError, function_execution_id=execution, error=steps_view.INTERNAL_ERROR)
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
