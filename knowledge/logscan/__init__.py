"""Reads pasted FTP/FTPS/SFTP client and server logs: finds the failing step, names the cause, masks secrets.

    result = scan(text)            # never raises; text beyond MAX_SCAN_BYTES is cut and result.truncated set
    result.failure, result.findings, result.codes, result.timeline, result.triage_prefill
    mask_secrets(text)             # PASS arguments, user:password@ in URLs, password=... values -> ****
    mask_escaped_secrets(text)     # the same in text holding JSON or a repr (escaped tabs and newlines)

Modules: detect (which program wrote the log), clients/servers (one parser per format), exchanges (pair
replies with commands), signals (classify client/server messages), context + findings (the rules),
summary (timeline, triage answers), masking, model (result types).
"""

from knowledge.logscan.masking import mask_escaped_secrets, mask_secrets
from knowledge.logscan.model import MAX_SCAN_BYTES, Exchange, Failure, Finding, ScanResult


def scan(text: str) -> ScanResult:
    """Reads a pasted FTP/FTPS/SFTP client or server log; never raises (knowledge/logscan/scanner.py)."""
    # The parsers compile some 150 patterns; loading them on the first scan keeps them out of the bot's start-up.
    from knowledge.logscan.scanner import scan as scan_log

    return scan_log(text)


__all__ = [
    "MAX_SCAN_BYTES",
    "Exchange",
    "Failure",
    "Finding",
    "ScanResult",
    "mask_escaped_secrets",
    "mask_secrets",
    "scan",
]
