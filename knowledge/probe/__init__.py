"""A live probe of an FTP, FTPS or SFTP server the admin allowed: each step with its time and outcome, the
first failing step, and findings worded like the log scanner's, tied to the same knowledge entries.

Nothing here knows of Slack. The bot and the CLI call run_probe() and render its ProbeResult (or the
Refused's message); `ftpcode probe` is knowledge/probe/text.py's rendering of it.

The names below are imported on first use: the bot's gunicorn master reads the FTPCODE_PROBE_* settings
(knowledge.probe.config) at start-up and has no need of the runner or the knowledge base it loads."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge.probe.config import ProbeConfig, ProbeConfigError
    from knowledge.probe.limits import Limiter, MemoryLimiter
    from knowledge.probe.model import PROTOCOLS, Finding, ProbeResult, Refused, Step
    from knowledge.probe.runner import run_probe

_WHERE = {
    "PROTOCOLS": "model",
    "Finding": "model",
    "Limiter": "limits",
    "MemoryLimiter": "limits",
    "ProbeConfig": "config",
    "ProbeConfigError": "config",
    "ProbeResult": "model",
    "Refused": "model",
    "Step": "model",
    "run_probe": "runner",
}

__all__ = [
    "PROTOCOLS",
    "Finding",
    "Limiter",
    "MemoryLimiter",
    "ProbeConfig",
    "ProbeConfigError",
    "ProbeResult",
    "Refused",
    "Step",
    "run_probe",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
