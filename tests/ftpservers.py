"""Pytest fixtures that start real FTP servers (and a fake SSH banner server) on 127.0.0.1.

pyftpdlib runs in a thread inside the test process; vsftpd runs as a child process with a config file written
to the test's tmp dir. Each fixture yields a `Server` that says where it listens and how to log in.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
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
    ca_file: Path | None = None  # the test CA that issued the server's certificate, for clients to trust

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


@dataclass(frozen=True)
class TestCA:
    """A certificate authority for tests: its PEM file for clients, its key to issue server certificates."""

    pem: Path
    key: object
    cert: object


def make_ca(directory: Path) -> TestCA:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ftpcode test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=30))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = directory / "ca.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TestCA(pem, key, cert)


def make_cert(
    directory: Path,
    *,
    ca: TestCA | None = None,
    names: tuple[str, ...] = ("127.0.0.1",),
    valid_from: datetime.timedelta = datetime.timedelta(minutes=-5),
    valid_until: datetime.timedelta = datetime.timedelta(days=1),
    file_name: str = "cert.pem",
) -> Path:
    """Writes a PEM file holding a server certificate (self-signed without `ca`) and its key. `names` are IP
    addresses or DNS names for subjectAltName; the validity is relative to now."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def san(name: str) -> x509.GeneralName:
        try:
            return x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            return x509.DNSName(name)

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ftpcode-test")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject if ca else subject)  # type: ignore[attr-defined]
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + valid_from)
        .not_valid_after(now + valid_until)
        .add_extension(x509.SubjectAlternativeName([san(n) for n in names]), False)
    )
    if ca:
        ca_key_id = x509.SubjectKeyIdentifier.from_public_key(ca.key.public_key())  # type: ignore[attr-defined]
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), False
        ).add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
    cert = builder.sign(ca.key if ca else key, hashes.SHA256())  # type: ignore[attr-defined, arg-type]
    pem = directory / file_name
    pem.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return pem


def make_self_signed_cert(directory: Path) -> Path:
    """Writes a PEM file holding a fresh self-signed certificate for 127.0.0.1 and its key."""
    return make_cert(directory)


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
    tmp_path: Path,
    *,
    tls: bool = False,
    tls_required: bool = False,
    masquerade: str | None = None,
    certfile: Path | None = None,
    ca_file: Path | None = None,
    anonymous: bool = False,
    announce_port: int | None = None,
    quick_refusal: bool = False,
) -> Iterator[Server]:
    """`announce_port`: every 227 and 229 reply names this port instead of the one the server listens on
    (a passive range that a firewall does not let through). `quick_refusal`: a failed login is answered at
    once, not after pyftpdlib's 3 s."""
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
    if anonymous:
        authorizer.add_anonymous(str(root))
    attrs: dict[str, object] = {"authorizer": authorizer, "banner": "pyftpdlib test server ready."}
    if quick_refusal:
        attrs["auth_failed_timeout"] = 0
    if announce_port is not None:
        attrs["respond"] = _announcing(base, announce_port)
    if masquerade:
        attrs["masquerade_address"] = masquerade
    if tls:
        attrs["certfile"] = str(certfile or make_self_signed_cert(tmp_path))
        attrs["tls_control_required"] = tls_required
        attrs["tls_data_required"] = tls_required
        attrs["ssl_context"] = None  # a fresh context per fixture, not one cached on the shared class
    handler = type("TestHandler", (base,), attrs)
    runner = _PyftpdlibThread(handler)
    runner.start()
    try:
        yield Server("127.0.0.1", runner.port, USER, PASSWORD, root, ca_file=ca_file)
    finally:
        runner.stop()


def _announcing(base: type, port: int):
    """A respond() that puts `port` in every passive-mode reply, as a NAT that maps the range wrongly would."""
    p1, p2 = divmod(port, 256)

    def respond(self, resp: str, logfun=None) -> None:
        if resp.startswith("227 "):
            resp = re.sub(r"(\d+,\d+,\d+,\d+),\d+,\d+", rf"\g<1>,{p1},{p2}", resp)
        elif resp.startswith("229 "):
            resp = re.sub(r"\(\|\|\|\d+\|\)", f"(|||{port}|)", resp)
        base.respond(self, resp) if logfun is None else base.respond(self, resp, logfun)

    return respond


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


