"""One probe from what the user typed to its result: the plan, the allow-list, the limits, the credentials,
the steps, then the knowledge entries and the triage answers the probe learnt."""

from __future__ import annotations

import time

from knowledge.lookup import finder
from knowledge.probe import credentials as creds
from knowledge.probe.allowlist import ResolveError
from knowledge.probe.config import ProbeConfig
from knowledge.probe.findings import Recorder
from knowledge.probe.limits import Limiter
from knowledge.probe.model import Finding, ProbeResult, Step
from knowledge.probe.session import Session
from knowledge.probe.target import Plan, plan
from knowledge.probe.wire import Budget

# The triage's `stage` answer for the stage of the first failing step.
_TRIAGE_STAGE = {"connect": "connect", "tls": "connect", "login": "login", "listing": "listing",
                 "data-connection": "listing"}  # fmt: skip
_FACTS_FOR_TRIAGE = ("mode", "server", "anonymous", "tls-demanded", "passive-address", "tls-settings")


def run_probe(
    target: str,
    protocol: str | None,
    *,
    user: str,
    config: ProbeConfig,
    limiter: Limiter,
) -> ProbeResult:
    """Probes `target` ("HOST[:PORT]" or an ftp://, ftps://, ftpes://, sftp:// address) for `user`.

    Raises Refused (one friendly line in .message) when the target is malformed or not allowed, the user or
    target is over its limit, or the credentials file is broken. Anything the server does is a result."""
    the_plan = plan(target, protocol)
    config.allow.screen(the_plan.host, the_plan.port)
    stored = creds.load(config.credentials_file, the_plan.host, the_plan.port)
    limiter.begin(user, the_plan.target)
    try:
        return _probe(the_plan, stored, config)
    finally:
        limiter.end(user)


def _probe(the_plan: Plan, stored: creds.Credentials | None, config: ProbeConfig) -> ProbeResult:
    budget = Budget(config.step_timeout, config.total_timeout)
    record = Recorder(creds.Masker(stored))
    started = time.perf_counter()
    result = ProbeResult(the_plan.host, the_plan.port, the_plan.protocol, the_plan.note, the_plan.inferred)
    try:
        addresses = config.allow.check(
            the_plan.host, the_plan.port, config.resolve, min(config.step_timeout, budget.left())
        )
    except ResolveError as exc:
        record.step("resolve", "fail", started, f"{the_plan.host} did not resolve: {exc}")
        record.find("host-not-found", "resolve", host=the_plan.host, why=str(exc))
        return _finish(result, record, None)
    looked_up = "an address: no lookup" if addresses == [the_plan.host] else ", ".join(addresses)
    record.step("resolve", "ok", started, looked_up)
    result.addresses = addresses
    if the_plan.protocol == "sftp":
        from knowledge.probe.sftp import SftpProbe

        session: Session = SftpProbe(the_plan, addresses, stored, config, budget, record)
    else:
        from knowledge.probe.ftp import FtpProbe

        session = FtpProbe(the_plan, addresses, stored, config, budget, record)
    session.run()  # type: ignore[attr-defined]
    return _finish(result, record, session)


def _finish(result: ProbeResult, record: Recorder, session: Session | None) -> ProbeResult:
    result.steps = record.steps
    failure = result.failure
    result.findings = _ordered(record.findings, failure)
    result.codes = _codes(result.findings, failure)
    if session is not None:
        result.server = session.server
        result.tls = getattr(session, "tls_mode", None)
        result.triage_prefill = _prefill(result, session)
    return result


def _ordered(findings: list[Finding], failure: Step | None) -> list[Finding]:
    """The findings about the first failing step first, then the other failures, then the warnings."""

    def rank(f: Finding) -> int:
        if failure is not None and f.step == failure.name and f.severity == "fail":
            return 0
        return 1 if f.severity == "fail" else 2

    return sorted(findings, key=rank)


def _codes(findings: list[Finding], failure: Step | None) -> list[str]:
    """Knowledge entries worth explaining, most relevant first: the findings', then the failing reply's code."""
    known = finder().kb.by_id
    codes: list[str] = []
    reply_code = failure.reply[:3] if failure and failure.reply and failure.reply[:3].isdecimal() else None
    candidates = [f.entry_id for f in findings if f.severity == "fail"]
    candidates += [f"ftp-{reply_code}" if reply_code else None]
    candidates += [f.entry_id for f in findings if f.severity == "warn"]
    for code in candidates:
        if code and code in known and code not in codes:
            codes.append(code)
    return codes


def _prefill(result: ProbeResult, session: Session) -> dict[str, str]:
    """The triage questions the probe already answered (question id -> option id)."""
    answers: dict[str, str] = {}
    wrong_port = "protocol" in session.facts
    if not wrong_port:
        if result.protocol == "sftp":
            answers["protocol"] = "sftp"
        else:
            answers["protocol"] = {"explicit": "ftps-explicit", "implicit": "ftps-implicit"}.get(
                result.tls or "", "ftp"
            )
    failure = result.failure
    if failure is not None and failure.stage in _TRIAGE_STAGE:
        answers["stage"] = _TRIAGE_STAGE[failure.stage]
    for key in _FACTS_FOR_TRIAGE:
        if key in session.facts:
            answers[key] = session.facts[key]
    return answers
