"""`ftpcode scan`: reads a log file or standard input and renders the scan for a terminal."""

from __future__ import annotations

import textwrap
from typing import BinaryIO, Protocol

from knowledge import answer as answers
from knowledge.base import Entry
from knowledge.logscan import MAX_SCAN_BYTES, Failure, ScanResult, scan
from knowledge.lookup import finder
from knowledge.text_kind import found_anything


class Styler(Protocol):
    def bold(self, text: str) -> str: ...
    def title(self, text: str) -> str: ...
    def dim(self, text: str) -> str: ...


FORMAT_NAMES = {
    "filezilla": "FileZilla", "winscp": "WinSCP", "curl": "curl", "lftp": "lftp", "ftplib": "Python ftplib",
    "vsftpd": "vsftpd", "proftpd": "ProFTPD", "iis": "IIS FTP", "openssh": "OpenSSH", "transcript": "session",
    "ftp-client": "ftp command", "fluentftp": "FluentFTP", "editor-plugin": "editor plug-in", "pure-ftpd": "Pure-FTPd",
    "filezilla-server": "FileZilla Server", "sshd": "sshd", "xferlog": "xferlog transfer log",
}  # fmt: skip
# Names spelled in lower case by their authors, even first in a line ("sshd log", not "Sshd log").
_LOWER_CASE_NAMES = ("curl", "lftp", "vsftpd", "sshd", "xferlog", "ftp command")
# "It failed ..." for each stage of model.STAGES.
_STAGE_PHRASES = {
    "connect": "while connecting", "tls": "during the TLS handshake", "login": "at login",
    "listing": "at the directory listing", "upload": "during the upload", "download": "during the download",
    "transfer": "during a transfer", "data-connection": "at the data connection", "disconnect": "at disconnect",
}  # fmt: skip


def format_name(result: ScanResult) -> str:
    """What the scanner took the text for, as a user names it: "FileZilla log (FTP)", "SFTP log", "log"."""
    name = FORMAT_NAMES.get(result.format)
    protocol = result.protocol.upper() if result.protocol else ""
    if name:
        name = name if name.endswith(" log") else f"{name} log"
        return f"{name} ({protocol})" if protocol else name
    return f"{protocol} log".lstrip()


def stage_phrase(stage: str) -> str:
    return _STAGE_PHRASES.get(stage, f"at {stage}")


def explained_entries(result: ScanResult) -> list[Entry]:
    """The knowledge entries for a scanned log, at most three: the codes the scanner found, else the entry the
    failing line names (a code, ECONNREFUSED), else the one whose client message it is ("Connection timed out
    after 20 seconds of inactivity"), so the answer still explains it and can start a triage."""
    kb = finder().kb
    entries = [kb.by_id[i] for i in result.codes if i in kb.by_id]
    if not entries and result.failure:
        text = result.failure.text
        entries = [m.entry for m in finder().lookup(text).matches if m.reason in ("code", "name")]
        client = None if result.format == "unknown" else FORMAT_NAMES.get(result.format, "")
        entries = entries or finder().by_message(text, client)[:1]
    return entries[:3]


def failure_reply(failure: Failure) -> str:
    """What came back: the reply line (its text already starts with the code) or the client's error."""
    text = failure.text.strip()
    if failure.code and not text.startswith(failure.code):
        text = f"{failure.code} {text}"
    return text


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


def no_failure(result: ScanResult) -> str:
    """What to say of a log in which no step failed; a client's log of status lines alone shows no replies."""
    if result.exchanges:
        return "No step failed in this log."
    return (
        "No step failed. The log holds only the client's status lines, not its commands and the server's replies: "
        "if something still goes wrong, paste the whole log."
    )


def render_scan(result: ScanResult, style: Styler, width: int) -> str:
    """The failure and its diagnosis first (what a user came for), then the session, then the codes."""
    if not found_anything(result):
        return "I could not find FTP commands, replies or client errors in this text.\n"
    bullet = textwrap.TextWrapper(width=width, initial_indent="  • ", subsequent_indent="    ")
    name = format_name(result)
    out = [style.bold(name if name.startswith(_LOWER_CASE_NAMES) else name[:1].upper() + name[1:])]
    if result.truncated:
        out.append(f"Only the first {MAX_SCAN_BYTES // 1_000_000} MB were read.")
    if result.failure:
        failure = result.failure
        command = f"{failure.command} → " if failure.command else ""
        out += ["", style.title(f"It failed {stage_phrase(failure.stage)} (line {failure.line})")]
        out.append(bullet.fill(command + failure_reply(failure)))
    else:
        out += ["", textwrap.fill(no_failure(result), width)]
    if result.findings:
        out += ["", style.title("Why")]
        for finding in result.findings:
            lines = finding.evidence_lines[:8]
            where = f" (line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))})" if lines else ""
            out.append(bullet.fill(finding.summary + where))
    if result.timeline:
        out += ["", style.title("What happened")] + [bullet.fill(line) for line in result.timeline]
    out += entries_section(explained_entries(result), style, bullet)
    return "\n".join(out) + "\n"


def codes_section(codes: list[str], style: Styler, bullet: textwrap.TextWrapper) -> list[str]:
    """The first three knowledge entries of a probe's codes, summarised, and how to read more."""
    kb = finder().kb
    return entries_section([kb.by_id[i] for i in codes if i in kb.by_id][:3], style, bullet)


def entries_section(explained: list[Entry], style: Styler, bullet: textwrap.TextWrapper) -> list[str]:
    if not explained:
        return []
    out = ["", style.title("The codes in it")]
    out += [bullet.fill(f"{answers.heading(e)}: {e.summary}") for e in explained]
    out.append(style.dim(f"More: ftpcode {answers.query_for(explained[0])}"))
    return out
