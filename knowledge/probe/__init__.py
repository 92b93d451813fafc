"""A live probe of an FTP, FTPS or SFTP server the admin allowed: each step with its time and outcome, the
first failing step, and findings worded like the log scanner's, tied to the same knowledge entries.

Nothing here knows of Slack. The bot and the CLI call run_probe() and render its ProbeResult (or the
Refused's message); `ftpcode probe` is knowledge/probe/text.py's rendering of it."""

from knowledge.probe.config import ProbeConfig, ProbeConfigError
from knowledge.probe.limits import Limiter, MemoryLimiter
from knowledge.probe.model import PROTOCOLS, Finding, ProbeResult, Refused, Step
from knowledge.probe.runner import run_probe

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
