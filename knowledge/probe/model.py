"""The result of a probe: each step with its time and outcome, the first failing step, the findings.

Every text in these objects has already been through the probe's Masker: no password or stored user name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

STATUSES = ("ok", "warn", "fail", "skipped")
PROTOCOLS = ("ftp", "ftpes", "ftps", "sftp")
# Which stage of a session (the log scanner's names, model.STAGES) each step belongs to.
STEP_STAGES = {
    "resolve": "connect", "connect": "connect", "greeting": "connect", "feat": "connect", "tls": "tls",
    "auth-tls": "tls", "certificate": "tls", "prot": "tls", "login": "login", "pwd": "listing",
    "pasv": "data-connection", "epsv": "data-connection", "data-connection": "data-connection", "list": "listing",
    "quit": "disconnect", "tls-demanded": "login", "ssh-banner": "connect", "key-exchange": "connect",
    "host-key": "connect", "auth-methods": "login", "sftp-login": "login", "sftp-list": "listing",
}  # fmt: skip
STEP_TITLES = {
    "resolve": "resolve", "connect": "connect", "greeting": "greeting", "feat": "FEAT", "tls": "TLS handshake",
    "auth-tls": "AUTH TLS", "certificate": "certificate", "prot": "PBSZ/PROT", "login": "login", "pwd": "PWD",
    "pasv": "PASV", "epsv": "EPSV", "data-connection": "data connection", "list": "LIST", "quit": "QUIT",
    "tls-demanded": "TLS demanded?", "ssh-banner": "SSH banner", "key-exchange": "key exchange",
    "host-key": "host key", "auth-methods": "auth methods", "sftp-login": "SSH login", "sftp-list": "SFTP listing",
}  # fmt: skip


@dataclass(slots=True)
class Step:
    """One thing the probe did. `detail` says what happened in a line; `command` and `reply` are the FTP
    command sent and the server's reply (or the SSH banner), when there was one."""

    name: str
    status: str
    seconds: float
    detail: str
    command: str | None = None
    reply: str | None = None

    @property
    def title(self) -> str:
        return STEP_TITLES.get(self.name, self.name)

    @property
    def stage(self) -> str:
        return STEP_STAGES.get(self.name, "connect")

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "status": self.status,
            "seconds": round(self.seconds, 4),
            "detail": self.detail,
            "command": self.command,
            "reply": self.reply,
        }


@dataclass(slots=True)
class Finding:
    """A diagnosis, worded in knowledge/data/probe.toml; `entry_id` is the knowledge entry that explains it."""

    id: str
    summary: str
    step: str
    entry_id: str | None = None
    severity: str = "fail"  # "fail" or "warn"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "summary": self.summary,
            "step": self.step,
            "entry": self.entry_id,
            "severity": self.severity,
        }


@dataclass
class ProbeResult:
    host: str
    port: int
    protocol: str  # one of PROTOCOLS: what was asked for or inferred
    protocol_note: str  # how the protocol was chosen ("port 21: FTP, then explicit TLS if the server offers it")
    inferred: bool
    addresses: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # knowledge entry ids, most relevant first
    triage_prefill: dict[str, str] = field(default_factory=dict)
    tls: str | None = None  # "explicit", "implicit" or None: what the session ended up using
    server: str | None = None  # the greeting or SSH banner, clipped

    @property
    def failure(self) -> Step | None:
        """The first failing step, or None when every step passed (warnings aside)."""
        return next((s for s in self.steps if s.status == "fail"), None)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def target(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        failure = self.failure
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "protocol_inferred": self.inferred,
            "protocol_note": self.protocol_note,
            "addresses": list(self.addresses),
            "server": self.server,
            "tls": self.tls,
            "steps": [s.to_json() for s in self.steps],
            "failure": failure.to_json() | {"stage": failure.stage} if failure else None,
            "findings": [f.to_json() for f in self.findings],
            "codes": list(self.codes),
            "triage_prefill": dict(self.triage_prefill),
            "seconds": round(self.seconds, 4),
        }


class Refused(Exception):
    """The probe will not run. `message` is one friendly line for the user; it never names an address the
    user did not type, nor why an internal address was refused. `reason` is for the caller's logs and logic:
    off, bad-target, not-allowed, busy, user-limit, target-limit, credentials."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
