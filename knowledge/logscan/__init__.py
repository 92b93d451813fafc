"""Reads pasted FTP/FTPS/SFTP client and server logs: finds the failing step, names the cause, masks secrets.

    result = scan(text)            # never raises; text beyond MAX_SCAN_BYTES is cut and result.truncated set
    result.failure, result.findings, result.codes, result.timeline, result.triage_prefill
    mask_secrets(text)             # PASS arguments, user:password@ in URLs, password=... values -> ****

Modules: detect (which program wrote the log), clients/servers (one parser per format), exchanges (pair
replies with commands), signals (classify client/server messages), context + findings (the rules),
summary (timeline, triage answers), masking, model (result types).
"""

from knowledge.logscan.masking import mask_secrets
from knowledge.logscan.model import Exchange, Failure, Finding, ScanResult
from knowledge.logscan.scanner import MAX_SCAN_BYTES, scan

__all__ = ["MAX_SCAN_BYTES", "Exchange", "Failure", "Finding", "ScanResult", "mask_secrets", "scan"]
