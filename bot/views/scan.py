"""Answers to pasted logs: what happened, the first failure, the diagnosis, and a triage that starts informed."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.mrkdwn import clip, escape
from bot.views import site_notes as site_view
from bot.views import triage as tb
from bot.views.block_kit import Message, button, context, finish, header, section
from knowledge import answer as answers
from knowledge.logscan import MAX_SCAN_BYTES, ScanResult
from knowledge.scan_text import explained_entries, failure_reply, format_name, no_failure, stage_phrase
from knowledge.text_kind import found_anything


def scan_message(result: ScanResult, *, ephemeral: bool) -> Message:
    name = format_name(result)
    blocks: list[Block] = [header(f"I read your {name}")]
    if result.truncated:
        blocks.append(context(f"Only the first {MAX_SCAN_BYTES // 1_000_000} MB were read."))
    failure = result.failure
    if failure:
        step = f"`{escape(clip(failure.command, 200))}` → " if failure.command else ""
        reply = escape(clip(failure_reply(failure), 500))
        where = f"*It failed {stage_phrase(failure.stage)}* (line {failure.line})"
        blocks.append(section(f"{where}\n{step}`{reply}`"))
    else:
        blocks.append(section(no_failure(result)))
    if result.findings:
        lines = [f"• {escape(f.summary)}" for f in result.findings[:4]]
        blocks.append(section("*Why*\n" + "\n".join(lines)))
        blocks += site_view.finding_blocks([f.id for f in result.findings[:4]])
    explained = explained_entries(result)
    # Only the first entry is summarised: the others (a 530 to AUTH TLS next to a failed listing) would
    # distract from the failure; their buttons are there.
    for entry in explained[:1]:
        blocks.append(section(f"*{escape(answers.heading(entry))}*\n{escape(entry.summary)}"))
        blocks += site_view.entry_blocks(entry.id)
    if result.timeline:
        blocks.append(section("*What happened*\n" + "\n".join(f"• {escape(t)}" for t in result.timeline[:10])))
    elements = []
    if explained:
        elements.append(button("Start triage", "start_triage", tb.start_value(explained[0].id, result.triage_prefill)))
        explain = enumerate(explained)
        elements += [button(f"Explain {answers.button_name(e)}", f"show_answer_{n}", e.id) for n, e in explain]
    if elements:
        blocks.append(ActionsBlock(elements=elements))
    blocks.append(context("Passwords in the log are masked; I keep nothing of what you pasted."))
    summary = f"it failed {stage_phrase(failure.stage)}" if failure else "no step failed"
    if failure and failure.command:
        summary += f" ({clip(failure.command, 60)})"
    first = f" {answers.heading(explained[0]).rstrip('.')}." if explained else ""
    return finish(f"I read your {name}: {summary}.{first}", blocks)


def subject_of(result: ScanResult) -> tuple[str, str]:
    """What a scan answered, for feedback: its first finding, else the entry it explained, else nothing."""
    if not found_anything(result):
        return "", ""
    if result.findings:
        return result.findings[0].id, "finding"
    entries = explained_entries(result)
    return (entries[0].id, "entry") if entries else ("", "")


def summary_of(result: ScanResult) -> str:
    """What is kept of a log for feedback, instead of the paste: its format and the reply that failed."""
    summary = format_name(result)
    if result.failure:
        summary += f": {failure_reply(result.failure)}"
    return summary


def nothing_in_log_message() -> Message:
    text = "I could not find FTP commands, replies or client errors in that text. Paste the client's log as it is."
    return finish(text, [section(text)])


def log_message(result: ScanResult) -> Message:
    """The answer to a text read as a log: what the scan found, or that it found nothing to read."""
    if not found_anything(result):
        return nothing_in_log_message()
    return scan_message(result, ephemeral=False)
