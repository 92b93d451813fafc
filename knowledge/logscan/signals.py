"""Classifies client and server messages (the NOTE events) into signals: what went wrong, or how the
connection was being set up. One combined pattern per note; where two could match, the leftmost wins, and
among alternatives at the same spot the order below (most specific first)."""

from __future__ import annotations

import re

from knowledge.logscan.context import OPERATION
from knowledge.logscan.events import NOTE, Event
from knowledge.logscan.model import Signal

# Kinds that mean something failed (the rest are set-up markers or hints).
ERROR_KINDS = frozenset(
    (
        "curl-exit", "ssh-banner", "ftp-banner", "packet-length", "ssh-no-banner", "ssh-auth", "tls-cert",
        "tls-handshake", "host-not-found", "refused", "timeout", "reset", "sftp-status", "winsock", "client-error",
        "tls-shutdown", "tls-session-reuse", "chroot-ownership", "key-file-modes", "auth-failed", "no-route",
        "empty-path", "sftp-setstat", "local-file", "key-file", "invalid-shell", "sftp-subsystem",
    )
)  # fmt: skip

_PATTERNS = (
    ("curl_exit", r"^curl: \((\d+)\)"),
    ("tls_session_reuse", r"did not reuse (?:the )?(?:SSL|TLS) session|[Ss]ession (?:of data connection |for the data "
                          r"connection\s)?(?:was )?not resumed|not resumed from the control connection|"
                          r"SSL session reuse required"),
    ("chroot_ownership", r"bad ownership or modes for chroot directory"),
    # the client could not use its private key file (PuTTY/WinSCP/FileZilla, OpenSSH)
    ("key_file", r"Unable to (?:load|use) key file|(?:PuTTY )?key format too new|is not a (?:valid )?PuTTY private key|"
                 r"[Ll]oad key \"[^\"]*\": invalid format|Couldn't load private key"),
    # the server refused the account because its shell is not in /etc/shells (ProFTPD RequireValidShell)
    ("invalid_shell", r"Invalid shell:? "),
    # logged in, but the program sshd started for the session (the SFTP subsystem, a shell) ended at once (WinSCP)
    ("sftp_subsystem", r"Server sent command exit status ([1-9]\d*)|Cannot initialize SFTP protocol"),
    ("key_file_modes", r"Authentication refused: bad ownership or modes|bad permissions: ignore key|"
                       r"UNPROTECTED PRIVATE KEY FILE"),
    ("sftp_setstat", r"does not support operations to modify file attributes|error occurred while setting the "
                     r"permissions and/or timestamp|SSH_FXP_SETSTAT"),
    ("empty_path", r"[Ss]erver returned empty path"),
    ("local_file", r"Can't read [“\"']|Can't open [“\"'][A-Za-z]:|[Cc]annot (?:read|open) (?:the )?local file|"
                   r"[Ff]ailed to open (?:local )?file [“\"'][^\n]*for (?:reading|writing)|"
                   r"local file[^\n]*(?:not found|denied)"),
    ("auth_failed", r"Authentication failed for user|Login authentication failed|FAIL LOGIN|"
                    r"Failed (?:password|publickey|keyboard-interactive\S*) for|Error during authentication|"
                    r"Authentications? that can continue"),
    ("no_route", r"No route to host|[Nn]etwork is unreachable|EHOSTUNREACH|ENETUNREACH|[Hh]ost is unreachable"),
    ("winsock", r"(?:WSAE[A-Z]+|[Ss]ocket [Ee]rror|[Ww]insock(?: [Ee]rror)?|win32 status)\D{0,6}(1[01]0\d\d)\b"),
    ("ftp_banner", r"kex_exchange_identification: banner line \d+: ?([^\n]*)"),
    ("packet_length", r"(?:Bad packet length|Received message too long) (\d+)|"
                      r"Received too large \((\d+) B\) SFTP packet"),
    ("ssh_no_banner", r"kex_exchange_identification|Connection timed out during banner exchange|"
                      r"ssh_exchange_identification|Server unexpectedly closed network connection"),
    ("ssh_banner", r"(?<![\w-])(SSH-(?:2\.0|1\.99|1\.5)-[^\s'\"]*)"),
    ("ssh_auth", r"Permission denied \((?:publickey|password|keyboard|gssapi|hostbased)[^)]*\)|"
                 r"Too many authentication failures|Host key verification failed|No supported authentication"),
    ("unroutable", r"unroutable address|non-routable address"),
    ("tls_established", r"TLS connection established|SSL connection using|TLS/SSL connection established|"
                        r"TLS negotiation successful|Session resumed"),
    ("tls_cert", r"SSL certificate problem|certificate verify failed|Certificate verification:|"
                 r"[Cc]ertificate (?:is )?(?:not trusted|has expired|expired|rejected)|unknown CA|"
                 r"self[- ]signed certificate|SEC_E_UNTRUSTED_ROOT|CERT_E_\w+"),
    ("tls_handshake", r"SSL connect error|wrong version number|GnuTLS error|TLS alert|[Hh]andshake (?:failure|failed)|"
                      r"unable to accept TLS|SSL routines|SSL_ERROR|tlsv1 alert|sslv3 alert|Could not establish TLS|"
                      r"SSLError|SEC_E_\w+|schannel: [^\n]*fail|TLS/TLS-C negotiation failed|packet length too long|"
                      r"unexpected TLS packet|An unexpected TLS packet"),
    ("host_not_found", r"Could not resolve|Couldn't resolve|EAI_\w+|Name or service not known|nodename nor servname|"
                       r"No such host is known|Temporary failure in name resolution|[Hh]ost not found|gaierror|"
                       r"getaddrinfo failed|Unknown host"),
    ("refused", r"[Cc]onnection refused|[Cc]onnessione rifiutata|ECONNREFUSED|actively refused|"
                r"[Cc]onnection to \"[^\"]*\" refused"),
    ("timeout", r"[Tt]imed out|ETIMEDOUT|Timeout detected|[Cc]onnection timeout|timeout was reached|"
                # translated FileZilla builds: zh, zh_TW, de, fr, es, pt, ru
                r"连接超时|連線逾時|Zeitüberschreitung|[Dd]élai d'attente|[Tt]iempo de espera agotado|"
                r"[Tt]empo (?:limite|esgotado)|[Вв]ремя ожидания|[Тт]аймаут|"
                r"Accept timeout|TimeoutError|[Dd]ata transfer stall timeout|[Ii]dle timeout"),
    ("reset", r"[Cc]onnection reset|ECONNRESET|[Bb]roken pipe|Peer closed connection|closed by (?:remote host|peer)|"
              r"[Cc]onnection closed by server|ECONNABORTED|[Ss]oftware caused connection abort"),
    # (a WinSCP dialog's first line alone: "Permission denied." / "No such file or directory.")
    ("sftp_status", r"Error code: (\d+)|^(Permission denied|No such file)(?: or directory)?\.$|"
                    r"\b[Ee]rror: (Permission denied|No such file)|"
                    r"remote \w+\(\"[^\"]*\"\): (No such file|Permission denied|Failure)|"
                    r"Couldn't \w+ (?:remote )?file: (No such file|Permission denied)|File \"[^\"]+\" not found|"
                    # FileZilla's SFTP helper: "/d/a.csv: open for write: permission denied"
                    r": (?:open for (?:write|read)|mkdir|remove|rename|rmdir|setstat): "
                    r"([Pp]ermission denied|[Nn]o such file|[Ff]ailure)"),
    ("data_connecting", r"Connecting data socket|Connect data stream|DataChannelOpened"),
    ("connecting", r"Connecting to|Trying |Connected to|Connected with|Connection established|Looking up host|"
                   r"Resolving address|ControlChannelOpened|^CONNECT: Client|FTP session opened"),
    ("client_error", r"Could not connect to server|fatal transfer error|Can't parse response|"
                     # FileZilla's "Critical error" in its translations (zh, zh_TW, de, fr, es, it, pt, ru)
                     r"严重错误|嚴重錯誤|无法连接到服务器|Kritischer Fehler|Erreur critique|Error crítico|"
                     r"Errore critico|Erro crítico|Критическая ошибка|"
                     r"Failed to (?:connect|retrieve|establish|open)|"
                     r"Critical (?:file transfer )?error|"
                     r"Fatal error|Transfer failed|Could not retrieve|Could not read from socket|Network error|"
                     r"FATAL ERROR|Connection closed|Login failed|Access failed|EOFError|Not connected|"
                     r"Maximum login attempts|Refused PORT|Passive data transfer failed|no such user"),
)  # fmt: skip
_COMBINED = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS))
_GROUP_KIND = {name: name.replace("_", "-") for name, _ in _PATTERNS}
_WINSOCK = re.compile(dict(_PATTERNS)["winsock"])
_WINSOCK_KIND = {"10061": "refused", "10060": "timeout", "11001": "host-not-found", "11004": "host-not-found",
                 "10054": "reset", "10053": "reset"}  # fmt: skip
