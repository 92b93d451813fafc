"""Pytest fixtures that start real FTP servers (and a fake SSH banner server) on 127.0.0.1.

pyftpdlib runs in a thread inside the test process; vsftpd runs as a child process with a config file written
to the test's tmp dir. Each fixture yields a `Server` that says where it listens and how to log in.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services import need_service

USER = "alice"
PASSWORD = "Tr0ub4dor-s3cret"
FILE_NAME = "hello.txt"
FILE_BODY = b"hello from the test server\n"


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    user: str
    password: str
    root: Path
    log_file: Path | None = None

    def url(self, path: str = "", *, password: str | None = None, scheme: str = "ftp") -> str:
        secret = self.password if password is None else password
        return f"{scheme}://{self.user}:{secret}@{self.host}:{self.port}/{path}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    return free_port()


def _make_root(tmp_path: Path) -> Path:
    root = tmp_path / "ftproot"
    root.mkdir()
    (root / FILE_NAME).write_bytes(FILE_BODY)
    return root


def make_self_signed_cert(directory: Path) -> Path:
    """Writes a PEM file holding a fresh self-signed certificate for 127.0.0.1 and its key."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ftpcode-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    pem = directory / "cert.pem"
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem


class _PyftpdlibThread:
    """Runs a pyftpdlib server's IO loop in a thread until stop() is called."""

    def __init__(self, handler_class: type) -> None:
        from pyftpdlib.ioloop import IOLoop
        from pyftpdlib.servers import FTPServer

        # Its own IO loop: two servers sharing the global one would step on each other's sockets.
        self.server = FTPServer(("127.0.0.1", 0), handler_class, ioloop=IOLoop())
        self.port = self.server.socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.server.ioloop.loop(0.05, blocking=False)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close_all()


def _pyftpdlib_server(
    tmp_path: Path, *, tls: bool = False, tls_required: bool = False, masquerade: str | None = None
) -> Iterator[Server]:
    from pyftpdlib.authorizers import DummyAuthorizer

    if tls:
        try:
            from pyftpdlib.handlers import TLS_FTPHandler as base
        except ImportError:
            pytest.skip("pyftpdlib's TLS handler needs pyOpenSSL (pip install pyopenssl)")
    else:
        from pyftpdlib.handlers import FTPHandler as base

    root = _make_root(tmp_path)
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elradfmw")
    attrs: dict[str, object] = {"authorizer": authorizer, "banner": "pyftpdlib test server ready."}
    if masquerade:
        attrs["masquerade_address"] = masquerade
    if tls:
        attrs["certfile"] = str(make_self_signed_cert(tmp_path))
        attrs["tls_control_required"] = tls_required
        attrs["tls_data_required"] = tls_required
        attrs["ssl_context"] = None  # a fresh context per fixture, not one cached on the shared class
    handler = type("TestHandler", (base,), attrs)
    runner = _PyftpdlibThread(handler)
    runner.start()
    try:
        yield Server("127.0.0.1", runner.port, USER, PASSWORD, root)
    finally:
        runner.stop()


@pytest.fixture
def ftp_server(tmp_path: Path) -> Iterator[Server]:
    """Plain FTP (pyftpdlib): user alice, one file hello.txt."""
    yield from _pyftpdlib_server(tmp_path)


@pytest.fixture
def ftps_server(tmp_path: Path) -> Iterator[Server]:
    """Explicit FTPS (AUTH TLS) offered but not required, self-signed certificate."""
    yield from _pyftpdlib_server(tmp_path, tls=True)


@pytest.fixture
def ftps_required_server(tmp_path: Path) -> Iterator[Server]:
    """Explicit FTPS that refuses USER/PASS and PASV/PORT until TLS is on (pyftpdlib answers 550)."""
    yield from _pyftpdlib_server(tmp_path, tls=True, tls_required=True)


@pytest.fixture
def nat_ftp_server(tmp_path: Path) -> Iterator[Server]:
    """Plain FTP whose PASV reply announces 10.0.0.5, like a server behind NAT that was not told its public address."""
    yield from _pyftpdlib_server(tmp_path, masquerade="10.0.0.5")


@pytest.fixture
def ssh_banner_server() -> Iterator[Server]:
    """A socket server that greets every connection with an OpenSSH banner, then hangs up after a moment."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
                    conn.settimeout(1.0)
                    conn.recv(4096)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Server("127.0.0.1", listener.getsockname()[1], USER, PASSWORD, Path("/nonexistent"))
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"vsftpd exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"vsftpd did not listen on {port} within {seconds}s")


@pytest.fixture
def vsftpd_server(tmp_path: Path) -> Iterator[Server]:
    """vsftpd (Debian package) on an ephemeral port: anonymous login to a read-only root, local users via PAM.

    `user`/`password` are the anonymous login; the protocol log (`log_ftp_protocol`) goes to `log_file`.
    """
    binary = shutil.which("vsftpd") or ("/usr/sbin/vsftpd" if os.path.exists("/usr/sbin/vsftpd") else None)
    need_service(binary is not None, "vsftpd is not installed (apt-get install vsftpd)")
    need_service(os.geteuid() == 0, "vsftpd needs to start as root")
    assert binary is not None
    root = tmp_path / "anon"
    root.mkdir()
    root.chmod(0o755)
    (root / FILE_NAME).write_bytes(FILE_BODY)
    (root / FILE_NAME).chmod(0o644)
    empty = tmp_path / "empty"
    empty.mkdir()
    empty.chmod(0o755)
    log_file = tmp_path / "vsftpd.log"
    port = free_port()
    pasv = free_port()
    config = tmp_path / "vsftpd.conf"
    config.write_text(
        "\n".join(
            [
                "listen=YES",
                "listen_ipv6=NO",
                "listen_address=127.0.0.1",
                f"listen_port={port}",
                "background=NO",
                "anonymous_enable=YES",
                "no_anon_password=YES",
                f"anon_root={root}",
                "local_enable=YES",
                "pam_service_name=vsftpd",
                "write_enable=NO",
                "pasv_enable=YES",
                f"pasv_min_port={pasv}",
                f"pasv_max_port={pasv}",
                "port_enable=YES",
                "connect_from_port_20=NO",
                f"secure_chroot_dir={empty}",
                "seccomp_sandbox=NO",
                "isolate=NO",
                "isolate_network=NO",
                "log_ftp_protocol=YES",
                "xferlog_enable=YES",
                "xferlog_std_format=NO",
                f"vsftpd_log_file={log_file}",
                "delay_failed_login=0",
                "",
            ]
        )
    )
    proc = subprocess.Popen([binary, str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_port(port, proc)
        yield Server("127.0.0.1", port, "anonymous", "guest@example.com", root, log_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
