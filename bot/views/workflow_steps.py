"""Workflow Builder steps: what "Explain an FTP code" and "Diagnose an FTP log" give a workflow (their outputs, as
manifest.yml declares them), and the errors they complete with, in words for whoever built the workflow."""

from __future__ import annotations

from typing import Any

from knowledge import answer as answers
from knowledge import text_kind
from knowledge.cli import Style, render_answer
from knowledge.logscan import ScanResult
from knowledge.lookup import finder
from knowledge.scan_text import explained_entries, failure_reply

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


class StepError(Exception):
    """Why a step cannot give its outputs, in words for whoever built the workflow."""


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
