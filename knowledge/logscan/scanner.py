"""scan(): from pasted text to a ScanResult. Never raises; never keeps the raw text."""

from __future__ import annotations

import logging
from collections.abc import Callable

from knowledge.logscan import clients, servers
from knowledge.logscan.context import LogContext
from knowledge.logscan.detect import detect_format
from knowledge.logscan.events import Event
from knowledge.logscan.exchanges import build_exchanges
from knowledge.logscan.findings import Analysis, collect_codes
from knowledge.logscan.masking import mask_secrets
from knowledge.logscan.model import ScanResult
from knowledge.logscan.signals import find_signals
from knowledge.logscan.summary import detect_protocol, timeline, triage_prefill

MAX_SCAN_BYTES = 5 * 1024 * 1024

_log = logging.getLogger(__name__)

PARSERS: dict[str, Callable[[str], list[Event]]] = {
    "filezilla": clients.parse_filezilla,
    "winscp": clients.parse_winscp,
    "curl": clients.parse_curl,
    "lftp": clients.parse_lftp,
    "ftplib": clients.parse_ftplib,
    "transcript": clients.parse_transcript,
    "vsftpd": servers.parse_vsftpd,
    "proftpd": servers.parse_proftpd,
    "iis": servers.parse_iis,
    "openssh": servers.parse_openssh,
    "unknown": clients.parse_transcript,
}


def _limit(text: str, limit: int | None) -> tuple[str, bool]:
    if limit is None or len(text) <= limit // 4:
        return text, False  # even at 4 bytes a character it fits
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= limit:
        return text, False
    return raw[:limit].decode("utf-8", "ignore"), True


def clean(text: str) -> str:
    """Undoes what Slack does to a paste (HTML escapes, ``` fences) and CR LF line ends; keeps line count."""
    if "&lt;" in text or "&gt;" in text or "&amp;" in text:
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if "```" in text:
        text = text.replace("```", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    return text


def scan_with_limit(text: str, limit: int | None = MAX_SCAN_BYTES) -> ScanResult:
    """scan() with another size limit (None: no limit); the benchmark uses it to scan a whole file."""
    text, truncated = _limit(text, limit)
    text = mask_secrets(clean(text))
    fmt = detect_format(text)
    events = PARSERS[fmt]("\n" + text)
    exchanges = build_exchanges(events)
    signals = find_signals(events)
    del events
    ctx = LogContext(exchanges, signals)
    protocol = detect_protocol(fmt, ctx, text[:65536])
    analysis = Analysis(ctx, protocol)
    failure = analysis.failure()
    findings = analysis.findings(failure)
    return ScanResult(
        format=fmt,
        protocol=protocol,
        exchanges=exchanges,
        failure=failure,
        findings=findings,
        timeline=timeline(fmt, ctx, protocol),
        triage_prefill=triage_prefill(fmt, ctx, protocol, failure),
        codes=collect_codes(analysis, failure, findings),
        truncated=truncated,
    )


def scan(text: str) -> ScanResult:
    """Reads a pasted FTP/FTPS/SFTP client or server log; see the package docstring."""
    try:
        return scan_with_limit(text)
    except Exception:  # the bot must answer something for any paste; a bug here is logged, not raised
        _log.exception("log scan failed")
        return ScanResult(truncated=isinstance(text, str) and len(text) > MAX_SCAN_BYTES)
