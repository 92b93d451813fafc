"""What the rules need to know about a parsed log: where sessions start, which command was in flight at a
given line, which stage a failed step belongs to."""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re

from knowledge.logscan.ftp import DATA_COMMANDS, DATA_SETUP
from knowledge.logscan.model import Exchange, Signal

# Commands a client may see refused and carry on without (it falls back or skips a feature).
OPTIONAL = frozenset(
    "FEAT OPTS SYST CLNT SITE HELP NOOP STAT MLST MFMT MDTM ALLO HOST LANG AUTH PBSZ PROT CCC EPSV EPRT SIZE REST "
    "TYPE MODE XPWD PWD".split()
)
_STAGE_OF_VERB = {
    **dict.fromkeys(("USER", "PASS", "ACCT", "REIN"), "login"),
    **dict.fromkeys(("AUTH", "PBSZ", "PROT", "CCC", "ADAT"), "tls"),
    **dict.fromkeys(DATA_SETUP, "data-connection"),
    **dict.fromkeys(("LIST", "NLST", "MLSD", "MLST", "CWD", "XCWD", "CDUP", "XCUP", "PWD", "XPWD", "STAT"), "listing"),
    **dict.fromkeys(("RETR", "SIZE", "MDTM"), "download"),
    **dict.fromkeys(("STOR", "STOU", "APPE", "MKD", "XMKD", "DELE", "RMD", "XRMD", "RNFR", "RNTO", "MFMT", "ALLO"),
                    "upload"),
    **dict.fromkeys(("FEAT", "SYST", "OPTS", "CLNT", "HOST", "HELP", "NOOP", "LANG"), "connect"),
    "QUIT": "disconnect",
    # SFTP clients' commands (FileZilla's to its fzsftp helper, OpenSSH's sftp prompt), upper-cased like FTP verbs
    **dict.fromkeys(("LS", "DIR", "CD", "CHDIR", "LLS"), "listing"),
    "GET": "download", "REGET": "download",
    **dict.fromkeys(
        ("PUT", "REPUT", "MKDIR", "RMDIR", "RM", "MV", "RENAME", "CHMOD", "CHOWN", "MTIME", "LN", "SYMLINK"), "upload"
    ),
    **dict.fromkeys(("OPEN", "KEYFILE", "PROXY"), "connect"),
}  # fmt: skip
# Messages that say which stage failed whatever command came before them.
_STAGE_OF_KIND = {"ssh-auth": "login", "auth-failed": "login", "chroot-ownership": "login", "key-file-modes": "login",
                  "empty-path": "listing", "sftp-setstat": "upload", "key-file": "login",
                  "invalid-shell": "login", "sftp-subsystem": "login"}  # fmt: skip
# What a client was doing, by the words of its error messages (WinSCP's dialogs, FileZilla's, sftp's): the group
# name is the stage.
OPERATION = re.compile(
    r"(?P<upload>Copying files to remote side failed|Cannot (?:create|overwrite) remote file|Error uploading|"
    r"Cannot execute SCP to start transfer|Cannot change properties of file|Upload of [^\n]* failed)|"
    r"(?P<download>Copying files from remote side failed|Cannot open remote file|Error downloading|"
    r"Download of [^\n]* failed)|"
    r"(?P<listing>Error listing directory|Could not retrieve directory listing|Failed to retrieve directory listing|"
    r"Error changing directory to|Cannot change directory|Could not (?:read|open) directory)"
)
_ANONYMOUS_USERS = frozenset(("anonymous", "ftp"))
_HOST_PORT = re.compile(
    r"(?:Connecting to|Connected to|Connected with|Trying|connect to (?:host|address)|Host name:)\s+"
    r"\[?([A-Za-z0-9_.-]*[A-Za-z0-9]|[0-9a-fA-F:]+:[0-9a-fA-F:]*)\]?"
    r"(?:\s*[(\[]([^)\]\s]*)[)\]])?(?::(\d+)|\s+port\s+(\d+)|\s+\(Port: (\d+)\))?"
)


def _reply_code_bytes(length: str) -> bool:
    """Whether a bogus SFTP packet length's first three bytes are digits: an FTP reply code."""
    number = int(length) if length.isdigit() else -1
    return 0 <= number < 2**32 and number.to_bytes(4, "big")[:3].isdigit()