_TLS_SHUTDOWN = re.compile(
    r"non-properly terminated|did not properly shut down|unexpected TLS packet|"
    r"TLS packet with unexpected length"
)
_CERT_NAME = re.compile(r"does(?:n't| not) match|subjectAltName|common name|[Hh]ost ?name mismatch|hostname")
_CERT_ALERT = re.compile(r"unknown CA|bad certificate|certificate (?:unknown|expired|revoked)")
_SFTP_TEXT_STATUS = {"No such file": "2", "Permission denied": "3", "Failure": "4", "no such file": "2",
                     "permission denied": "3", "failure": "4"}  # fmt: skip


def _value(kind: str, m: re.Match[str]) -> str:
    """The detail a finding needs: the curl exit code, the Winsock number, the banner, the length."""
    groups = [g for g in m.groups()[m.lastindex or 0 :] if g] if m.lastindex else []
    if kind == "sftp-status":
        for g in groups:
            if g.isdigit():
                return g
            if g in _SFTP_TEXT_STATUS:
                return _SFTP_TEXT_STATUS[g]
        return "2"  # 'File "x" not found'
    return groups[0] if groups else ""


# Most messages in a long log are routine; an anchored match settles them without the big search.
_ROUTINE_CONNECT = re.compile(r"(?:Trying |Connected to |Connecting to |Connected with )[^\n]*\.{0,3}(?: \(#\d+\))?$")
_ROUTINE_OTHER = re.compile(r"Connect data stream|TLS connection established|SSL connection using")


