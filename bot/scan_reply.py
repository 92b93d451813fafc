"""Answers to pasted logs: what happened, the first failure, the diagnosis, and a triage that starts informed."""

from __future__ import annotations

import json
import re

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.blocks import Message, button, context, finish, header, section
from bot.mrkdwn import clip, escape
from knowledge import answer as answers
from knowledge.logscan import MAX_SCAN_BYTES, ScanResult, scan
from knowledge.lookup import finder

_LOG_LINE = re.compile(
    r"^\s*(?:\d{3}[ -]|(?:Status|Command|Response|Error|Trace):|[<>*] |<---|--->|\*(?:cmd|resp)\*|[.<>!*] \d{4}-)",
    re.M,
)


def looks_like_log(text: str) -> bool:
    """A paste rather than a question: a code block, or several lines that look like a client's log."""
    return "```" in text or len(_LOG_LINE.findall(text)) >= 3


def triage_value(entry_id: str, prefill: dict[str, str]) -> str:
    return json.dumps({"e": entry_id, "p": prefill}, separators=(",", ":"))


def parse_triage_value(raw: str) -> tuple[str, dict[str, str]]:
    """The entry id and prefilled answers a Start triage button carries (plain id, or JSON from a scan)."""
    if not raw.startswith("{"):
        return raw, {}
    try:
        data = json.loads(raw)
    except ValueError:
        return "", {}
    prefill = data.get("p") if isinstance(data.get("p"), dict) else {}
    return str(data.get("e", "")), {str(k): str(v) for k, v in prefill.items()}


def scan_message(result: ScanResult, *, ephemeral: bool) -> Message:
    protocol = f" ({result.protocol.upper()})" if result.protocol else ""
    blocks: list[Block] = [header(f"I read your {result.format} log{protocol}")]
    if result.truncated:
        blocks.append(context(f"Only the first {MAX_SCAN_BYTES // 1_000_000} MB were read."))
    if result.failure:
        failure = result.failure
        step = f"`{escape(clip(failure.command, 200))}` → " if failure.command else ""
        reply = escape(clip(f"{failure.code or ''} {failure.text}".strip(), 500))
        blocks.append(section(f"*It failed at: {escape(failure.stage)}* (line {failure.line})\n{step}`{reply}`"))
    if result.findings:
        lines = [f"• {escape(f.summary)}" for f in result.findings[:6]]
        blocks.append(section("*Why*\n" + "\n".join(lines)))
    if result.timeline:
        blocks.append(section("*What happened*\n" + "\n".join(f"• {escape(t)}" for t in result.timeline[:10])))
    kb = finder().kb
    explained = [kb.by_id[i] for i in result.codes if i in kb.by_id][:4]
    for entry in explained[:2]:
        blocks.append(section(f"*{escape(answers.heading(entry))}*\n{escape(entry.summary)}"))
    elements = []
    if explained:
        elements.append(button("Start triage", "start_triage", triage_value(explained[0].id, result.triage_prefill)))
        elements += [button(f"Explain {answers.label(e)}", "show_answer", e.id) for e in explained[:3]]
    if elements:
        blocks.append(ActionsBlock(elements=elements))
    blocks.append(context("Passwords in the log are masked; I keep nothing of what you pasted."))
    summary = result.failure.stage if result.failure else "no failing step found"
    first = f" {answers.heading(explained[0])}." if explained else ""
    return finish(f"I read your {result.format} log: {summary}.{first}", blocks)


def nothing_in_log_message() -> Message:
    text = "I could not find FTP commands, replies or client errors in that text. Paste the client's log as it is."
    return finish(text, [section(text)])


def for_log(text: str, *, ephemeral: bool) -> tuple[Message, ScanResult]:
    result = scan(text)
    if not result.exchanges and not result.findings and not result.failure:
        return nothing_in_log_message(), result
    return scan_message(result, ephemeral=ephemeral), result