@functools.lru_cache(maxsize=1024)
def unreachable_from(announced: str, peer: str | None) -> bool:
    """True when a client at `peer` (None: unknown) could not reach `announced`: a private, loopback or
    otherwise non-global address that is not the peer's own (a LAN or same-host test is fine)."""
    if not is_unroutable(announced) or announced == peer:
        return False
    try:
        a = ipaddress.ip_address(announced)
        p = ipaddress.ip_address(peer) if peer else None
    except ValueError:
        return True
    return not (a.is_loopback and (p is None or p.is_loopback))


@functools.lru_cache(maxsize=1024)
def is_unroutable(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return not addr.is_global


@functools.lru_cache(maxsize=256)
def host_port(text: str) -> tuple[str, str] | None:
    """(host, port) from a 'Connecting to ...' style message, the resolved address when the message gives
    one ("Connected to ftp.example.com (203.0.113.10) port 21"); port may be ''."""
    m = _HOST_PORT.search(text)
    if not m:
        return None
    host, resolved = m.group(1), m.group(2)
    if resolved and _looks_like_ip(resolved):
        host = resolved
    port = m.group(3) or m.group(4) or m.group(5) or ""
    return host, port


def _looks_like_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class LogContext:
    def __init__(self, exchanges: list[Exchange], signals: list[Signal]) -> None:
        self.exchanges = exchanges
        self.signals = signals
        self.lines = [e.line for e in exchanges]
        self.signal_lines = [s.line for s in signals]
        self._host_lines: list[int] = []
        self._host_texts: list[str] = []
        commanded = [e for e in exchanges if e.command is not None]
        self._command_lines = [e.command_line or e.line for e in commanded]
        self._commanded = commanded
        self.starts = self._session_starts()
        self.control_host: tuple[str, str] | None = None
        for s in signals:
            found = host_port(s.text) if s.kind in ("connecting", "refused", "timeout") else None
            if found and found[0]:
                self.control_host = found
                break

    def _session_starts(self) -> list[int]:
        starts: list[int] = []
        for s in self.signals:
            if s.kind != "connecting":
                continue
            before = self.exchange_before(s.line)
            # curl prints "Connecting to"/"Trying" for the data connection too, right after a PASV/EPSV.
            if before is not None and before.code in ("227", "229") and before.verb in DATA_SETUP:
                continue
            starts.append(s.line)
            if host_port(s.text) is not None:  # not "Connection established, waiting for welcome message"
                self._host_lines.append(s.line)
                self._host_texts.append(s.text)
        for e in self.exchanges:
            if e.command is None and (
                e.code == "220" or (e.code == "421" and self.exchange_before(e.line, same_session=e) is None)
            ):
                starts.append(e.line)
        starts.sort()
        return starts

    @functools.cached_property
    def anonymous_probes(self) -> frozenset[int]:
        """Lines of anonymous logins refused before a login with a user name: browsers and Windows Explorer try
        anonymous first and then ask for the account, so that refusal is no failure."""
        user_of: dict[str | None, str] = {}
        refused: list[int] = []
        probes: set[int] = set()
        for e in self.exchanges:
            if e.verb == "USER" and e.command and " " in e.command:
                name = e.command.split(None, 1)[1].strip().lower()
                user_of[e.session] = name
                if name not in _ANONYMOUS_USERS:
                    probes.update(refused)
                    refused.clear()
            if e.code == "530" and e.verb in ("USER", "PASS") and user_of.get(e.session) in _ANONYMOUS_USERS:
                refused.append(e.line)
        return frozenset(probes)

    def host_at(self, line: int) -> tuple[str, str] | None:
        """The server the client was connected to at `line` (the latest 'Connecting to' before it)."""
        i = bisect.bisect_right(self._host_lines, line) - 1
        found = host_port(self._host_texts[i]) if i >= 0 else None
        return found if found and found[0] else self.control_host

    def signals_between(self, first: int, last: int) -> list[Signal]:
        """Signals with first < line <= last."""
        lo = bisect.bisect_right(self.signal_lines, first)
        hi = bisect.bisect_right(self.signal_lines, last)
        return self.signals[lo:hi]

    def exchange_before(self, line: int, same_session: Exchange | None = None) -> Exchange | None:
        i = bisect.bisect_left(self.lines, line) - 1
        while i >= 0:
            e = self.exchanges[i]
            if same_session is None or e.session == same_session.session:
                return e
            i -= 1
        return None

    def session_start(self, line: int) -> int:
        i = bisect.bisect_right(self.starts, line) - 1
        return self.starts[i] if i >= 0 else 0

    def last_command(self, line: int) -> Exchange | None:
        """The latest exchange with a command sent before `line` in the same session, if any."""
        i = bisect.bisect_left(self._command_lines, line) - 1
        if i < 0:
            return None
        e = self._commanded[i]
        if (e.command_line or e.line) < self.session_start(line):
            return None
        # prefer the exchange that holds the command's final answer so far (a 150 after the command)
        j = bisect.bisect_left(self.lines, line) - 1
        while j >= 0 and self.exchanges[j].line > (e.command_line or 0):
            if self.exchanges[j].command == e.command:
                return self.exchanges[j]
            j -= 1
        return e

    def last_auth(self, line: int) -> Exchange | None:
        """The AUTH exchange of the session holding `line` (TLS errors belong to it), if any."""
        start = self.session_start(line)
        i = bisect.bisect_left(self.lines, line) - 1
        while i >= 0 and self.exchanges[i].line >= start:
            if self.exchanges[i].verb == "AUTH":
                return self.exchanges[i]
            i -= 1
        return None

    def first_in_session(self, e: Exchange) -> bool:
        start = self.session_start(e.line)
        before = self.exchange_before(e.line, same_session=e)
        return before is None or before.line < start

    def next_in_session(self, index: int) -> Exchange | None:
        e = self.exchanges[index]
        for nxt in self.exchanges[index + 1 : index + 50]:
            if nxt.session == e.session:
                if nxt.command is None and nxt.code == "220":
                    return None  # a new session began: nothing followed in this one
                return nxt
        return None

    def _operation_near(self, s: Signal) -> str | None:
        """The operation a client's message names, in its own text or in the lines around it (an error dialog:
        "Copying files to remote side failed." / "Permission denied." / "Error code: 3")."""
        m = OPERATION.search(s.text)
        if m is None:
            for other in self.signals_between(s.line - 4, s.line + 3):
                if other.kind == "operation":
                    return other.value
                if other.kind == "sftp-setstat":  # setting a file's time or mode after an upload
                    return "upload"
            return None
        return m.lastgroup

    def stage_of_exchange(self, e: Exchange) -> str:
        code, v = e.code or "", e.verb
        if code == "425":
            return "data-connection"
        if code == "426":  # the transfer was cut: an upload's or a download's, as the command says
            return _STAGE_OF_VERB[v] if v in ("STOR", "STOU", "APPE", "RETR") else "transfer"
        if code == "522" and v != "EPRT":
            return "tls"
        if v is None:
            if self.first_in_session(e):
                return "connect"
            # a reply whose command the log does not show: 552/553 only answer writes (RFC 959 4.2)
            return "upload" if code in ("552", "553") else "disconnect"
        return _STAGE_OF_VERB.get(v, "transfer")

    def stage_of_signal(self, s: Signal) -> str:
        kind = s.kind
        if kind in ("tls-cert", "tls-handshake"):
            return "tls"
        if kind == "packet-length":
            # an FTP greeting read as a length ("220 ") comes before any login; other text is a shell's or a
            # profile's output when the SFTP session starts, after the login
            return "connect" if _reply_code_bytes(s.value) else "login"
        if kind in ("ssh-banner", "ftp-banner", "ssh-no-banner", "host-not-found"):
            return "connect"
        fixed = _STAGE_OF_KIND.get(kind)
        if fixed:
            return fixed
        prev = self.last_command(s.line)
        if prev is None:
            if kind in ("tls-shutdown", "tls-session-reuse"):
                return "tls"
            return self._operation_near(s) or ("transfer" if kind == "sftp-status" else "connect")
        v = prev.verb
        if v in DATA_SETUP:
            return "data-connection"
        if v in DATA_COMMANDS:
            if prev.code and prev.code[0] == "1":
                return "transfer"
            if prev.code is None:
                return "data-connection"
        return _STAGE_OF_VERB.get(v or "", "transfer")
