"""The SFTP probe: the SSH banner (read here, so an FTP greeting on the port is named), then paramiko for the
key exchange, the host key, the authentication methods the server offers and, with stored credentials, a
listing of the home directory.

paramiko waits on some replies without a timeout of its own (a channel request); a watchdog closes the
transport when the probe's time is up, which ends every wait."""

from __future__ import annotations

import base64
import errno
import hashlib
import itertools
import logging
import re
import socket
import threading
import time
from typing import Any

from knowledge.probe.session import Session, waited
from knowledge.probe.wire import Closed, Flood, Timeout, Wire, remaining

MAX_BANNER_BYTES = 8 * 1024  # RFC 4253 §4.2 lets a server send lines before its version line
MAX_LISTING_ENTRIES = 10_000
PROBE_USER = "ftpcode-probe"  # the user name asked about when there are no credentials
_FTP_REPLY = re.compile(r"^\d{3}[ -]")
_SFTP_STATUS_OF_ERRNO = {errno.ENOENT: "2", errno.EACCES: "3"}
_names = itertools.count(1)
LOG_CHANNEL = "ftpcode.probe.ssh"


class _Agreed(logging.Handler):
    """paramiko logs the algorithms it agreed on ("Kex: curve25519-sha256") from the transport's thread; this
    keeps those lines per thread name, and nothing else (the logger does not propagate: no paramiko trace
    reaches the terminal or the bot's log)."""

    _KEYS = ("Kex", "HostKey", "Cipher", "MAC", "Compression")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: dict[str, dict[str, str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if not record.threadName or not record.threadName.startswith("ftpcode-ssh-"):
            return
        message = str(record.msg)
        key, sep, value = message.partition(": ")
        if sep and key in self._KEYS and len(self.lines) < 256:
            self.lines.setdefault(record.threadName, {})[key] = value[:120]

    def take(self, name: str) -> dict[str, str]:
        return self.lines.pop(name, {})


_AGREED = _Agreed()
_logger = logging.getLogger(LOG_CHANNEL)
_logger.addHandler(_AGREED)
_logger.setLevel(logging.DEBUG)
_logger.propagate = False


class _Replay:
    """The socket, giving back first the bytes the probe already read (paramiko reads the banner itself)."""

    def __init__(self, sock: socket.socket, prefix: bytes) -> None:
        self._sock = sock
        self._prefix = prefix

    def recv(self, size: int) -> bytes:
        if self._prefix:
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            return out
        return self._sock.recv(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class SftpProbe(Session):
    def run(self) -> None:
        sock = self.connect()
        if sock is None:
            return
        prefix = self._banner(sock)
        if prefix is None:
            sock.close()
            return
        import paramiko

        transport = paramiko.Transport(_Replay(sock, prefix))  # type: ignore[arg-type]
        transport.name = f"ftpcode-ssh-{next(_names)}"
        transport.set_log_channel(LOG_CHANNEL)
        watchdog = threading.Timer(max(self.budget.left(), 0.01), transport.close)
        watchdog.daemon = True
        watchdog.start()
        try:
            if self._key_exchange(transport) and self._host_key(transport):
                methods = self._auth_methods(transport)
                if methods is not None and self._login(transport, methods):
                    self._listing(transport)
        finally:
            watchdog.cancel()
            started = time.perf_counter()
            transport.close()
            _AGREED.take(transport.name)
            if self.record.steps[-1].name not in ("ssh-banner", "key-exchange"):
                self.record.step("quit", "ok", started, "SSH session closed")

    def _banner(self, sock: socket.socket) -> bytes | None:
        """The SSH banner step; the bytes to hand to paramiko (the version line and what followed it)."""
        started = time.perf_counter()
        wire = Wire(sock)
        deadline = self.budget.deadline()
        size = 0
        try:
            while True:
                raw = wire.read_raw_line(deadline, MAX_BANNER_BYTES - size)
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                size += len(raw)
                if line.startswith("SSH-"):
                    break
                if size == len(raw) and _FTP_REPLY.match(line):
                    self.server = line
                    self.record.step("ssh-banner", "fail", started, "an FTP greeting, not an SSH banner", reply=line)
                    self.record.find("wrong-protocol-ftp-banner", "ssh-banner", reply=line, target=self.plan.target)
                    self.facts["protocol"] = "ftp"
                    return None
                if size > MAX_BANNER_BYTES:
                    raise Flood
        except Timeout:
            seconds = waited(started)
            self.record.step("ssh-banner", "fail", started, f"no SSH banner within {seconds} s")
            self.record.find("ssh-no-banner", "ssh-banner", seconds=seconds)
            return None
        except Closed:
            self.record.step("ssh-banner", "fail", started, "the server closed the connection without a banner")
            self.record.find("ssh-closed", "ssh-banner")
            return None
        except (Flood, OSError) as exc:
            self.io_failure("ssh-banner", started, exc, "the SSH banner")
            return None
        self.server = line
        if line.startswith("SSH-1.") and not line.startswith("SSH-1.99-"):
            self.record.step("ssh-banner", "fail", started, line, reply=line)
            self.record.find("ssh-v1", "ssh-banner", banner=line)
            return None
        if "OpenSSH_" in line:
            self.facts["server"] = "openssh"
        self.record.step("ssh-banner", "ok", started, line, reply=line)
        return raw + bytes(wire.buffer)

    def _key_exchange(self, transport: Any) -> bool:
        import paramiko

        if self.out_of_time("key-exchange"):
            return False
        started = time.perf_counter()
        try:
            left = remaining(self.budget.deadline())
            transport.banner_timeout = left
            transport.start_client(timeout=left)
        except (paramiko.SSHException, EOFError, OSError, Timeout) as exc:
            error = str(exc) or type(exc).__name__
            if "timed out" in error.lower() or isinstance(exc, Timeout):
                self.io_failure("key-exchange", started, Timeout(), "the key exchange")
            else:
                self.record.step("key-exchange", "fail", started, error)
                self.record.find("ssh-kex-failed", "key-exchange", error=error)
            return False
        agreed = _AGREED.lines.get(transport.name, {})
        kex = agreed.get("Kex") or type(transport.kex_engine).__name__
        cipher = agreed.get("Cipher") or getattr(transport, "remote_cipher", "")
        mac = agreed.get("MAC", "")
        detail = ", ".join(part for part in (kex, cipher, mac and f"MAC {mac}") if part)
        self.record.step("key-exchange", "ok", started, detail)
        return True

    def _host_key(self, transport: Any) -> bool:
        started = time.perf_counter()
        key = transport.get_remote_server_key()
        digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode("ascii").rstrip("=")
        self.record.step("host-key", "ok", started, f"{key.get_name()} SHA256:{digest}")
        return True

    def _auth_methods(self, transport: Any) -> list[str] | None:
        import paramiko

        if self.out_of_time("auth-methods"):
            return None
        started = time.perf_counter()
        user = self.credentials.user if self.credentials else PROBE_USER
        transport.auth_timeout = remaining(self.budget.deadline())
        try:
            transport.auth_none(user)
        except paramiko.BadAuthenticationType as exc:
            methods = list(exc.allowed_types)
        except paramiko.AuthenticationException:
            methods = []
        except (paramiko.SSHException, EOFError, OSError) as exc:
            self.io_failure("auth-methods", started, Closed() if isinstance(exc, EOFError) else exc, "the login")
            return None
        else:
            self.record.step("auth-methods", "warn", started, "none needed: the server let the probe in")
            self.record.find("ssh-no-auth", "auth-methods", "warn")
            return ["none"]
        shown = ", ".join(methods) or "none offered"
        password_ok = "password" in methods or "keyboard-interactive" in methods
        if not password_ok and self.credentials is None:
            self.record.step("auth-methods", "warn", started, shown)
            self.record.find("ssh-key-only", "auth-methods", "warn", methods=shown)
        else:
            self.record.step("auth-methods", "ok", started, shown)
        self.facts["methods"] = shown
        return methods

    def _login(self, transport: Any, methods: list[str]) -> bool:
        import paramiko

        if methods == ["none"]:
            return True
        started = time.perf_counter()
        creds = self.credentials
        if creds is None:
            detail = "not tried: no credentials for this server in FTPCODE_PROBE_CREDENTIALS"
            self.record.step("sftp-login", "skipped", started, detail)
            return False
        if self.out_of_time("sftp-login"):
            return False
        shown = ", ".join(methods) or "none offered"
        self.facts["anonymous"] = "no"
        try:
            transport.auth_timeout = remaining(self.budget.deadline())
            if "password" in methods:
                more = transport.auth_password(creds.user, creds.password, fallback=False)
            elif "keyboard-interactive" in methods:
                more = transport.auth_interactive(creds.user, lambda _t, _i, prompts: [creds.password] * len(prompts))
            else:
                self.record.step("sftp-login", "fail", started, f"no password login offered ({shown})")
                self.record.find("ssh-key-only", "sftp-login", methods=shown)
                return False
        except paramiko.AuthenticationException:
            self.record.step("sftp-login", "fail", started, "the server refused the stored credentials")
            self.record.find("ssh-login-failed", "sftp-login", methods=shown)
            return False
        except (paramiko.SSHException, EOFError, OSError, Timeout) as exc:
            self.io_failure("sftp-login", started, Closed() if isinstance(exc, EOFError) else exc, "the login")
            return False
        if more:
            self.record.step("sftp-login", "fail", started, f"the server wants more: {', '.join(more)}")
            self.record.find("ssh-login-failed", "sftp-login", methods=", ".join(more))
            return False
        self.record.step("sftp-login", "ok", started, "logged in with the stored credentials")
        return True

    def _listing(self, transport: Any) -> None:
        import paramiko

        if self.out_of_time("sftp-list"):
            return
        started = time.perf_counter()
        deadline = self.budget.deadline()
        try:
            transport.channel_timeout = remaining(deadline)
            sftp = paramiko.SFTPClient.from_transport(transport)
        except (paramiko.SSHException, EOFError, OSError, Timeout) as exc:
            error = str(exc) or type(exc).__name__
            self.record.step("sftp-list", "fail", started, f"SFTP did not start: {error}")
            self.record.find("sftp-subsystem", "sftp-list", error=error)
            return
        if sftp is None:
            self.record.step("sftp-list", "fail", started, "SFTP did not start")
            self.record.find("sftp-subsystem", "sftp-list", error="no channel")
            return
        try:
            sftp.get_channel().settimeout(remaining(deadline))
            home = sftp.normalize(".")
            count, cut = 0, False
            for _ in sftp.listdir_iter("."):
                count += 1
                if count >= MAX_LISTING_ENTRIES or time.monotonic() > deadline:
                    cut = True
                    break
        except OSError as exc:
            status = _SFTP_STATUS_OF_ERRNO.get(exc.errno or 0, "4")
            error = str(exc.strerror or exc)
            self.record.step("sftp-list", "fail", started, f"listing refused: {error}")
            self.record.find("sftp-list-failed", "sftp-list", status=status, error=error)
            return
        except (paramiko.SSHException, EOFError, Timeout) as exc:
            self.io_failure("sftp-list", started, Closed() if isinstance(exc, EOFError) else exc, "the listing")
            return
        finally:
            sftp.close()
        more = f" (stopped at {count:,})" if cut else ""
        self.record.step("sftp-list", "ok", started, f"{count:,} entries in {home}{more}")
