"""`ftpcode scan`: reads a log file or standard input and renders the scan for a terminal."""

from __future__ import annotations

import textwrap
from typing import BinaryIO, Protocol

from knowledge import answer as answers
from knowledge.logscan import MAX_SCAN_BYTES, ScanResult, scan
from knowledge.lookup import finder


class Styler(Protocol):
    def bold(self, text: str) -> str: ...
    def title(self, text: str) -> str: ...
    def dim(self, text: str) -> str: ...


def decode_log(data: bytes) -> str:
    """Logs come in any encoding; undecodable bytes must not stop the scan."""
    return data.decode("utf-8", errors="replace")


def scan_file(path: str, stdin: BinaryIO | None = None) -> ScanResult:
    """Scans a file (or standard input when `stdin` is given), reading at most MAX_SCAN_BYTES + 1 bytes."""
    if stdin is not None:
        data = stdin.read(MAX_SCAN_BYTES + 1)
    else:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SCAN_BYTES + 1)
    return scan(decode_log(data))


def render_scan(result: ScanResult, style: Styler, width: int) -> str:
    bullet = textwrap.TextWrapper(width=width, initial_indent="  • ", subsequent_indent="    ")
    out = [style.bold(f"Log read as {result.format}" + (f", {result.protocol.upper()}" if result.protocol else ""))]
    if result.truncated:
        out.append(f"Only the first {MAX_SCAN_BYTES // 1_000_000} MB were read.")
    if result.timeline:
        out += ["", style.title("What happened")] + [bullet.fill(line) for line in result.timeline]
    if result.failure:
        failure = result.failure
        command = f"{failure.command} → " if failure.command else ""
        out += ["", style.title(f"First failure: {failure.stage}, line {failure.line}")]
        out.append(bullet.fill(f"{command}{failure.code or ''} {failure.text}".strip()))
    elif result.exchanges:
        out += ["", "No failing step found."]
    if result.findings:
        out += ["", style.title("Diagnosis")]
        for finding in result.findings:
            lines = ", ".join(map(str, finding.evidence_lines[:8]))
            out.append(bullet.fill(f"{finding.summary}" + (f" (lines {lines})" if lines else "")))
    if not result.exchanges and not result.findings:
        out.append("I could not find FTP commands, replies or client errors in this text.")
    kb = finder().kb
    explained = [kb.by_id[i] for i in result.codes if i in kb.by_id][:3]
    if explained:
        out += ["", style.title("The codes in it")]
        out += [bullet.fill(f"{answers.heading(e)}: {e.summary}") for e in explained]
        out.append(style.dim(f"More: ftpcode {answers.query_for(explained[0])}"))
    return "\n".join(out) + "\n"
