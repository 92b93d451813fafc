"""`/ftpcode test HOST[:PORT] [PROTOCOL]`: what the command listener checks before it queues a probe, and the
job that runs it on a worker thread and answers on the response_url.

A probe is not a Web API call the journal could skip: it opens connections and counts against the limits.
So the probe and its rendered answer are journal steps: a run that posts the answer again (Slack asked us to
wait) reuses the answer, and a run after a crash in the middle of the probe says so instead of probing again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from bot.database import DatabaseError
from bot.journal import RetryLater
from bot.probe_limits import DatabaseLimiter
from bot.views import probe as probe_view
from bot.worker import Work
from knowledge.probe.allowlist import AllowList
from knowledge.probe.config import ProbeConfig
from knowledge.probe.model import PROTOCOLS, ProbeResult, Refused
from knowledge.probe.target import Plan, plan

logger = logging.getLogger("bot.probe")

COMMAND_WORDS = ("test", "probe")  # `probe`, as in the terminal's `ftpcode probe`
MAX_TARGET_CHARS = 300  # a host name has at most 253, plus a scheme, brackets and a port
DATABASE_DOWN = "I cannot reach my database just now, so I cannot count probes. Try again in a minute."
BROKE = "The test stopped on an error of mine, not of the server. Try again in a minute."
PROBE_OFF = ProbeConfig(allow=AllowList([]))


@dataclass(frozen=True)
class ProbeRequest:
    target: str
    protocol: str | None


def is_test_command(text: str) -> bool:
    """`test …` on one line; a pasted log that happens to start with "test" is still read as a log."""
    words = text.split(maxsplit=1)
    return bool(words) and words[0].lower() in COMMAND_WORDS and "\n" not in text and "```" not in text


def parse(text: str) -> ProbeRequest | None:
    """The target and protocol of `test HOST[:PORT] [PROTOCOL]`; None for anything else (answered with the usage)."""
    words = text.split()
    if len(words) not in (2, 3) or len(words[1]) > MAX_TARGET_CHARS:
        return None
    protocol = words[2].lower() if len(words) == 3 else None
    if protocol is not None and protocol not in PROTOCOLS:
        return None
    return ProbeRequest(words[1], protocol)


def screen(config: ProbeConfig | None, request: ProbeRequest) -> Plan:
    """What can be refused without a DNS lookup or a database: a target that does not parse, the probe off,
    a target the allow-list cannot allow. Raises Refused. Microseconds: it runs in the acknowledgement."""
    the_plan = plan(request.target, request.protocol)
    (config or PROBE_OFF).allow.screen(the_plan.host, the_plan.port)
    return the_plan


# A probe holds its worker for up to 30 s; half the workers at most, so answers and triage clicks still move
# while several users test slow servers.
_slots: threading.BoundedSemaphore | None = None
_slots_lock = threading.Lock()


def _probe_slots(work_threads: int) -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(max(1, work_threads // 2))
        return _slots


def run(work: Work) -> None:
    slots = _probe_slots(work.config.work_threads)
    if not slots.acquire(blocking=False):
        raise RetryLater("every probe slot of this process is busy", 1.0)
    try:
        this_run = uuid.uuid4().hex
        first_run = work.journal.step("probe_started", lambda: this_run) == this_run
        message = work.journal.step("probe", lambda: _probe(work) if first_run else _interrupted(work.payload))
    finally:
        slots.release()
    work.respond(response_type="ephemeral", **message)


def run_probe(target: str, protocol: str | None, **settings: Any) -> ProbeResult:
    """knowledge.probe.runner.run_probe, imported by the first probe: the runner and its sessions are ~0.4 MB that a
    process which never probes need not hold (bench/README.md, RSS)."""
    from knowledge.probe.runner import run_probe as run

    return run(target, protocol, **settings)


def _probe(work: Work) -> dict[str, Any]:
    payload = work.payload
    config = work.config.probe or PROBE_OFF
    db = work.store.db
    limiter = DatabaseLimiter(db, config.per_user_hour, config.per_target_hour)
    user = f"{payload['team']}:{payload['user']}"
    try:
        result = run_probe(payload["target"], payload["protocol"], user=user, config=config, limiter=limiter)
    except Refused as refused:
        logger.info("probe refused: %s", refused.reason)
        return probe_view.one_line(refused.message)
    except (DatabaseError, *db.errors) as exc:
        logger.warning("probe not run, the database is out of reach: %s", exc.__class__.__name__)
        return probe_view.one_line(DATABASE_DOWN)
    except Exception:
        logger.exception("probe failed")
        return probe_view.one_line(BROKE)
    failure = result.failure
    outcome = f"failed at {failure.name}" if failure else "passed"
    logger.info("probe of %s: %s, %d steps in %.2f s", result.target, outcome, len(result.steps), result.seconds)
    return probe_view.probe_message(result).kwargs()


def _interrupted(payload: dict[str, Any]) -> dict[str, Any]:
    logger.warning("a probe was interrupted by a restart; not run again")
    return probe_view.one_line(
        f"My test of {payload['target']} was cut short when I restarted. Run /ftpcode test again."
    )
