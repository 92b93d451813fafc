"""scan(): from pasted text to a ScanResult. Never raises; never keeps the raw text."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from knowledge.logscan import clients, servers, skim
from knowledge.logscan.context import LogContext
from knowledge.logscan.detect import detect_format
from knowledge.logscan.events import Event
from knowledge.logscan.exchanges import build_exchanges
from knowledge.logscan.findings import Analysis, collect_codes
from knowledge.logscan.ftp_client import parse_ftp_client
from knowledge.logscan.masking import mask_secrets, odd_password
from knowledge.logscan.model import MAX_SCAN_BYTES, ScanResult
from knowledge.logscan.normalize import normalize
from knowledge.logscan.signals import find_signals
from knowledge.logscan.summary import detect_protocol, timeline, triage_prefill

_log = logging.getLogger(__name__)

PARSERS: dict[str, Callable[[str], list[Event]]] = {
    "filezilla": clients.parse_filezilla,
    "winscp": clients.parse_winscp,
    "curl": clients.parse_curl,
    "lftp": clients.parse_lftp,
    "ftplib": clients.parse_ftplib,
    "ftp-client": parse_ftp_client,
    "transcript": clients.parse_transcript,
    "vsftpd": servers.parse_vsftpd,
    "proftpd": servers.parse_proftpd,
    "iis": servers.parse_iis,
    "openssh": servers.parse_openssh,
    "sshd": servers.parse_openssh,
    "pure-ftpd": servers.parse_pureftpd,
    "xferlog": servers.parse_xferlog,
    "filezilla-server": servers.parse_filezilla_server,
    "fluentftp": clients.parse_prefixed_labels,
    "editor-plugin": clients.parse_editor_plugin,
    "unknown": clients.parse_transcript,
}


# Formats written by a server: their sessions belong to different clients.
SERVER_LOGS = frozenset(("vsftpd", "proftpd", "pure-ftpd", "filezilla-server", "iis", "xferlog", "sshd"))


def _limit(text: str, limit: int | None) -> tuple[str, bool]:
    if limit is None or len(text) <= limit // 4:
        return text, False  # even at 4 bytes a character it fits
    if text.isascii():  # a byte a character: no need to encode it to cut it
        return (text, False) if len(text) <= limit else (text[:limit], True)
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= limit:
        return text, False
    return raw[:limit].decode("utf-8", "ignore"), True


_PAGE_BREAK_AT_LINE_START = re.compile(r"(?m)^[\v\f]+")
_SPACE_FOR_PAGE_BREAKS = str.maketrans("\v\f", "  ")


def clean(text: str) -> str:
    """Undoes what Slack does to a paste (HTML escapes, ``` fences); CR LF and lone CR (curl's progress meter
    rewriting its line) become line ends. Form feeds and vertical tabs (page breaks of a printed log) are
    dropped at a line start and are spaces elsewhere: no line ends, so line numbers match an editor's."""
    # a one-character test first: str.find of a single character runs at memchr speed
    if "&" in text and ("&lt;" in text or "&gt;" in text or "&amp;" in text):
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if "`" in text and "```" in text:
        text = text.replace("```", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\f" in text or "\v" in text:
        text = _PAGE_BREAK_AT_LINE_START.sub("", text).translate(_SPACE_FOR_PAGE_BREAKS)
    return text


def scan_with_limit(text: str, limit: int | None = MAX_SCAN_BYTES) -> ScanResult:
    """scan() with another size limit (None: no limit); the benchmark uses it to scan a whole file."""
    text, truncated = _limit(text, limit)
    text = normalize(clean(text))
    odd = odd_password(text[:65536])
    text = mask_secrets(text)
    fmt = detect_format(text)
    body = "\n" + text
    if len(text) >= skim.MIN_SKIM_CHARS and fmt in skim.FORMATS:
        result = _scan_skimmed(fmt, body, truncated, odd)
        if result is not None:
            return result
    return _analyse(fmt, PARSERS[fmt](body), text[:65536], truncated, odd)[0]


def _scan_skimmed(fmt: str, body: str, truncated: bool, odd: bool) -> ScanResult | None:
    """A big log with its healthy stretches skipped (see skim.py); None when that could change the result."""
    plan = skim.Skim(fmt, body)
    if not plan.plan():
        return None
    events = plan.events()
    if events is None:
        return None
    result, ctx = _analyse(fmt, events, body[1:65537], truncated, odd)
    if not skim.consistent(plan, ctx):
        return None
    result.exchanges_total = len(result.exchanges) + plan.skipped_replies
    return result


def _analyse(
    fmt: str, events: list[Event], head: str, truncated: bool, odd_password: bool = False
) -> tuple[ScanResult, LogContext]:
    exchanges = build_exchanges(events)
    signals = find_signals(events)
    del events
    ctx = LogContext(exchanges, signals)
    protocol = detect_protocol(fmt, ctx, head)
    analysis = Analysis(
        ctx, protocol, ftps_url="ftps://" in head, head=head, odd_password=odd_password, server_log=fmt in SERVER_LOGS
    )
    failure = analysis.failure()
    findings = analysis.findings(failure)
    result = ScanResult(
        format=fmt,
        protocol=protocol,
        exchanges=exchanges,
        failure=failure,
        findings=findings,
        timeline=timeline(fmt, ctx, protocol),
        triage_prefill=triage_prefill(fmt, ctx, protocol, failure, head),
        codes=collect_codes(analysis, failure, findings),
        truncated=truncated,
        exchanges_total=len(exchanges),
    )
    return result, ctx


def scan(text: str) -> ScanResult:
    """Reads a pasted FTP/FTPS/SFTP client or server log; see the package docstring."""
    try:
        return scan_with_limit(text)
    except Exception:  # the bot must answer something for any paste; a bug here is logged, not raised
        _log.exception("log scan failed")
        return ScanResult(truncated=isinstance(text, str) and len(text) > MAX_SCAN_BYTES)