def classify(text: str) -> tuple[str, str] | None:
    """Returns (kind, value) for one message, or None when it says nothing useful."""
    if _ROUTINE_CONNECT.match(text) and "refused" not in text and "fail" not in text:
        return "connecting", ""
    if text == "Disconnected from server":
        return "disconnected", ""  # the client closed the session itself
    routine = _ROUTINE_OTHER.match(text)
    if routine:
        return ("data-connecting" if text[0] == "C" else "tls-established"), ""
    m = _COMBINED.search(text)
    if m is None:
        return None
    group = m.lastgroup or ""
    if group == "client_error":  # "Fatal error: Certificate verification: ...": the specific part says more
        specific = _COMBINED.search(text, m.end())
        if specific is not None and specific.lastgroup not in ("client_error", "connecting", "data_connecting"):
            m, group = specific, specific.lastgroup or ""
    kind = _GROUP_KIND[group]
    value = _value(kind, m)
    if kind == "tls-cert" and ("continuing anyway" in text or text.startswith("WARNING")):
        return None
    if kind == "tls-handshake":
        if "close notify" in text:
            return None
        if _TLS_SHUTDOWN.search(text):
            kind = "tls-shutdown"  # the connection ended without close_notify: not a handshake problem
        elif _CERT_ALERT.search(text):
            kind = "tls-cert"  # a TLS alert that is about the certificate
    if kind == "tls-cert" and _CERT_NAME.search(text):
        value = "name"
    if kind == "winsock":
        kind = _WINSOCK_KIND.get(value, "client-error")
        value = f"winsock-{value}"
    elif kind in ERROR_KINDS:
        w = _WINSOCK.search(text)
        if w:
            value = value or f"winsock-{w.group(1)}"
    return kind, value


def find_signals(events: list[Event]) -> list[Signal]:
    signals: list[Signal] = []
    for line, kind, text, _session in events:
        if kind != NOTE:
            continue
        found = classify(text)
        if found is None:
            operation = OPERATION.search(text)  # a dialog line naming what failed: the stage of the error after it
            if operation is not None:
                signals.append(Signal(line, "operation", text, operation.lastgroup or ""))
            continue
        if found is not None:
            signals.append(Signal(line, found[0], text, found[1]))
            if found[0] == "curl-exit":  # "curl: (35) ... wrong version number": also what the text says
                detail = classify(text[text.find(")") + 1 :])
                if detail is not None and detail[0] in ERROR_KINDS:
                    signals.append(Signal(line, detail[0], text, detail[1]))
    return signals
