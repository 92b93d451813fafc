"""The rules: from exchanges and signals to the first failing step and to findings that name the cause."""

from __future__ import annotations

import re

from knowledge.logscan.context import DATA_COMMANDS, DATA_SETUP, OPTIONAL, LogContext, unreachable_from
from knowledge.logscan.model import Failure, Finding, Signal
from knowledge.logscan.signals import ERROR_KINDS

_PASV = re.compile(r"(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3})")
_EPRT = re.compile(r"\|[12]\|([0-9A-Fa-f.:]+)\|(\d+)\|")
TLS_WORDING = re.compile(r"(?i)\b(?:TLS|SSL|FTPS|encrypt\w*|secure\w*|AUTH)\b")
_FTP_REPLY_START = re.compile(r"\d{3}[ -]")
_NOT_FOUND_VERBS = frozenset(
    "RETR STOR STOU APPE CWD XCWD LIST NLST MLSD MLST SIZE MDTM DELE MKD XMKD RMD XRMD RNFR RNTO".split()
)
_UPLOAD_VERBS = frozenset("STOR STOU APPE MKD XMKD DELE RMD XRMD RNFR RNTO".split())
_BANNER_VERSION_LINES = (
    "version string",
    "Remote version",
    "We claim",
    "Local version",
    "remote software",
    "Server version",
)
_CURL_ENTRY_OF_KIND = {"refused": "7", "timeout": "28", "host-not-found": "6", "tls-handshake": "35", "tls-cert": "60"}
MAX_EVIDENCE = 6


def _short(text: str, limit: int = 120) -> str:
    text = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decode_pasv(text: str) -> tuple[str, int] | None:
    m = _PASV.search(text)
    if not m:
        return None
    parts = [int(g) for g in m.groups()]
    if any(p > 255 for p in parts):
        return None
    return ".".join(map(str, parts[:4])), parts[4] * 256 + parts[5]


def decode_length(number: int) -> str | None:
    """The four bytes of a bogus packet length as text, when they are printable ASCII."""
    if not 0 <= number < 2**32:
        return None
    raw = number.to_bytes(4, "big")
    if all(32 <= b < 127 for b in raw):
        return raw.decode("ascii")
    return None


class _Collector:
    def __init__(self) -> None:
        self.by_id: dict[str, tuple[int, Finding]] = {}

    def add(self, priority: int, fid: str, summary: str, lines: list[int], entry: str | None) -> None:
        known = self.by_id.get(fid)
        if known is None:
            self.by_id[fid] = (priority, Finding(fid, summary, sorted(set(lines))[:MAX_EVIDENCE], entry))
            return
        finding = known[1]
        finding.evidence_lines = sorted(set(finding.evidence_lines) | set(lines))[:MAX_EVIDENCE]

    def ordered(self, failure: Failure | None) -> list[Finding]:
        def rank(item: tuple[int, Finding]) -> tuple[int, int, int]:
            priority, finding = item
            explains = failure is not None and failure.line in finding.evidence_lines
            return (0 if explains else 1, priority, finding.evidence_lines[0] if finding.evidence_lines else 0)

        return [finding for _, finding in sorted(self.by_id.values(), key=rank)]


