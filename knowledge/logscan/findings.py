"""The rules: from exchanges and signals to the first failing step and to findings that name the cause."""

from __future__ import annotations

import re

from knowledge.logscan.context import OPTIONAL, LogContext, unreachable_from
from knowledge.logscan.detect import WINDOWS_SSHD_PREFIX
from knowledge.logscan.ftp import DATA_COMMANDS, DATA_SETUP, TLS_WORDING, decode_eprt, decode_pasv
from knowledge.logscan.model import Exchange, Failure, Finding, Signal
from knowledge.logscan.signals import ERROR_KINDS
from knowledge.logscan.wording import say

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
# Server replies whose text says what is wrong, whatever the command (vsftpd's "500 OOPS: ...", limits).
_WRITABLE_CHROOT = re.compile(r"writable root inside chroot|writeable root inside chroot")
_NO_HOME = re.compile(r"(?i)OOPS: (?:cannot change directory|chdir)|home directory .*(?:not exist|missing)")
_OOPS = re.compile(r"\bOOPS: ")
_OOPS_LOG_FILE = re.compile(r"(?i)(?:failed to open|cannot open)[^\n]*log file|vsftpd_log_file|xferlog")
_SECCOMP = re.compile(r"priv_sock_get_cmd|PR_SET_SECCOMP|seccomp")
_SERVER_METHODS = re.compile(r"server sent: ([\w@.,-]+)|Authentications? that can continue: ([\w@.,-]+)")
_TOO_MANY = re.compile(r"(?i)too many|max(?:imum)? \d* ?(?:users|connections|clients)|try again later|limit")
_NOT_IMPLEMENTED = re.compile(r"(?i)not implemented|not understood|unknown command|unrecognized command|not supported")
_SESSION_REUSE = re.compile(r"(?i)resum|reuse")
_IPV6_ADDRESS = re.compile(
    r"\[[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\]|(?<![\w:])[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}"
)
# Win32-OpenSSH: its sshd.log line start, its version string, its configuration paths
_WINDOWS_SSH = re.compile(
    r"^" + WINDOWS_SSHD_PREFIX + r"|OpenSSH_for_Windows|__PROGRAMDATA__|ProgramData\\ssh|sshd\.exe", re.M | re.I
)
# The only positive reply some commands can get: another 2xx is an answer to something else.
_EXPECTED_REPLY = {
    "PASV": "227",
    "EPSV": "229",
    "PWD": "257",
    "XPWD": "257",
    "MKD": "257",
    "SIZE": "213",
    "MDTM": "213",
}
_DATA_STAGES = frozenset(("transfer", "data-connection", "listing", "upload", "download"))
_DOCKER_NETWORK = ("172.17.", "172.18.", "172.19.", "172.20.", "172.21.")
_CURL_ENTRY_OF_KIND = {"refused": "7", "timeout": "28", "host-not-found": "6", "tls-handshake": "35", "tls-cert": "60"}
MAX_EVIDENCE = 6


def _short(text: str, limit: int = 120) -> str:
    text = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_LINE_BREAKS = {9: "\\t", 10: "\\n", 13: "\\r"}


def decode_length(number: int) -> str | None:
    """The four bytes of a bogus packet length as text, when they are printable ASCII (a line break or tab
    before the text, as a shell's output starts, is shown as \\n, \\r, \\t)."""
    if not 0 <= number < 2**32:
        return None
    raw = number.to_bytes(4, "big")
    lead = 0
    while lead < 3 and raw[lead] in _LINE_BREAKS:
        lead += 1
    if all(32 <= b < 127 for b in raw[lead:]):
        return "".join(_LINE_BREAKS[b] for b in raw[:lead]) + raw[lead:].decode("ascii")
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
        merged = sorted(set(finding.evidence_lines) | set(lines))
        half = MAX_EVIDENCE // 2  # the first lines and the last: a repeated failure's latest occurrence stays
        finding.evidence_lines = merged if len(merged) <= MAX_EVIDENCE else merged[:half] + merged[-half:]

    def ordered(self, failure: Failure | None) -> list[Finding]:
        def rank(item: tuple[int, Finding]) -> tuple[int, int, int]:
            priority, finding = item
            explains = failure is not None and failure.line in finding.evidence_lines
            return (0 if explains else 1, priority, finding.evidence_lines[0] if finding.evidence_lines else 0)

        return [finding for _, finding in sorted(self.by_id.values(), key=rank)]


