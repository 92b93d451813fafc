"""Answers to `/ftpcode test`: its usage, a refusal in one line, and a probe's result read like the answer to a
pasted log (bot/views/scan.py): the first failing step, why, every step with its time, then the buttons.

Everything the user typed or the server sent goes through escape(); the probe has already masked the stored
user name and password in every text of its result."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.mrkdwn import escape, escape_clipped
from bot.views import triage as tb
from bot.views.block_kit import SECTION_CHARS, SECTION_MARGIN, Message, button, context, finish, header, section
from knowledge import answer as answers
from knowledge.lookup import finder
from knowledge.probe.model import ProbeResult, Step
from knowledge.probe.text import headline

MARKS = {"ok": ":white_check_mark:", "warn": ":warning:", "fail": ":x:", "skipped": ":heavy_minus_sign:"}
USAGE = "/ftpcode test HOST[:PORT] [ftp|ftpes|ftps|sftp]"
MAX_FINDINGS = 5
# Characters of escaped text for the server's and the probe's words, so that any result, however long its
# replies or however many its steps, stays inside Slack's limit on a message's blocks (blocks.MAX_BLOCK_CHARS).
FINDING_CHARS = 500
STEPS_CHARS = 5000
STEP_DETAIL_CHARS = 240


def usage_message() -> Message:
    blocks: list[Block] = [
        section(
            f"*Test a server:* `{USAGE}`\n"
            "For example `/ftpcode test ftp.example.com` or `/ftpcode test sftp.example.com:2222 sftp`.\n"
            "I connect as a client would and report each step with its time: the greeting, TLS and the "
            "certificate, the login, passive mode and a listing (for SFTP: the key exchange, the host key and "
            "the login methods). Without a protocol I go by the port: 21 FTP, 990 implicit FTPS, 22 SFTP."
        ),
        context(
            "Only servers your admin lists in FTPCODE_PROBE_ALLOW. I log in anonymously, or with the "
            "credentials your admin keeps for that server: never type a password here."
        ),
    ]
    return finish(f"Test a server: {USAGE}, for example /ftpcode test ftp.example.com", blocks)


def one_line(text: str) -> dict[str, str]:
    """A refusal or a note: one line of escaped text (a refusal may quote what the user typed)."""
    return {"text": escape_clipped(text, 500)}


def testing_text(target: str) -> str:
    return f"Testing {escape(target)}… I will answer here in a few seconds."


def _code(text: str, limit: int) -> str:
    """`text` as inline code: a backtick in it would end the span early."""
    plain = text.replace("`", "'")
    return f"`{escape_clipped(plain, limit)}`"


def _milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _step_line(step: Step, detail_chars: int) -> str:
    command = f"{_code(step.command, 60)} → " if step.command and not step.detail.startswith(step.command) else ""
    detail = escape_clipped(step.detail, detail_chars)
    return f"{MARKS.get(step.status, '•')} *{escape(step.title)}* ({_milliseconds(step.seconds)}) {command}{detail}"


def _step_sections(result: ProbeResult) -> list[Block]:
    """The timeline, split across sections where one would pass Slack's limit (SECTION_CHARS)."""
    detail_chars = max(40, min(STEP_DETAIL_CHARS, STEPS_CHARS // max(1, len(result.steps)) - 110))
    chunks: list[list[str]] = [["*Steps*"]]
    for step in result.steps:
        line = _step_line(step, detail_chars)
        if sum(len(part) + 1 for part in chunks[-1]) + len(line) > SECTION_CHARS - SECTION_MARGIN:
            chunks.append([])
        chunks[-1].append(line)
    return [section("\n".join(chunk)) for chunk in chunks if chunk]


def _failure_section(result: ProbeResult, failure: Step) -> Block:
    number = result.steps.index(failure) + 1
    where = f"*It failed at {escape(failure.title)}* (step {number} of {len(result.steps)})"
    command = f"{_code(failure.command, 120)} → " if failure.command else ""
    said = _code(failure.reply, 500) if failure.reply else escape_clipped(failure.detail, 500)
    return section(f"{where}\n{command}{said}")


def probe_message(result: ProbeResult) -> Message:
    note = context(escape_clipped(f"Protocol: {result.protocol_note}.", 300))
    blocks: list[Block] = [header(headline(result)), note]
    failure = result.failure
    if failure is not None:
        blocks.append(_failure_section(result, failure))
    if result.findings:
        lines = [
            f"• {'Warning: ' if f.severity == 'warn' else ''}{escape_clipped(f.summary, FINDING_CHARS)}"
            for f in result.findings[:MAX_FINDINGS]
        ]
        blocks.append(section("*Why*\n" + "\n".join(lines)))
    blocks += _step_sections(result)
    blocks.append(context(f"{_milliseconds(result.seconds)} in all, from the bot's network."))
    kb = finder().kb
    entries = [kb.by_id[code] for code in result.codes if code in kb.by_id][:3]
    if entries:
        elements = [button("Start triage", tb.START, tb.start_value(entries[0].id, result.triage_prefill))]
        elements += [button(f"Explain {answers.label(e)}", f"show_answer_{n}", e.id) for n, e in enumerate(entries)]
        blocks.append(ActionsBlock(elements=elements))
    blocks.append(context("I never show a password or a stored user name; I keep nothing the server sent."))
    text = headline(result)
    if result.findings:
        text += f". {result.findings[0].summary}"
    return finish(escape_clipped(text, 600), blocks)
