"""What the FTP and SFTP probes share: the connect step, and turning an I/O failure into a step and a finding."""

from __future__ import annotations

import socket
import ssl
import time

from knowledge.probe.config import ProbeConfig
from knowledge.probe.credentials import Credentials
from knowledge.probe.findings import Recorder
from knowledge.probe.target import Plan
from knowledge.probe.wire import Budget, Closed, Flood, Timeout, connect_error, open_tcp

_CONNECT_FINDINGS = {
    "refused": "connect-refused",
    "timeout": "connect-timeout",
    "unreachable": "connect-unreachable",
    "reset": "connect-reset",
}


class Session:
    """One probe of one server: the plan, the addresses allowed for it, the budget and the record."""

    def __init__(
        self,
        plan: Plan,
        addresses: list[str],
        credentials: Credentials | None,
        config: ProbeConfig,
        budget: Budget,
        record: Recorder,
    ) -> None:
        self.plan = plan
        self.addresses = addresses
        self.credentials = credentials
        self.config = config
        self.budget = budget
        self.record = record
        self.address: str | None = None  # the address the control connection reached
        self.server: str | None = None  # the greeting or the SSH banner
        self.facts: dict[str, str] = {}  # what the triage may be told: tls-demanded, passive-address, ...

    def out_of_time(self, step: str) -> bool:
        """True (and recorded) when the probe's time is up before `step`."""
        if self.budget.left() > 0.05:
            return False
        started = time.perf_counter()
        self.record.step(step, "skipped", started, "not run: the probe's time was up")
        seconds = f"{self.config.total_timeout:g}"
        self.record.find("out-of-time", step, "warn", seconds=seconds, step=step)
        return True

    def connect(self) -> socket.socket | None:
        """The connect step: each allowed address in turn, the first that accepts wins."""
        started = time.perf_counter()
        deadline = self.budget.deadline()
        failures: list[str] = []
        for address in self.addresses:
            try:
                sock = open_tcp(address, self.plan.port, deadline)
            except (OSError, Timeout) as exc:
                failures.append(f"{_shown(address, self.plan.port)} {connect_error(exc)}")
                continue
            self.address = address
            tried = f" (after {'; '.join(failures)})" if failures else ""
            self.record.step("connect", "ok", started, f"connected to {_shown(address, self.plan.port)}{tried}")
            return sock
        self.record.step("connect", "fail", started, "; ".join(failures))
        reason = failures[-1].rsplit(" ", 1)[-1] if failures else "refused"
        finding = _CONNECT_FINDINGS.get(reason, "connect-refused")
        seconds = waited(started)
        self.record.find(finding, "connect", target=self.plan.target, seconds=seconds)
        return None

    def io_failure(self, step: str, started: float, exc: BaseException, what: str, command: str | None = None) -> None:
        """A step that ended in a timeout, a flood, a closed or reset connection: the failed step and why."""
        if isinstance(exc, Timeout):
            if self.budget.left() <= 0.05:
                self.record.step(
                    step, "fail", started, f"no answer to {what} before the probe's time was up", command=command
                )
                self.record.find("out-of-time", step, seconds=f"{self.config.total_timeout:g}", step=step)
                return
            seconds = waited(started)
            self.record.step(step, "fail", started, f"no answer to {what} within {seconds} s", command=command)
            self.record.find("step-timeout", step, what=what, seconds=seconds)
        elif isinstance(exc, Flood):
            self.record.step(
                step, "fail", started, f"the server flooded {what}: the probe stopped reading", command=command
            )
            self.record.find("flood", step, limit="16 KiB", what=what, target=self.plan.target)
        else:
            how = "closed" if isinstance(exc, Closed | EOFError) else _error_text(exc)
            self.record.step(step, "fail", started, f"the connection was {how} during {what}", command=command)
            self.record.find("connection-lost", step, when=f"during {what}", how=how)


def waited(started: float) -> str:
    """How long a step waited, as a finding says it ("10", "0.5")."""
    return f"{time.perf_counter() - started:.1f}".removesuffix(".0")


def _shown(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, ssl.SSLError):
        return f"broken (TLS: {exc.reason or exc})"
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).lower()