def _address_kind(ip: str) -> str:
    """Which part of findings.toml's passive-private-address names the address."""
    if ip == "0.0.0.0":
        return "unspecified"
    if ip.startswith("127."):
        return "loopback"
    if ip.startswith(_DOCKER_NETWORK):
        return "docker"
    return "private"


class Analysis:
    """Runs every rule once over the exchanges and signals."""

    def __init__(
        self,
        ctx: LogContext,
        protocol: str | None,
        ftps_url: bool = False,
        head: str = "",
        odd_password: bool = False,
        server_log: bool = False,
    ) -> None:
        self.ctx = ctx
        self.protocol = protocol
        self.ftps_url = ftps_url  # the log names an ftps:// address: the client asked for implicit FTPS
        self.windows_ssh = protocol == "sftp" and _WINDOWS_SSH.search(head) is not None
        self.odd_password = odd_password  # the password sent holds quotes, %-escapes or non-ASCII characters
        self.server_log = server_log  # a server's log: its sessions are other clients, not one client's retries
        self.found = _Collector()
        self.curl_exits = {s.value: s for s in ctx.signals if s.kind == "curl-exit"}

    # --- the first failing step -------------------------------------------------------------------------
    def failure(self) -> Failure | None:
        """The first failing step. A client's paste of several sessions (reconnects, retries, a second try) is
        judged by the last session that failed: what failed before it is context."""
        ctx = self.ctx
        # a server's log holds other clients' sessions: there the earliest failure counts
        every_session = len(ctx.starts) > 1 and not self.server_log
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
            if e.line in ctx.anonymous_probes:
                continue
            if v is None and code == "421" and stage == "disconnect":
                secondary.append(failure)
            elif v in OPTIONAL or (v in ("CWD", "XCWD") and self._next_verb(i) in ("MKD", "XMKD")):
                nxt = ctx.next_in_session(i)
                if nxt is None or nxt.verb in (None, "QUIT"):
                    primary.append(failure)
            else:
                primary.append(failure)
            if primary and not every_session:
                break  # exchanges are in line order: the first primary one is the earliest
        previous: Signal | None = None
        for s in ctx.signals:
            if s.kind not in ERROR_KINDS:
                previous = s
                continue
            if s.kind == "ssh-banner" and (self.protocol == "sftp" or any(w in s.text for w in _BANNER_VERSION_LINES)):
                continue
            if s.kind == "ssh-auth" and self.protocol != "sftp":
                continue
            if s.kind == "ssh-auth" and any(k.kind == "key-file" for k in ctx.signals_between(s.line, s.line + 3)):
                continue  # "No supported authentication methods" because the key file could not be loaded
            if s.kind == "reset" and previous is not None and previous.kind == "disconnected":
                continue  # FileZilla's own disconnect, then the server closing its side: the normal end
            stage = ctx.stage_of_signal(s)
            command = ctx.last_command(s.line) if stage != "connect" else None
            if stage == "tls" and s.kind in ("tls-cert", "tls-handshake"):
                command = ctx.last_auth(s.line)
            primary.append(Failure(s.line, command.command if command else None, None, s.text, stage))
            if not every_session:
                break
        pool = primary or secondary
        if every_session and pool:
            last = max(ctx.session_start(f.line) for f in pool)
            pool = [f for f in pool if ctx.session_start(f.line) == last]
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
        if "tls-session-reuse" in by_id:
            by_id.pop("data-connection-failed", None)  # the server said why the data connection was refused
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
                summary = say("wrong-protocol-ftp-banner", banner=_short(s.value, 60), where=self._port_text())
                add(10, "wrong-protocol-ftp-banner", summary, [s.line], None)
            elif s.kind == "ftp-banner" or s.kind == "ssh-no-banner":
                add(30, "ssh-no-banner", say("ssh-no-banner", text=_short(s.text, 80)), [s.line], None)
            elif s.kind == "packet-length" and s.value.isdigit():
                self._packet_length(s, int(s.value))

    def _ssh_banner(self, line: int, banner: str) -> None:
        summary = say("wrong-protocol-ssh-banner", banner=_short(banner, 60), where=self._port_text())
        self.found.add(10, "wrong-protocol-ssh-banner", summary, [line], None)

    def _packet_length(self, s: Signal, number: int) -> None:
        text = decode_length(number)
        values = {"number": number, "hex": f"0x{number:08X}", "ascii": text}
        if text is not None and _FTP_REPLY_START.match(text + " "):
            summary = say("wrong-protocol-ftp-banner", "packet_length", **values)
            self.found.add(10, "wrong-protocol-ftp-banner", summary, [s.line], None)
        elif text is not None:
            self.found.add(12, "sftp-shell-output", say("sftp-shell-output", **values), [s.line], None)
        else:
            self.found.add(12, "sftp-bad-packet", say("sftp-bad-packet", number=number), [s.line], None)

    def _replies(self) -> None:
        add = self.found.add
        ctx = self.ctx
        user = None
        for i, e in enumerate(ctx.exchanges):
            v = e.verb
            if v == "USER" and e.command:
                user = e.command.split(None, 1)[1] if " " in e.command else None
            code = e.code
            if code == "257" and v in ("PWD", "XPWD") and e.text.startswith('257 ""'):
                add(15, "home-directory-missing", say("home-directory-missing", evidence=f"'{_short(e.text, 60)}'"),
                    [e.line], None)  # fmt: skip
            if code and code[0] == "2" and _EXPECTED_REPLY.get(v or "", code) != code:
                summary = say("replies-out-of-step", verb=v, code=code, reply=_short(e.text, 90))
                add(12, "replies-out-of-step", summary, [e.line], f"ftp-{code}")
            if code is None or code[0] not in "45" or e.line in ctx.anonymous_probes:
                continue
            reply = _short(e.text, 90)
            entry = f"ftp-{code}"
            said = {"command": e.command or "the session", "code": code, "reply": reply}
            tls_words = bool(TLS_WORDING.search(e.text)) and v != "AUTH"
            if _WRITABLE_CHROOT.search(e.text):
                add(10, "vsftpd-writable-chroot", say("vsftpd-writable-chroot", reply=reply), [e.line], entry)
            elif _NO_HOME.search(e.text):
                add(10, "home-directory-missing", say("home-directory-missing", evidence=f"'{reply}'"), [e.line], entry)
            elif _OOPS.search(e.text) and _SECCOMP.search(e.text):
                add(10, "vsftpd-seccomp", say("vsftpd-seccomp", reply=reply), [e.line], entry)
            elif _OOPS.search(e.text):
                part = "log_file" if _OOPS_LOG_FILE.search(e.text) else "summary"
                add(12, "server-oops", say("server-oops", part, reply=reply), [e.line], entry)
            elif code in ("421", "530") and (
                (code == "421" and v in (None, "USER", "PASS") and ctx.first_in_session(e)) or _TOO_MANY.search(e.text)
            ):
                add(20, "too-many-connections", say("too-many-connections", code=code, reply=reply), [e.line], entry)
            elif code == "421":
                add(60, "server-disconnected", say("server-disconnected", reply=reply), [e.line], entry)
            elif v == "AUTH":
                went_on = self._went_on_after_auth(i)
                then = say("tls-refused", "went_on" if went_on else "gave_up")
                add(40 if went_on else 15, "tls-refused", say("tls-refused", **said, then=then), [e.line], entry)
            elif v == "PROT":
                add(25, "prot-refused", say("prot-refused", **said), [e.line], entry)
            elif code in ("425", "426", "450", "522", "534") and _SESSION_REUSE.search(e.text):
                add(9, "tls-session-reuse", say("tls-session-reuse", text=reply), [e.line], entry)
            elif code in ("530", "534", "550", "521", "533") and tls_words and v not in _NOT_FOUND_VERBS:
                add(12, "tls-required", say("tls-required", **said), [e.line], entry)
            elif code == "522" and v != "EPRT":
                said["command"] = e.command or "the transfer"
                add(16, "tls-handshake", say("tls-handshake", "data_522", **said), [e.line], entry)
            elif v == "EPSV" and code[0] == "5" and self._next_verb(i) != "PASV":
                summary = say("epsv-refused", command=e.command or "EPSV", code=code, reply=reply)
                add(16, "epsv-refused", summary, [e.line], entry)
            elif v == "PASV" and code[0] == "5":
                why = say("passive-refused", "ipv6" if self._over_ipv6(e) else "other")
                summary = say("passive-refused", command=e.command or "PASV", code=code, reply=reply, why=why)
                add(16, "passive-refused", summary, [e.line], entry)
            elif code in ("530", "430") and v in ("USER", "PASS", "ACCT", None):
                who = say("login-failed", "who", user=user) if user else ""
                extra = (
                    say("login-failed", "vsftpd_pam")
                    if self._vsftpd_login_incorrect(e)
                    else say("login-failed", "curl_url")
                    if "67" in self.curl_exits
                    else ""
                )
                summary = say("login-failed", who=who, code=code, reply=reply, extra=extra)
                add(14, "login-failed", summary, [e.line], entry)
                if self.odd_password:
                    add(13, "password-special-characters", say("password-special-characters"), [e.line], entry)
            elif code in ("500", "502", "504") and v and v not in OPTIONAL and _NOT_IMPLEMENTED.search(e.text):
                add(17, "not-implemented", say("not-implemented", verb=v, code=code, reply=reply), [e.line], entry)
            elif code in ("550", "553", "450", "551", "552") and (v in _NOT_FOUND_VERBS or v is None):
                what = say("not-found-or-denied", "write" if v in _UPLOAD_VERBS or code == "553" else "read")
                extra = ""
                if v == "SIZE":
                    extra = say("not-found-or-denied", "size_first")
                elif v == "MDTM":
                    extra = say("not-found-or-denied", "mdtm_first")
                said["command"] = e.command or "the request"
                summary = say("not-found-or-denied", **said, what=what, extra=extra)
                add(18, "not-found-or-denied", summary, [e.line], entry)

    def _over_ipv6(self, e: Exchange) -> bool:
        """Does the control connection run over IPv6 (the host connected to, or the address in the greeting)?"""
        host = self.ctx.host_at(e.line)
        if host and host[0].count(":") >= 2:
            return True
        greeting = next((x for x in self.ctx.exchanges if x.command is None and x.code == "220"), None)
        return greeting is not None and _IPV6_ADDRESS.search(greeting.text) is not None

    def _vsftpd_login_incorrect(self, e: Exchange) -> bool:
        """vsftpd's '530 Login incorrect.' after it asked for the password: PAM may have refused the account."""
        if not e.text.startswith("530 Login incorrect") or e.verb not in ("PASS", None):
            return False
        for other in self.ctx.exchanges:
            if other.line > e.line:
                break
            greeting = other.code == "220" and "vsFTPd" in other.text
            if greeting or other.text.startswith("331 Please specify the password"):
                return True
        return False

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
                then = say("passive-private-address", "then", line=failed) if failed else ""
                kind = say("passive-private-address", _address_kind(ip))
                summary = say("passive-private-address", address=ip, port=port, kind=kind, then=then)
                entry = "ftp-425" if failed else "ftp-227"
                self.found.add(8 if failed else 35, "passive-private-address", summary, lines, entry)
            elif v in ("PORT", "EPRT") and e.code is not None and e.code[0] == "5":
                if not self._data_setup_retried(i):
                    self._active_mode_refused(e, control_ip)
            elif v in ("PORT", "EPRT") and e.code is not None:
                failed = e.line if e.code == "425" else self._data_failure_after(i) if e.code[0] == "2" else None
                if not failed:
                    continue
                explained.add(failed)
                target = self._port_target(e.command or "")
                private = (
                    say("active-mode-blocked", "private")
                    if target and unreachable_from(target.rsplit(":", 1)[0], control_ip or e.session)
                    else ""
                )
                summary = say("active-mode-blocked", target=target or "it", private=private, verb=v, line=failed)
                self.found.add(9, "active-mode-blocked", summary, [e.line, failed], "ftp-425")
        for e in ctx.exchanges:
            if e.code in ("425", "426") and e.line not in explained:
                summary = say("data-connection-failed", command=e.command or "the server", code=e.code,
                              reply=_short(e.text, 90))  # fmt: skip
                self.found.add(22, "data-connection-failed", summary, [e.line], f"ftp-{e.code}")
        for s in ctx.signals:
            stalled = s.kind in ("refused", "timeout", "reset", "no-route", "client-error") and s.line not in explained
            if stalled and ctx.stage_of_signal(s) == "data-connection":
                summary = say("data-connection-failed", "client", text=_short(s.text, 90))
                self.found.add(22, "data-connection-failed", summary, [s.line], self._entry_for_signal(s))
                explained.add(s.line)
        self._explained = explained

    def _active_mode_refused(self, e: Exchange, control_ip: str | None) -> None:
        target = self._port_target(e.command or "")
        private = (
            say("active-mode-refused", "private")
            if target and unreachable_from(target.rsplit(":", 1)[0], control_ip or e.session)
            else ""
        )
        summary = say("active-mode-refused", verb=e.verb, target=target or "its address", private=private,
                      code=e.code, reply=_short(e.text, 90))  # fmt: skip
        self.found.add(9, "active-mode-refused", summary, [e.line], f"ftp-{e.code}")

    def _data_setup_retried(self, index: int) -> bool:
        """Did the client try another data set-up right after (EPRT refused, then PORT): that one tells."""
        start = self.ctx.exchanges[index]
        return any(
            nxt.session == start.session and nxt.verb in DATA_SETUP for nxt in self.ctx.exchanges[index + 1 : index + 4]
        )

    @staticmethod
    def _port_target(command: str) -> str | None:
        decoded = decode_pasv(command)
        if decoded:
            return f"{decoded[0]}:{decoded[1]}"
        eprt = decode_eprt(command)
        return f"{eprt[0]}:{eprt[1]}" if eprt else None

    def _data_failure_after(self, index: int) -> int | None:
        """The line where the data connection set up at exchanges[index] failed, if it did."""
        ctx = self.ctx
        start = ctx.exchanges[index]
        end_line = None
        for nxt in ctx.exchanges[index + 1 : index + 8]:
            if nxt.session != start.session:
                continue
            if nxt.code in ("425", "426") or (nxt.code == "421" and nxt.verb in DATA_COMMANDS):
                end_line = nxt.line  # (a 421 to the data command: it hung until the server's idle timeout)
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
            if s.kind in ("refused", "timeout", "reset", "no-route", "client-error"):
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
            stage = ctx.stage_of_signal(s)
            where = self._port_text()
            where = " to" + where if where else ""
            if kind in ("refused", "no-route") and stage == "connect":
                fid = "connect-refused" if kind == "refused" else "connect-unreachable"
                add(11, fid, say(fid, where=where, text=text), [s.line], entry)
            elif kind == "timeout" and stage == "connect":
                add(11, "connect-timeout", say("connect-timeout", where=where, text=text), [s.line], entry)
            elif kind == "host-not-found":
                add(11, "host-not-found", say("host-not-found", text=text), [s.line], entry)
            elif kind in ("timeout", "reset") and stage not in ("connect", "data-connection"):
                add(45, "connection-lost", say("connection-lost", stage=stage, text=text), [s.line], entry)
            elif kind == "tls-cert":
                fid = "tls-certificate-name" if s.value == "name" else "tls-certificate"
                add(13, fid, say(fid, text=text), [s.line], entry)
            elif kind == "tls-handshake":
                plain = "wrong version number" in s.text or "packet length too long" in s.text
                why = say(
                    "tls-handshake", "plain_answer" if plain else "implicit_url" if self.ftps_url else "no_common"
                )
                add(16, "tls-handshake", say("tls-handshake", text=text, why=why), [s.line], entry)
            elif kind == "tls-shutdown":
                channel = (
                    "data" if stage in ("transfer", "data-connection", "listing", "upload", "download") else "control"
                )
                add(14, "tls-shutdown", say("tls-shutdown", channel=channel, text=text), [s.line], entry)
            elif kind == "tls-session-reuse":
                add(9, "tls-session-reuse", say("tls-session-reuse", text=text), [s.line], entry)
            elif kind == "ssh-auth" and self.protocol == "sftp":
                methods = _SERVER_METHODS.search(s.text)
                listed = (methods.group(1) or methods.group(2)) if methods else ""
                if listed and "password" not in listed and "keyboard" not in listed:
                    summary = say("login-failed", "methods", methods=listed.replace(",", ", "), text=text)
                else:
                    summary = say("login-failed", "ssh", text=text)
                add(14, "login-failed", summary, [s.line], entry)
            elif kind == "auth-failed":
                part = "ssh" if self.protocol == "sftp" else "server_log"
                add(14, "login-failed", say("login-failed", part, text=text), [s.line], entry)
                if self.windows_ssh and "publickey" in s.text:
                    summary = say("windows-authorized-keys", text=text)
                    add(13, "windows-authorized-keys", summary, [s.line], None)
            elif kind == "sftp-status" and s.value in ("2", "3"):
                add(
                    18,
                    "not-found-or-denied",
                    say("not-found-or-denied", "sftp", text=text),
                    [s.line],
                    f"sftp-{s.value}",
                )
            elif kind == "sftp-setstat":
                add(12, "sftp-setstat", say("sftp-setstat", text=text), [s.line], "sftp-3")
            elif kind == "chroot-ownership":
                add(10, "chroot-ownership", say("chroot-ownership", text=text), [s.line], None)
            elif kind == "key-file":
                part = "too_new" if "too new" in s.text else "other"
                add(9, "key-file-unusable", say("key-file-unusable", text=text, why=say("key-file-unusable", part)),
                    [s.line], None)  # fmt: skip
            elif kind == "invalid-shell":
                add(10, "invalid-shell", say("invalid-shell", text=text), [s.line], None)
            elif kind == "sftp-subsystem":
                entry = (
                    "client-winscp-unexpectedly-closed-exit-status"
                    if "exit status" in s.text
                    else "client-winscp-cannot-initialize-sftp"
                )
                add(10, "sftp-subsystem-failed", say("sftp-subsystem-failed", text=text), [s.line], entry)
            elif kind == "key-file-modes":
                add(10, "key-file-modes", say("key-file-modes", text=text), [s.line], None)
            elif kind == "local-file":
                add(9, "local-file-error", say("local-file-error", text=text), [s.line], None)
            elif kind == "empty-path":
                add(15, "home-directory-missing", say("home-directory-missing", evidence=f"'{text}'"), [s.line], None)
            elif kind == "client-error" and "Login failed" in s.text and "(Login failed)" in s.text:
                add(14, "login-failed", say("login-failed", "server_log", text=text), [s.line], None)


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
