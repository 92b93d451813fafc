"""The short story of a session: protocol, timeline lines and the triage answers the log already gives."""

from __future__ import annotations

import re

from knowledge.logscan.context import LogContext, host_port
from knowledge.logscan.detect import branch_found, branch_searches
from knowledge.logscan.ftp import DATA_COMMANDS, EPSV_PORT, HOST_PORT_NUMBERS
from knowledge.logscan.model import Failure

_SFTP_MARKS = re.compile(
    r"fzSftp|Transfer Protocol: SFTP|Using SFTP protocol|SSH_FXP?|File protocol: SFTP|^sftp>|"
    r"Remote version: SSH-|Session protocol: SFTP|\[SFTP\]|\"protocol\": ?\"sftp\"|^Error code: \d+$|"
    r"^Error message from server: |sshd\[\d+\]|subsystem request for sftp|internal-sftp|"
    # messages only an SSH client prints (PuTTY's core, in WinSCP and FileZilla, and OpenSSH)
    r"No supported authentication methods|Server refused our key|Permission denied \((?:publickey|password|keyboard)|"
    r"Authentications? that can continue|Host key verification failed|Network error: Connection to \"[^\"]*\" |"
    # FileZilla's SFTP sessions: lower-case commands to its fzsftp helper, and its messages
    r"^(?:[\d:. T-]+)?Command:[ \t]*(?:open \"|pwd$|ls$|cd \"|put \"|get \"|keyfile \"|mkdir \"|chmod )|"
    r"^(?:[\d:. T-]+)?Status:[ \t]*(?:Current directory is|Listing directory /|Using username |Connected to \S)|"
    # PuTTY's packet check, in WinSCP's and FileZilla's SFTP sessions
    r"Received too large \(\d+ B\) SFTP packet|"
    # WinSCP (PuTTY's core) once logged in: the session's channel, the program sshd started for it
    r"Opened channel for session|Server sent command exit status|Cannot initialize SFTP protocol",
    re.M,
)
_SFTP_MARK_SEARCHES = branch_searches(_SFTP_MARKS)


def _sftp_marked(head: str) -> bool:
    """_SFTP_MARKS.search(head), one branch at a time (a third of the time, or less)."""
    return branch_found(_SFTP_MARK_SEARCHES, head, "\n" + head)


# Formats that are FTP whatever they hold (a FileZilla log with only status lines is still an FTP session).
_FTP_FORMATS = frozenset(
    ("filezilla", "curl", "lftp", "ftplib", "ftp-client", "fluentftp", "vsftpd", "proftpd", "pure-ftpd",
     "filezilla-server", "iis", "xferlog")
)  # fmt: skip
# an xferlog line whose service name is sftp (SFTPGo, ProFTPD mod_sftp)
_XFERLOG_SFTP = re.compile(r" [oid] [agr] \S+ sftp [01] ")
# sftp prints "Connected to host." - and so does the ftp command, before the server's replies.
_SFTP_CONNECTED = re.compile(r"^Connected to \S+\.$", re.M)
# FileZilla's debug trace of its TLS layer, in a log whose status lines say nothing about TLS
_FZ_TLS_TRACE = re.compile(r"Trace:\s+(?:CTlsSocket|tls_layer)")
_TLS_KINDS = frozenset(("tls-established", "tls-handshake", "tls-cert", "tls-shutdown", "tls-session-reuse"))
_ESTABLISHED = re.compile(r"Connected (?:to|with)|Connection established")
_CONNECT_FAILURES = frozenset(("refused", "timeout", "host-not-found"))
_CLIENT_ADDRESS = re.compile(r"Client \"([^\"]*)\"")
_CLIENT_OF_FORMAT = {"filezilla": "filezilla", "winscp": "winscp", "curl": "curl", "lftp": "lftp", "ftplib": "script",
                     "ftp-client": "other"}  # fmt: skip
