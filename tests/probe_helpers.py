"""Shared by the probe tests: probe a loopback server with a config of the test's own, and the checks every
result must pass (no secret in any output, triage answers the tree knows)."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.cli import Style
from knowledge.probe import MemoryLimiter, ProbeConfig, ProbeResult, run_probe
from knowledge.probe.allowlist import AllowList
from knowledge.probe.text import render_probe
from knowledge.triage.loader import load_tree
from tests.ftpservers import Server


def probe(
    server: Server,
    protocol: str | None = None,
    *,
    credentials: Path | None = None,
    ca_file: Path | None = None,
    step: float = 3.0,
    total: float = 20.0,
) -> ProbeResult:
    config = ProbeConfig(
        allow=AllowList.parse(f"127.0.0.0/8:{server.port}"),
        credentials_file=str(credentials) if credentials else None,
        ca_file=str(ca_file) if ca_file else None,
        step_timeout=step,
        total_timeout=total,
    )
    target = f"{server.host}:{server.port}"
    result = run_probe(target, protocol, user="tester", config=config, limiter=MemoryLimiter(100, 100))
    check_result(result, server)
    return result


def write_netrc(directory: Path, host: str, user: str, password: str) -> Path:
    path = directory / "probe.netrc"
    path.write_text(f"machine {host} login {user} password {password}\n")
    path.chmod(0o600)
    return path


def check_result(result: ProbeResult, server: Server) -> None:
    """No password or stored user name in the JSON or the text; every triage answer is one the tree has."""
    dumped = json.dumps(result.to_json()) + render_probe(result, Style(False), 100)
    assert server.password not in dumped
    if server.user != "anonymous":
        assert f"USER {server.user}" not in dumped
    tree = load_tree()
    options = {q.id: {o.id for o in q.options} for q in tree.questions}
    for question, answer in result.triage_prefill.items():
        assert answer in options.get(question, set()), (question, answer)


def ids(result: ProbeResult) -> list[str]:
    return [f.id for f in result.findings]


def failed_step(result: ProbeResult) -> str | None:
    return result.failure.name if result.failure else None
