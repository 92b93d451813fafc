"""The result types of a log scan. Every text in them is already masked."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FORMATS = (
    "filezilla", "winscp", "curl", "lftp", "ftplib", "ftp-client", "fluentftp", "editor-plugin", "vsftpd", "proftpd",
    "pure-ftpd", "filezilla-server", "iis", "xferlog", "openssh", "sshd", "transcript", "unknown",
)  # fmt: skip
# A paste is read up to here; the rest is cut and the result says so.
MAX_SCAN_BYTES = 5 * 1024 * 1024
STAGES = ("connect", "tls", "login", "listing", "upload", "download", "transfer", "data-connection", "disconnect")


@dataclass(slots=True)
class Exchange:
    """One command and the reply that answers it. `line` is the reply's first line, or the command's line
    when no reply came; `command` is None for replies nobody asked for (the 220 greeting, a 421)."""

    line: int
    command: str | None
    code: str | None
    text: str
    command_line: int | None = None
    session: str | None = None
    verb: str | None = None  # the command's first word, upper case: what the rules look at

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "command": self.command, "code": self.code, "text": self.text}


@dataclass(slots=True)
class Failure:
    """The first step that failed. `code` is the FTP reply code, or None when the client gave up on its own
    (a refused connection, a timeout); the client's code for it (curl-7, winsock-10061) is in ScanResult.codes."""

    line: int
    command: str | None
    code: str | None
    text: str
    stage: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "command": self.command, "code": self.code, "text": self.text, "stage": self.stage}


@dataclass(slots=True)
class Finding:
    id: str
    summary: str
    evidence_lines: list[int]
    entry_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "summary": self.summary, "evidence_lines": list(self.evidence_lines)}


@dataclass(slots=True)
class Signal:
    """A client or server message outside the command/reply flow that says something went wrong (or how the
    connection was set up): `kind` names it, `text` is the masked line, `value` a decoded detail."""

    line: int
    kind: str
    text: str
    value: str = ""


@dataclass
class ScanResult:
    """What a scan found. `failure`, `findings`, `codes`, `timeline` and `triage_prefill` always reflect the
    whole log (up to MAX_SCAN_BYTES).

    `exchanges` is complete for any log under 512 KiB. In a bigger curl -v or FileZilla log the healthy
    stretches between the parts that matter are skipped (see skim.py): `exchanges` then holds the first
    ~2,000 and the last ~500 exchanges plus every exchange of the sessions around each anchor (a failed or
    unusual reply, a client error, active mode) with ~120 replies either side, and `exchanges_total`
    counts all of them, skipped ones included. to_json() carries "exchanges_total" only when some were left
    out, so the JSON of every log with a complete list is unchanged."""

    format: str = "unknown"
    protocol: str | None = None
    exchanges: list[Exchange] = field(default_factory=list)
    failure: Failure | None = None
    findings: list[Finding] = field(default_factory=list)
    timeline: list[str] = field(default_factory=list)
    triage_prefill: dict[str, str] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)
    truncated: bool = False
    exchanges_total: int | None = None  # every exchange in the log; None: len(exchanges)

    @property
    def exchanges_capped(self) -> bool:
        return self.exchanges_total is not None and self.exchanges_total > len(self.exchanges)

    def to_json(self) -> dict[str, Any]:
        data = {
            "format": self.format,
            "protocol": self.protocol,
            "exchanges": [e.to_json() for e in self.exchanges],
            "failure": self.failure.to_json() if self.failure else None,
            "findings": [f.to_json() for f in self.findings],
            "truncated": self.truncated,
            "timeline": list(self.timeline),
            "codes": list(self.codes),
        }
        if self.exchanges_capped:
            data["exchanges_total"] = self.exchanges_total
        return data