_TRIAGE_STAGE = {
    "connect": "connect", "tls": "connect", "login": "login", "listing": "listing", "upload": "upload",
    "download": "download", "transfer": "midway",
}  # fmt: skip
# Server software as the triage question `server` names it: from the log format, the FTP greeting, the SSH
# banner the server sent (not the client's own version line).
_SERVER_OF_FORMAT = {"vsftpd": "vsftpd", "proftpd": "proftpd", "iis": "iis"}
_FTP_SERVER_NAME = re.compile(r"(?i)(vsFTPd)|(ProFTPD)|(Pure-FTPd)|(FileZilla Server)|(Microsoft FTP Service)")
_FTP_SERVER_IDS = (None, "vsftpd", "proftpd", "pureftpd", "filezilla-server", "iis")
_OPENSSH_SERVER = re.compile(
    r"(?<!Local version string )(?<!We claim version: )(?<![\w-])SSH-(?:2\.0|1\.99)-OpenSSH_|"
    r"remote software version OpenSSH_"
)
_DATA_VERB_STAGE = {"LIST": "listing", "NLST": "listing", "MLSD": "listing", "RETR": "download", "STOR": "upload",
                    "STOU": "upload", "APPE": "upload"}  # fmt: skip


def tls_mode(ctx: LogContext) -> str | None:
    """'explicit' when AUTH TLS was accepted (or attempted and it ended the session), 'implicit' when TLS came
    up without AUTH, None for plain FTP."""
    auth_ok = auth_tried = False
    for e in ctx.exchanges:
        if e.verb == "AUTH":
            auth_tried = True
            if e.code == "234":
                auth_ok = True
    if auth_ok:
        return "explicit"
    tls_up = any(s.kind in _TLS_KINDS for s in ctx.signals)
    if tls_up and not auth_tried:
        return "implicit"
    if auth_tried and ctx.exchanges and ctx.exchanges[-1].verb == "AUTH":
        return "explicit"  # the client wanted TLS and stopped when it was refused
    return None


def detect_protocol(fmt: str, ctx: LogContext, head: str) -> str | None:
    """sftp for SSH logs and SFTP sessions, ftps when TLS was used or tried (a certificate, a handshake, AUTH
    TLS accepted), ftp otherwise; None when the text shows no session at all."""
    if fmt in ("openssh", "sshd") or _sftp_marked(head):
        return "sftp"
    if fmt == "xferlog" and _XFERLOG_SFTP.search(head):
        return "sftp"
    if not ctx.exchanges and fmt != "ftp-client" and _SFTP_CONNECTED.search(head):
        return "sftp"
    if not ctx.exchanges and not any(s.kind != "connecting" for s in ctx.signals) and fmt not in _FTP_FORMATS:
        return None
    if fmt == "filezilla" and _FZ_TLS_TRACE.search(head):
        return "ftps"
    return "ftps" if tls_mode(ctx) else "ftp"


def data_mode(ctx: LogContext) -> str | None:
    mode = None
    for e in ctx.exchanges:
        v = e.verb
        if v in ("PASV", "EPSV"):
            mode = "passive"
        elif v in ("PORT", "EPRT"):
            mode = "active"
    return mode


def _data_channel_line(ctx: LogContext) -> str | None:
    for e in reversed(ctx.exchanges):
        v = e.verb
        if v == "PASV" and e.code == "227":
            m = HOST_PORT_NUMBERS.search(e.text)
            if m:
                parts = [int(g) for g in m.groups()]
                return f"data channel: passive {'.'.join(map(str, parts[:4]))}:{parts[4] * 256 + parts[5]}"
        if v == "EPSV" and e.code == "229":
            m = EPSV_PORT.search(e.text)
            return f"data channel: passive (EPSV, port {m.group(1)})" if m else "data channel: passive (EPSV)"
        if v in ("PORT", "EPRT"):
            return f"data channel: active ({e.command}, reply {e.code or 'none'})"
    return None


def reached_server(ctx: LogContext) -> bool:
    """False when the client never got through: its connection was refused, timed out or the name did not
    resolve, before any reply or "Connected" message."""
    if ctx.exchanges:
        return True
    for s in ctx.signals:
        if s.kind == "connecting" and _ESTABLISHED.search(s.text):
            return True
        if s.kind in _CONNECT_FAILURES:
            return False
    return True


