"""The scanner against real clients (curl, lftp, ssh, Python ftplib) talking to real servers (pyftpdlib,
vsftpd). Every test reads the client's own output, as a user would paste it."""

from __future__ import annotations

import contextlib
import ftplib
import io
import json
import shutil
import subprocess

import pytest

from knowledge.logscan import ScanResult, scan
from tests.ftpservers import FILE_NAME, Server, closed_port
from tests.services import need_service

pytestmark = pytest.mark.service("ftp")


def run(*command: str, timeout: float = 60) -> str:
    """The client's stderr (where curl -v, lftp debug and ssh -v write)."""
    need_service(shutil.which(command[0]) is not None, f"{command[0]} is not installed")
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return done.stderr


def curl(url: str, *options: str) -> str:
    return run("curl", "-v", "-sS", "--max-time", "20", "-o", "/dev/null", *options, url)


def lftp(server: Server, script: str, password: str | None = None) -> str:
    secret = server.password if password is None else password
    settings = "set net:max-retries 1; set net:timeout 5; set net:reconnect-interval-base 1"
    return run(
        "lftp", "-c", f"debug 10; {settings}; open -u {server.user},{secret} -p {server.port} {server.host}; {script}"
    )


def ftplib_debug(action) -> str:
    """Python ftplib's set_debuglevel(2) output of `action(ftp)`, with the exception a script would print."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ftp = ftplib.FTP(timeout=10)
        ftp.set_debuglevel(2)
        try:
            action(ftp)
        except (ftplib.Error, OSError, EOFError) as exc:
            print(f"ftplib.{type(exc).__name__}: {exc}")
        finally:
            ftp.close()
    return out.getvalue()


def assert_no_secret(result: ScanResult, secret: str) -> None:
    dumped = json.dumps(result.to_json()) + json.dumps(result.timeline) + json.dumps(result.triage_prefill)
    assert secret not in dumped
    assert all(secret not in (e.command or "") for e in result.exchanges)


def finding_ids(result: ScanResult) -> list[str]:
    return [f.id for f in result.findings]


# --- pyftpdlib -------------------------------------------------------------------------------------------


def test_curl_download_succeeds(ftp_server: Server) -> None:
    log = curl(ftp_server.url(FILE_NAME))
    result = scan(log)
    assert result.format == "curl" and result.protocol == "ftp"
    assert result.failure is None
    assert ("RETR " + FILE_NAME, "226") in [(e.command, e.code) for e in result.exchanges]
    assert "PASS ****" in [e.command for e in result.exchanges]
    assert f"logged in as {ftp_server.user}" in result.timeline
    assert result.triage_prefill == {"protocol": "ftp", "mode": "passive", "client": "curl"}
    assert_no_secret(result, ftp_server.password)


def test_curl_wrong_password(ftp_server: Server) -> None:
    log = curl(ftp_server.url(FILE_NAME, password="Wr0ng-Passw0rd"))
    result = scan(log)
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.stage) == ("PASS ****", "530", "login")
    assert finding_ids(result)[0] == "login-failed"
    assert result.codes[0] == "ftp-530"
    assert log.splitlines()[result.failure.line - 1].startswith("< 530")
    assert_no_secret(result, "Wr0ng-Passw0rd")


def test_curl_missing_file(ftp_server: Server) -> None:
    result = scan(curl(ftp_server.url("no-such-file.txt")))
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.stage) == (
        "SIZE no-such-file.txt", "550", "download",
    )  # fmt: skip
    assert finding_ids(result)[0] == "not-found-or-denied"
    assert result.triage_prefill["stage"] == "download"


def test_curl_connection_refused() -> None:
    port = closed_port()
    result = scan(curl(f"ftp://127.0.0.1:{port}/x"))
    assert result.failure is not None and result.failure.stage == "connect"
    assert result.failure.code is None
    assert finding_ids(result)[0] == "connect-refused"
    assert "curl-7" in result.codes
    assert result.timeline[0] == f"could not connect to 127.0.0.1:{port}"


def test_lftp_wrong_password(ftp_server: Server) -> None:
    result = scan(lftp(ftp_server, "ls", password="Bad-Secret-99"))
    assert result.format == "lftp"
    assert result.failure is not None and (result.failure.code, result.failure.stage) == ("530", "login")
    assert finding_ids(result)[0] == "login-failed"
    assert result.triage_prefill["client"] == "lftp"
    assert_no_secret(result, "Bad-Secret-99")


def test_lftp_download_succeeds_and_hides_password_in_urls(ftp_server: Server, tmp_path) -> None:
    log = lftp(ftp_server, f"get -O {tmp_path} {FILE_NAME}")
    assert ftp_server.password in log  # lftp prints the URL with the password: the scanner must hide it
    result = scan(log)
    assert result.failure is None
    assert_no_secret(result, ftp_server.password)
    # lftp tries AUTH TLS first; the refusal is worth saying, but it is not what failed
    assert "tls-refused" in finding_ids(result)


def test_lftp_passive_reply_with_private_address(nat_ftp_server: Server) -> None:
    log = lftp(nat_ftp_server, "set ftp:prefer-epsv no; set ftp:fix-pasv-address no; set ftp:ssl-allow no; ls")
    result = scan(log)
    assert result.failure is not None and result.failure.stage == "data-connection"
    first = result.findings[0]
    assert first.id == "passive-private-address"
    assert "10.0.0.5:" in first.summary and "private address" in first.summary
    assert first.entry_id == "ftp-425"
    assert result.triage_prefill["mode"] == "passive" and result.triage_prefill["stage"] == "listing"


def test_curl_passive_reply_with_private_address(nat_ftp_server: Server) -> None:
    log = curl(nat_ftp_server.url(FILE_NAME), "--disable-epsv", "--no-ftp-skip-pasv-ip", "--connect-timeout", "5")
    result = scan(log)
    assert result.failure is not None and result.failure.stage == "data-connection"
    assert finding_ids(result)[0] == "passive-private-address"


def test_ftplib_active_mode_to_closed_port(ftp_server: Server) -> None:
    port = closed_port()

    def session(ftp: ftplib.FTP) -> None:
        ftp.connect(ftp_server.host, ftp_server.port)
        ftp.login(ftp_server.user, ftp_server.password)
        ftp.sendcmd(f"PORT 127,0,0,1,{port >> 8},{port & 255}")

    result = scan(ftplib_debug(session))
    assert result.format == "ftplib"
    assert result.failure is not None
    assert (result.failure.code, result.failure.stage) == ("425", "data-connection")
    assert result.failure.command is not None and result.failure.command.startswith("PORT ")
    assert finding_ids(result)[0] == "active-mode-blocked"
    assert result.triage_prefill == {"protocol": "ftp", "mode": "active", "client": "script"}


def test_plain_login_to_server_that_requires_tls(ftps_required_server: Server) -> None:
    result = scan(curl(ftps_required_server.url(FILE_NAME)))
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.stage) == ("USER alice", "550", "login")
    assert finding_ids(result)[0] == "tls-required"


def test_ssl_required_by_client_refused_by_server(ftp_server: Server) -> None:
    result = scan(curl(ftp_server.url(FILE_NAME), "--ssl-reqd"))
    assert result.failure is not None and result.failure.stage == "tls"
    assert result.failure.command == "AUTH TLS"
    assert finding_ids(result)[0] == "tls-refused"
    assert "curl-64" in result.codes
    assert result.triage_prefill["protocol"] == "ftps-explicit"


def test_ftps_download_succeeds(ftps_server: Server) -> None:
    result = scan(curl(ftps_server.url(FILE_NAME), "--ssl-reqd", "-k"))
    assert result.failure is None and result.protocol == "ftps"
    assert result.triage_prefill["protocol"] == "ftps-explicit"
    assert "TLS: explicit FTPS (AUTH TLS)" in result.timeline
    assert_no_secret(result, ftps_server.password)


def test_ftps_untrusted_certificate(ftps_server: Server) -> None:
    result = scan(curl(ftps_server.url(FILE_NAME), "--ssl-reqd"))
    assert result.failure is not None and result.failure.stage == "tls"
    assert finding_ids(result)[0] == "tls-certificate"
    assert "curl-60" in result.codes


def test_implicit_ftps_against_explicit_port(ftps_server: Server) -> None:
    result = scan(curl(ftps_server.url(FILE_NAME, scheme="ftps"), "-k"))
    assert result.failure is not None and result.failure.stage == "tls"
    assert finding_ids(result)[0] == "tls-handshake"
    assert "implicit" in result.findings[0].summary


@pytest.mark.parametrize("client", ["curl", "lftp"])
def test_ftp_client_pointed_at_ssh_server(ssh_banner_server: Server, client: str) -> None:
    log = curl(ssh_banner_server.url(FILE_NAME)) if client == "curl" else lftp(ssh_banner_server, "ls")
    result = scan(log)
    assert result.failure is not None and result.failure.stage == "connect"
    assert finding_ids(result)[0] == "wrong-protocol-ssh-banner"
    assert "SSH-2.0-OpenSSH_9.2p1" in result.findings[0].summary


def test_ftplib_pointed_at_ssh_server(ssh_banner_server: Server) -> None:
    log = ftplib_debug(lambda ftp: ftp.connect(ssh_banner_server.host, ssh_banner_server.port))
    result = scan(log)
    assert result.format == "ftplib"
    assert finding_ids(result)[0] == "wrong-protocol-ssh-banner"


def test_ssh_client_pointed_at_ftp_server(ftp_server: Server) -> None:
    options = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    log = run("ssh", "-v", *options, "-o", "ConnectTimeout=3", "-p", str(ftp_server.port), "alice@127.0.0.1", "true")
    result = scan(log)
    assert result.format == "openssh" and result.protocol == "sftp"
    assert result.failure is not None and result.failure.stage == "connect"
    assert finding_ids(result)[0] == "wrong-protocol-ftp-banner"
    assert "220 pyftpdlib test server ready." in result.findings[0].summary


# --- vsftpd (Debian package) -----------------------------------------------------------------------------


def test_vsftpd_client_and_server_logs(vsftpd_server: Server) -> None:
    ok = scan(curl(f"ftp://{vsftpd_server.host}:{vsftpd_server.port}/{FILE_NAME}"))
    assert ok.failure is None and "server greeting: 220 (vsFTPd 3.0.3)" in ok.timeline
    missing = scan(curl(f"ftp://{vsftpd_server.host}:{vsftpd_server.port}/nope.txt"))
    assert missing.failure is not None and missing.failure.code == "550"
    bad = scan(curl(f"ftp://nosuchuser:Zz-Secret-7@{vsftpd_server.host}:{vsftpd_server.port}/{FILE_NAME}"))
    assert bad.failure is not None and (bad.failure.code, bad.failure.stage) == ("530", "login")
    assert_no_secret(bad, "Zz-Secret-7")

    assert vsftpd_server.log_file is not None
    server_log = scan(vsftpd_server.log_file.read_text())
    assert server_log.format == "vsftpd"
    # the first failing step across the three sessions is the SIZE of the missing file
    assert server_log.failure is not None
    assert (server_log.failure.command, server_log.failure.code) == ("SIZE nope.txt", "550")
    assert {"not-found-or-denied", "login-failed"} <= set(finding_ids(server_log))


def test_vsftpd_active_mode_refused(vsftpd_server: Server) -> None:
    port = closed_port()

    def session(ftp: ftplib.FTP) -> None:
        ftp.connect(vsftpd_server.host, vsftpd_server.port)
        ftp.login()
        ftp.sendcmd(f"PORT 127,0,0,1,{port >> 8},{port & 255}")
        ftp.sendcmd("LIST")

    result = scan(ftplib_debug(session))
    assert result.failure is not None
    assert (result.failure.command, result.failure.code) == ("LIST", "425")
    assert finding_ids(result)[0] == "active-mode-blocked"