def _socket_server(serve_connection) -> Iterator[Server]:
    """A TCP server on 127.0.0.1 that runs `serve_connection(conn, stop)` for each connection, one at a time."""
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
            with conn, contextlib.suppress(OSError):
                serve_connection(conn, stop)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Server("127.0.0.1", listener.getsockname()[1], USER, PASSWORD, Path("/nonexistent"))
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture
def ssh_banner_server() -> Iterator[Server]:
    """A socket server that greets every connection with an OpenSSH banner, then hangs up after a moment."""

    def banner(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        conn.settimeout(1.0)
        conn.recv(4096)

    yield from _socket_server(banner)


@pytest.fixture
def silent_server() -> Iterator[Server]:
    """Accepts every connection and never says a word (it reads and drops what the client sends)."""

    def silence(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(0.1)
        while not stop.is_set():
            try:
                if not conn.recv(4096):
                    return
            except TimeoutError:
                continue

    yield from _socket_server(silence)


@pytest.fixture
def flood_server() -> Iterator[Server]:
    """Greets with a multi-line 220 reply that never ends, as fast as the client reads."""

    def flood(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(1.0)
        line = b"220-" + b"x" * 70 + b"\r\n"
        while not stop.is_set():
            conn.sendall(line * 64)

    yield from _socket_server(flood)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{proc.args[0]} exited with {proc.returncode}: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.args[0]} did not listen on {port} within {seconds}s")


def _daemon(command: list[str], server: Server) -> Iterator[Server]:
    """Runs a server program in the foreground until the test ends; yields `server` once it listens."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for_port(server.port, proc)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _sbin(name: str) -> str | None:
    """A Debian server program, whether or not /usr/sbin is on PATH."""
    return shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)


@pytest.fixture
def vsftpd_server(tmp_path: Path) -> Iterator[Server]:
    """vsftpd (Debian package) on an ephemeral port: anonymous login to a read-only root, local users via PAM.

    `user`/`password` are the anonymous login; the protocol log (`log_ftp_protocol`) goes to `log_file`.
    """
    yield from _vsftpd(tmp_path, [])


@pytest.fixture
def vsftpd_implicit_server(tmp_path: Path) -> Iterator[Server]:
    """vsftpd serving implicit FTPS (TLS from the first byte) with a self-signed certificate for 127.0.0.1;
    anonymous logins over TLS, data connections encrypted with TLS session reuse required (its default)."""
    cert = make_cert(tmp_path)
    settings = ["ssl_enable=YES", "implicit_ssl=YES", f"rsa_cert_file={cert}", f"rsa_private_key_file={cert}",
                "allow_anon_ssl=YES", "ssl_ciphers=HIGH", "require_ssl_reuse=YES"]  # fmt: skip
    yield from _vsftpd(tmp_path, settings)


def _vsftpd(tmp_path: Path, settings: list[str]) -> Iterator[Server]:
    binary = _sbin("vsftpd")
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
                *settings,
                "",
            ]
        )
    )
    server = Server("127.0.0.1", port, "anonymous", "guest@example.com", root, log_file)
    yield from _daemon([binary, str(config)], server)


@pytest.fixture
def sshd_server(tmp_path: Path) -> Iterator[Server]:
    """OpenSSH's sshd (Debian's openssh-server) on an ephemeral port with a fresh ed25519 host key. It offers
    publickey and password logins and internal-sftp; no account of the test's is in it."""
    binary = _sbin("sshd")
    keygen = shutil.which("ssh-keygen")
    need_service(binary is not None and keygen is not None, "sshd is not installed (apt-get install openssh-server)")
    need_service(os.geteuid() == 0, "sshd needs to start as root")
    assert binary is not None and keygen is not None
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation directory
    key = tmp_path / "ssh_host_ed25519_key"
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(
        "\n".join([
            f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {key}", "PidFile none", "UsePAM no",
            "PasswordAuthentication yes", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
            "Subsystem sftp internal-sftp", "LogLevel ERROR", "",
        ])
    )  # fmt: skip
    server = Server("127.0.0.1", port, USER, PASSWORD, Path("/nonexistent"))
    yield from _daemon([binary, "-D", "-e", "-f", str(config)], server)


@pytest.fixture
def sftp_server(tmp_path: Path) -> Iterator[Server]:
    """An SFTP server (paramiko's server side, in this process): user alice with PASSWORD, password login
    only, and an SFTP subsystem that lists the test's root directory (one file, hello.txt)."""
    import paramiko

    root = _make_root(tmp_path)
    host_key = paramiko.ECDSAKey.generate()

    class Auth(paramiko.ServerInterface):
        def get_allowed_auths(self, username: str) -> str:
            return "password"

        def check_auth_password(self, username: str, password: str) -> int:
            ok = username == USER and password == PASSWORD
            return paramiko.AUTH_SUCCESSFUL if ok else paramiko.AUTH_FAILED

        def check_channel_request(self, kind: str, chanid: int) -> int:
            return paramiko.OPEN_SUCCEEDED if kind == "session" else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    class Files(paramiko.SFTPServerInterface):
        def list_folder(self, path: str):
            folder = root / path.lstrip("/")
            if not folder.is_dir():
                return paramiko.SFTP_NO_SUCH_FILE
            return [paramiko.SFTPAttributes.from_stat(p.stat(), p.name) for p in folder.iterdir()]

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        transport = paramiko.Transport(conn)
        transport.add_server_key(host_key)
        transport.set_subsystem_handler("sftp", paramiko.SFTPServer, Files)
        try:
            transport.start_server(server=Auth())
            while transport.is_active() and not stop.is_set():
                time.sleep(0.05)
        except (paramiko.SSHException, EOFError):
            pass
        finally:
            transport.close()

    for server in _socket_server(serve):
        yield Server(server.host, server.port, USER, PASSWORD, root)