def timeline(fmt: str, ctx: LogContext, protocol: str | None) -> list[str]:
    lines: list[str] = []
    host = ctx.control_host
    connected = "connected to" if reached_server(ctx) else "could not connect to"
    if host:
        lines.append(f"{connected} {host[0]}:{host[1]}" if host[1] else f"{connected} {host[0]}")
    else:
        for s in ctx.signals:
            if s.kind == "connecting":
                found = host_port(s.text)
                client = _CLIENT_ADDRESS.search(s.text)
                if client:
                    lines.append(f"client {client.group(1)} connected")
                else:
                    lines.append(f"{connected} {found[0]}" if found else s.text[:80])
                break
    banner = next((e for e in ctx.exchanges if e.command is None and e.code == "220"), None)
    if banner is not None:
        lines.append(f"server greeting: {banner.text.splitlines()[0][:80]}")
    if protocol == "sftp":
        lines.append("SFTP (SSH)")
    else:
        mode = tls_mode(ctx)
        if mode == "explicit":
            lines.append("TLS: explicit FTPS (AUTH TLS)")
        elif mode == "implicit":
            lines.append("TLS: implicit FTPS")
        elif ctx.exchanges and fmt != "xferlog":  # a transfer log does not record TLS
            lines.append("no TLS: plain FTP, the password crossed the network unencrypted")
    user = None
    probes = ctx.anonymous_probes
    for e in ctx.exchanges:
        v = e.verb
        if v == "USER" and e.command and " " in e.command:
            user = e.command.split(None, 1)[1]
        if e.line in probes:
            continue
        if v in ("USER", "PASS") and e.code in ("230", "232"):
            lines.append(f"logged in as {user}" if user else "logged in")
            break
        if v in ("USER", "PASS") and e.code and e.code[0] in "45":
            lines.append(f"login refused for {user} ({e.code})" if user else f"login refused ({e.code})")
            break
    channel = _data_channel_line(ctx)
    if channel:
        lines.append(channel)
    for e in reversed(ctx.exchanges):
        if e.verb in DATA_COMMANDS and e.code is not None and e.code[0] != "1":
            outcome = "done" if e.code[0] == "2" else "failed"
            lines.append(f"transfer: {e.command} {outcome} ({e.code})")
            break
    return lines


def server_of_greeting(text: str) -> str | None:
    """The triage's `server` answer for an FTP greeting that names its software (`220 (vsFTPd 3.0.3)`)."""
    m = _FTP_SERVER_NAME.search(text)
    return _FTP_SERVER_IDS[m.lastindex or 0] if m else None


def server_software(fmt: str, ctx: LogContext, head: str) -> str | None:
    """The server's software when the log format or the server's greeting names it."""
    if fmt in _SERVER_OF_FORMAT:
        return _SERVER_OF_FORMAT[fmt]
    greeting = next((e for e in ctx.exchanges if e.command is None and e.code == "220"), None)
    if greeting is not None:
        return server_of_greeting(greeting.text)
    return "openssh" if "OpenSSH_" in head and _OPENSSH_SERVER.search(head) else None


def triage_prefill(
    fmt: str, ctx: LogContext, protocol: str | None, failure: Failure | None, head: str = ""
) -> dict[str, str]:
    answers: dict[str, str] = {}
    if protocol == "sftp":
        answers["protocol"] = "sftp"
    elif protocol in ("ftp", "ftps"):
        mode = tls_mode(ctx)
        answers["protocol"] = {"explicit": "ftps-explicit", "implicit": "ftps-implicit"}.get(mode or "", "ftp")
    mode = data_mode(ctx)
    if mode:
        answers["mode"] = mode
    if failure is not None:
        stage = _TRIAGE_STAGE.get(failure.stage)
        if failure.stage == "data-connection":
            stage = _data_operation(ctx, failure)
        if stage:
            answers["stage"] = stage
    client = _CLIENT_OF_FORMAT.get(fmt)
    if client:
        answers["client"] = client
    server = server_software(fmt, ctx, head)
    if server:
        answers["server"] = server
    return answers


def _data_operation(ctx: LogContext, failure: Failure) -> str | None:
    """What the failed data connection was for: the data command around the failure."""
    for e in ctx.exchanges:
        if e.line < failure.line - 10:
            continue
        stage = _DATA_VERB_STAGE.get(e.verb or "")
        if stage:
            return stage
        if e.line > failure.line + 10:
            break
    return None
