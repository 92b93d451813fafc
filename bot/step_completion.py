"""Completing a Workflow Builder step (functions.completeSuccess or completeError), for every step.

A step is completed with the token its function_executed event carried (`bot_access_token`), as Bolt's
AttachingFunctionToken does for its own client; every other Web API call of a job uses the bot's token.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.journal import JournaledClient

logger = logging.getLogger("bot.functions")


def complete(client: JournaledClient, token: str | None, outcome: dict[str, Any], execution: str) -> None:
    """functions.completeSuccess with `outcome` {"outputs": ...}, or functions.completeError with {"error": ...}.

    The last call of a job: the job's own client takes the step's token (no other job sees it). A 429 or 5xx is
    the work queue's to retry (bot/journal.py)."""
    if token:
        client.token = token
    method = client.functions_completeSuccess if "outputs" in outcome else client.functions_completeError
    try:
        method(function_execution_id=execution, **outcome)
    except SlackApiError as exc:  # the execution timed out or was cancelled: nothing is left to complete
        logger.warning("completing a workflow step failed: %s", exc.response.get("error"))