class Analysis:
    """Runs every rule once over the exchanges and signals."""

    def __init__(self, ctx: LogContext, protocol: str | None) -> None:
        self.ctx = ctx
        self.protocol = protocol
        self.found = _Collector()
        self.curl_exits = {s.value: s for s in ctx.signals if s.kind == "curl-exit"}

    # --- the first failing step -------------------------------------------------------------------------
    def failure(self) -> Failure | None:
        ctx = self.ctx
        primary: list[Failure] = []
        secondary: list[Failure] = []
        for i, e in enumerate(ctx.exchanges):
            code = e.code
            if code is None:
                if e.text.startswith("SSH-"):
                    primary.append(Failure(e.line, e.command, None, e.text, "connect"))
                continue
            if code[0] not in "45":
                continue
            v = e.verb
            stage = ctx.stage_of_exchange(e)
            failure = Failure(e.line, e.command, code, e.text, stage)
            if v is None and code == "421" and stage == "disconnect":
                secondary.append(failure)
            elif v in OPTIONAL or (v in ("CWD", "XCWD") and self._next_verb(i) in ("MKD", "XMKD")):
                nxt = ctx.next_in_session(i)
                if nxt is None or nxt.verb in (None, "QUIT"):
                    primary.append(failure)
            else:
                primary.append(failure)
            if primary:
                break  # exchanges are in line order: the first primary one is the earliest
        for s in ctx.signals:
            if s.kind not in ERROR_KINDS:
                continue
            if s.kind == "ssh-banner" and (self.protocol == "sftp" or any(w in s.text for w in _BANNER_VERSION_LINES)):
                continue
            if s.kind == "ssh-auth" and self.protocol != "sftp":
                continue
            stage = ctx.stage_of_signal(s)
            command = ctx.last_command(s.line) if stage != "connect" else None
            if stage == "tls":
                command = ctx.last_auth(s.line)
            primary.append(Failure(s.line, command.command if command else None, None, s.text, stage))
            break
        pool = primary or secondary
        return min(pool, key=lambda f: f.line) if pool else None

    def _next_verb(self, index: int) -> str | None:
        nxt = self.ctx.next_in_session(index)
        return nxt.verb if nxt else None

    # --- findings ----------------------------------------------------------------------------------------
    def findings(self, failure: Failure | None) -> list[Finding]:
        self._wrong_protocol()
        self._replies()
        self._data_channel()
        self._client_errors()
        by_id = self.found.by_id
        if "wrong-protocol-ftp-banner" in by_id or "wrong-protocol-ssh-banner" in by_id:
            for consequence in ("ssh-no-banner", "connect-timeout", "connection-lost"):
                by_id.pop(consequence, None)
        if "ssh-no-banner" in by_id:
            by_id.pop("connect-timeout", None)
        return self.found.ordered(failure)

    def _port_text(self) -> str:
        host = self.ctx.control_host
        return f" {host[0]}:{host[1]}" if host and host[1] else f" {host[0]}" if host else ""

    def _wrong_protocol(self) -> None:
        add = self.found.add
        if self.protocol != "sftp":
            for e in self.ctx.exchanges:
                if e.code is None and e.text.startswith("SSH-"):
                    self._ssh_banner(e.line, e.text)
            for s in self.ctx.signals:
                if s.kind == "ssh-banner" and not any(w in s.text for w in _BANNER_VERSION_LINES):
                    self._ssh_banner(s.line, s.value or s.text)
        for s in self.ctx.signals:
            if s.kind == "ftp-banner" and _FTP_REPLY_START.match(s.value):
                add(10, "wrong-protocol-ftp-banner",
                    f"The SSH client read an FTP greeting ('{_short(s.value, 60)}') where the SSH banner should be: "
                    f"the server at{self._port_text()} speaks FTP, not SSH/SFTP. Use an FTP or FTPS client, or the "
                    "server's SSH port (usually 22).", [s.line], None)  # fmt: skip
            elif s.kind == "ftp-banner" or s.kind == "ssh-no-banner":
                add(30, "ssh-no-banner",
                    f"The connection opened but no SSH banner came ('{_short(s.text, 80)}'): the port may run "
                    "another service (an FTP server, a proxy), or sshd dropped the connection (MaxStartups, "
                    "TCP wrappers, fail2ban, a firewall).", [s.line], None)  # fmt: skip
            elif s.kind == "packet-length" and s.value.isdigit():
                self._packet_length(s, int(s.value))

    def _ssh_banner(self, line: int, banner: str) -> None:
        self.found.add(10, "wrong-protocol-ssh-banner",
            f"The server greeted with an SSH banner ({_short(banner, 60)}), not an FTP 220 reply: "
            f"the port{self._port_text()} runs SSH/SFTP. Connect with SFTP (usually port 22), or point the "
            "FTP client at the FTP port (usually 21).", [line], None)  # fmt: skip

    def _packet_length(self, s: Signal, number: int) -> None:
        text = decode_length(number)
        if text is not None and _FTP_REPLY_START.match(text + " "):
            self.found.add(10, "wrong-protocol-ftp-banner",
                f"{number} is not a packet length: its four bytes are 0x{number:08X}, the ASCII text '{text}', "
                "the start of an FTP reply. The SSH/SFTP client is talking to an FTP server; use an FTP client or "
                "the SSH port.", [s.line], None)  # fmt: skip
        elif text is not None:
            self.found.add(12, "sftp-shell-output",
                f"{number} is not a packet length: its four bytes are 0x{number:08X}, the ASCII text '{text}'. "
                "The server printed text where the SFTP protocol should start (a message such as 'This account "
                "is currently not available' or 'This service allows sftp connections only', or output from a "
                "login script like .bashrc). Make the account's shell start-up silent for non-interactive "
                "sessions, or serve SFTP with sshd's internal-sftp subsystem.", [s.line], None)  # fmt: skip
        else:
            self.found.add(
                12,
                "sftp-bad-packet",
                f"The client read a packet length of {number} bytes, far beyond any real SFTP packet: something "
                "other than the SFTP server wrote into the channel, or the connection is corrupted.",
                [s.line],
                None,
            )

    def _replies(self) -> None:
        add = self.found.add
        ctx = self.ctx
        user = None
        for i, e in enumerate(ctx.exchanges):
            v = e.verb
            if v == "USER" and e.command:
                user = e.command.split(None, 1)[1] if " " in e.command else None
            code = e.code
            if code is None or code[0] not in "45":
                continue
            reply = _short(e.text, 90)
            entry = f"ftp-{code}"
            tls_words = bool(TLS_WORDING.search(e.text)) and v != "AUTH"
            if (
                code == "421"
                and v in (None, "USER", "PASS")
                and (ctx.first_in_session(e) or re.search(r"(?i)too many|connections|limit", e.text))
            ):
                add(20, "too-many-connections",
                    f"The server turned the session away with 421 ('{reply}'): too many connections (from your "
                    "address or in total), or the service is shutting down. Close other sessions, lower the "
                    "client's simultaneous transfers, or raise the server's limit.", [e.line], entry)  # fmt: skip
                continue
            if code == "421":
                add(60, "server-disconnected",
                    f"The server closed the control connection with 421 ('{reply}'), typically after an idle "
                    "timeout or when it shuts down.", [e.line], entry)  # fmt: skip
            elif v == "AUTH":
                went_on = self._went_on_after_auth(i)
                add(40 if went_on else 15, "tls-refused",
                    f"The server refused {e.command} with {code} ('{reply}'): it offers no FTPS on this port. "
                    + ("The client carried on without encryption."
                       if went_on else "The client insists on TLS and gave up.")
                    + " Enable TLS on the server, or stop requiring it in the client if plain FTP is acceptable.",
                    [e.line], entry)  # fmt: skip
            elif v == "PROT":
                add(25, "prot-refused",
                    f"The server refused {e.command} with {code} ('{reply}'): it will not encrypt the data "
                    "connection. Allow protected data channels on the server, or let the client use PROT C "
                    "if clear data transfers are acceptable.", [e.line], entry)  # fmt: skip
            elif code in ("530", "534", "550", "521", "533") and tls_words and v not in _NOT_FOUND_VERBS:
                add(12, "tls-required",
                    f"The server requires FTPS: it refused {e.command or 'the session'} with {code} ('{reply}') "
                    "because the connection is not encrypted. Switch the client to FTP over explicit TLS "
                    "(FileZilla: 'Require explicit FTP over TLS'; WinSCP: TLS/SSL Explicit encryption; curl: "
                    "--ssl-reqd; lftp: set ftp:ssl-force true).", [e.line], entry)  # fmt: skip
            elif code == "522" and v != "EPRT":
                hint = ("the server wants the data connection to reuse the control connection's TLS session "
                        "(vsftpd require_ssl_reuse); update the client or relax that setting"
                        if "reuse" in e.text else
                        "the TLS handshake on the data connection failed")  # fmt: skip
                add(
                    16,
                    "tls-handshake",
                    f"The server answered {e.command or 'the transfer'} with 522 ('{reply}'): {hint}.",
                    [e.line],
                    entry,
                )
            elif code in ("530", "430") and v in ("USER", "PASS", "ACCT", None):
                who = f" for user '{user}'" if user else ""
                add(14, "login-failed",
                    f"The server rejected the login{who} with {code} ('{reply}'): wrong user name or password, or "
                    "the account may not use FTP (disabled, locked, not in the allowed users, bad home "
                    "directory).", [e.line], entry)  # fmt: skip
            elif code in ("550", "553", "450", "551", "552") and v in _NOT_FOUND_VERBS:
                what = (
                    "the account may not write there, or the disk/quota is full"
                    if v in _UPLOAD_VERBS
                    else "the account lacks permission to read it"
                )
                extra = " curl sends SIZE before downloading, so a missing file fails here." if v == "SIZE" else ""
                add(18, "not-found-or-denied",
                    f"The server refused {e.command} with {code} ('{reply}'): the file or directory does not exist "
                    f"(paths are case-sensitive on most servers), or {what}.{extra}", [e.line], entry)  # fmt: skip

    def _went_on_after_auth(self, index: int) -> bool:
        """Did the client keep going (without TLS) after AUTH was refused at exchanges[index]?"""
        for nxt in self.ctx.exchanges[index + 1 : index + 6]:
            if nxt.verb == "AUTH":
                continue
            return nxt.verb not in (None, "QUIT")
        return False

    def _echoes_reply(self, s: Signal) -> bool:
        """A client message that only repeats the server's refusal just before it."""
        before = self.ctx.exchange_before(s.line)
        return before is not None and before.code is not None and before.code[0] in "45" and s.line - before.line <= 6

    def _data_channel(self) -> None:
        ctx = self.ctx
        explained: set[int] = set()
        for i, e in enumerate(ctx.exchanges):
            v = e.verb
            if e.code != "227" and v not in ("PORT", "EPRT"):
                continue
            host = ctx.host_at(e.line)
            control_ip = host[0] if host else None
            if e.code == "227":
                decoded = decode_pasv(e.text)
                if decoded is None or not unreachable_from(decoded[0], control_ip or e.session):
                    continue
                ip, port = decoded
                failed = self._data_failure_after(i)
                hints = [s.line for s in ctx.signals_between(e.line - 1, e.line + 3) if s.kind == "unroutable"]
                lines = [e.line, *hints] + ([failed] if failed else [])
                if failed:
                    explained.add(failed)
                then = f", and the data connection then failed (line {failed})" if failed else ""
                self.found.add(8 if failed else 35, "passive-private-address",
                    f"The server announced {ip}:{port}, a private address, in its passive-mode reply (227){then}. "
                    "A client outside the server's network cannot reach it. On the server, set the public "
                    "address for passive mode (vsftpd pasv_address, ProFTPD MasqueradeAddress, FileZilla Server "
                    "'Use the following IP', IIS 'External IP Address of Firewall') and open or forward the "
                    "passive port range.", lines, "ftp-425" if failed else "ftp-227")  # fmt: skip
            elif v in ("PORT", "EPRT") and e.code is not None:
                failed = e.line if e.code == "425" else self._data_failure_after(i) if e.code[0] == "2" else None
                if not failed:
                    continue
                explained.add(failed)
                target = self._port_target(e.command or "")
                private = (
                    " (a private address: the server cannot reach it through NAT)"
                    if target and unreachable_from(target.rsplit(":", 1)[0], control_ip or e.session)
                    else ""
                )
                self.found.add(9, "active-mode-blocked",
                    f"Active mode: the client asked the server to connect back to {target or 'it'}{private} with "
                    f"{v}, and that data connection failed (line {failed}). A firewall or NAT in front of the "
                    "client blocks incoming connections. Switch the client to passive mode, or open the client's "
                    "active-mode port range.", [e.line, failed], "ftp-425")  # fmt: skip
        for e in ctx.exchanges:
            if e.code in ("425", "426") and e.line not in explained:
                self.found.add(22, "data-connection-failed",
                    f"The data connection failed: {e.command or 'the server'} got {e.code} ('{_short(e.text, 90)}'). "
                    "A firewall between client and server blocks the data port (passive port range on the server "
                    "side, or the client's ports in active mode), or the connection dropped mid-transfer.",
                    [e.line], f"ftp-{e.code}")  # fmt: skip
        for s in ctx.signals:
            stalled = s.kind in ("refused", "timeout", "reset") and s.line not in explained
            if stalled and ctx.stage_of_signal(s) == "data-connection":
                self.found.add(22, "data-connection-failed",
                    f"The client could not open the data connection ('{_short(s.text, 90)}'): the server's "
                    "firewall does not let the passive port range through, or the client's firewall blocks it.",
                    [s.line], self._entry_for_signal(s))  # fmt: skip
                explained.add(s.line)
        self._explained = explained

    @staticmethod
    def _port_target(command: str) -> str | None:
        decoded = decode_pasv(command)
        if decoded:
            return f"{decoded[0]}:{decoded[1]}"
        m = _EPRT.search(command)
        return f"{m.group(1)}:{m.group(2)}" if m else None

    def _data_failure_after(self, index: int) -> int | None:
        """The line where the data connection set up at exchanges[index] failed, if it did."""
        ctx = self.ctx
        start = ctx.exchanges[index]
        end_line = None
        for nxt in ctx.exchanges[index + 1 : index + 8]:
            if nxt.session != start.session:
                continue
            if nxt.code in ("425", "426"):
                end_line = nxt.line
                break
            if nxt.code is None and nxt.verb in DATA_COMMANDS:  # no reply: the client's own error says why
                return self._signal_between(start.line, nxt.line + 6) or nxt.line
            if nxt.verb in DATA_COMMANDS and nxt.code and nxt.code[0] in "12":
                end_line = nxt.line if nxt.code[0] == "2" else None
                return self._signal_between(start.line, nxt.line)
            if nxt.verb in DATA_SETUP:
                break
        signal_line = self._signal_between(start.line, end_line or start.line + 12)
        if signal_line and (end_line is None or signal_line < end_line):
            return signal_line
        return end_line

    def _signal_between(self, first: int, last: int) -> int | None:
        for s in self.ctx.signals_between(first, last):
            if s.kind in ("refused", "timeout", "reset", "client-error"):
                return s.line
        return None

    def _entry_for_signal(self, s: Signal) -> str | None:
        if s.value.startswith("winsock-"):
            return s.value
        code = _CURL_ENTRY_OF_KIND.get(s.kind)
        if code and code in self.curl_exits:
            return f"curl-{code}"
        return None

    def _client_errors(self) -> None:
        add = self.found.add
        ctx = self.ctx
        explained = getattr(self, "_explained", set())
        for s in ctx.signals:
            kind = s.kind
            if kind not in ERROR_KINDS or s.line in explained or self._echoes_reply(s):
                continue
            text = _short(s.text, 100)
            entry = self._entry_for_signal(s)
            stage = ctx.stage_of_signal(s) if kind in ERROR_KINDS else ""
            where = self._port_text()
            if kind == "refused" and stage == "connect":
                add(
                    11,
                    "connect-refused",
                    f"Nothing accepted the connection{' to' + where if where else ''} ('{text}'): the server is "
                    "not running, listens on another port, or a firewall rejects the connection.",
                    [s.line],
                    entry,
                )
            elif kind == "timeout" and stage == "connect":
                add(
                    11,
                    "connect-timeout",
                    f"The connection{' to' + where if where else ''} timed out ('{text}'): a firewall drops the "
                    "packets, the address or port is wrong, or the server is down.",
                    [s.line],
                    entry,
                )
            elif kind == "host-not-found":
                add(11, "host-not-found",
                    f"The server's name could not be resolved ('{text}'): check the host name's spelling and the "
                    "DNS settings of the client.", [s.line], entry)  # fmt: skip
            elif kind in ("timeout", "reset") and stage not in ("connect", "data-connection"):
                add(45, "connection-lost",
                    f"The connection dropped during {stage} ('{text}'): a firewall or NAT timed out the idle "
                    "control connection, or the server closed it.", [s.line], entry)  # fmt: skip
            elif kind == "tls-cert":
                add(13, "tls-certificate",
                    f"The client does not trust the server's certificate ('{text}'): it is self-signed, expired, or "
                    "issued for another name. Fix the certificate on the server, or trust it explicitly in the "
                    "client.", [s.line], entry)  # fmt: skip
            elif kind == "tls-handshake":
                if "wrong version number" in s.text or "packet length too long" in s.text:
                    why = (
                        "the server answered in plain text: implicit FTPS (ftps://, port 990) was used against "
                        "a plain or explicit-FTPS port. Use explicit FTPS (AUTH TLS on port 21), or the "
                        "server's implicit-FTPS port"
                    )
                else:
                    why = (
                        "client and server share no TLS version or cipher, or something in between (a proxy, "
                        "an antivirus, a load balancer) interferes"
                    )
                add(16, "tls-handshake", f"The TLS handshake failed ('{text}'): {why}.", [s.line], entry)
            elif kind == "ssh-auth" and self.protocol == "sftp":
                add(14, "login-failed",
                    f"The SSH server refused the login ('{text}'): wrong password, a key it does not accept, or the "
                    "account may not log in.", [s.line], entry)  # fmt: skip
            elif kind == "sftp-status" and s.value in ("2", "3"):
                add(18, "not-found-or-denied",
                    f"The SFTP server answered '{text}': the file or directory does not exist, or the account lacks "
                    "permission for it.", [s.line], f"sftp-{s.value}")  # fmt: skip
            elif kind == "client-error" and "Login failed" in s.text and "(Login failed)" in s.text:
                add(14, "login-failed",
                    f"The server logged a failed login ('{text}'): wrong user name or password, or the account "
                    "may not use FTP.", [s.line], None)  # fmt: skip


def collect_codes(analysis: Analysis, failure: Failure | None, findings: list[Finding]) -> list[str]:
    """Entry ids worth explaining, most relevant first."""
    ctx = analysis.ctx
    codes: list[str] = []

    def add(code: str | None) -> None:
        if code and code not in codes:
            codes.append(code)

    for finding in findings:
        if failure is not None and failure.line in finding.evidence_lines:
            add(finding.entry_id)
    if failure is not None and failure.code:
        add(f"ftp-{failure.code}")
    for s in ctx.signals:
        if s.kind == "curl-exit" and s.value.isdigit():
            add(f"curl-{s.value}")
    for finding in findings:
        add(finding.entry_id)
    for s in ctx.signals:
        if s.value.startswith("winsock-"):
            add(s.value)
        elif s.kind == "sftp-status" and s.value.isdigit():
            add(f"sftp-{s.value}")
    for e in ctx.exchanges:
        if e.code and e.code[0] in "45" and e.verb not in OPTIONAL:
            add(f"ftp-{e.code}")
    return codes
