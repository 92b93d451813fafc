"""The probe against real servers on 127.0.0.1, each set up wrongly on purpose: every one gives the right
first failing step and finding. pyftpdlib and the socket servers run in this process; vsftpd and sshd are
Debian's, started by the fixtures (tests/ftpservers.py)."""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ftpservers import PASSWORD, USER, Server, _pyftpdlib_server, closed_port, make_ca, make_cert
from tests.probe_helpers import failed_step, ids, probe, write_netrc

pytestmark = pytest.mark.service("ftp")


# --- servers only these tests need ------------------------------------------------------------------------


@pytest.fixture
def anonymous_server(tmp_path: Path) -> Iterator[Server]:
    """Plain FTP with anonymous access: a healthy server."""
    yield from _pyftpdlib_server(tmp_path, anonymous=True)


@pytest.fixture
def closed_passive_server(tmp_path: Path) -> Iterator[Server]:
    """Announces a passive port where nothing listens, as behind a firewall that drops the passive range."""
    yield from _pyftpdlib_server(tmp_path, anonymous=True, announce_port=closed_port())


@pytest.fixture
def no_anonymous_server(tmp_path: Path) -> Iterator[Server]:
    yield from _pyftpdlib_server(tmp_path, quick_refusal=True)


def _tls_server(tmp_path: Path, **cert_options) -> Iterator[Server]:
    ca = make_ca(tmp_path)
    cert = make_cert(tmp_path, ca=ca, **cert_options)
    yield from _pyftpdlib_server(tmp_path, tls=True, certfile=cert, ca_file=ca.pem, anonymous=True)


@pytest.fixture
def trusted_tls_server(tmp_path: Path) -> Iterator[Server]:
    """Explicit FTPS with a certificate for 127.0.0.1 from a CA the probe is told to trust."""
    yield from _tls_server(tmp_path, valid_until=datetime.timedelta(days=90))


@pytest.fixture
def expired_tls_server(tmp_path: Path) -> Iterator[Server]:
    yield from _tls_server(tmp_path, valid_from=datetime.timedelta(days=-20), valid_until=datetime.timedelta(days=-3))


@pytest.fixture
def wrong_name_tls_server(tmp_path: Path) -> Iterator[Server]:
    yield from _tls_server(tmp_path, names=("ftp.example.com",))


# --- FTP ---------------------------------------------------------------------------------------------------


def test_healthy_server_every_step_passes(anonymous_server: Server) -> None:
    result = probe(anonymous_server, "ftp")
    assert result.failure is None, result.steps
    names = [s.name for s in result.steps]
    assert names == ["resolve", "connect", "greeting", "feat", "login", "pwd", "pasv", "epsv", "data-connection",
                     "list", "quit"]  # fmt: skip
    assert all(s.status == "ok" for s in result.steps)
    assert "1 line" in next(s for s in result.steps if s.name == "list").detail
    assert result.triage_prefill["protocol"] == "ftp" and result.triage_prefill["mode"] == "passive"


def test_inferred_protocol_tries_tls_and_says_so(anonymous_server: Server) -> None:
    result = probe(anonymous_server)
    assert result.inferred and "no standard port" in result.protocol_note
    assert result.failure is None
    auth = next(s for s in result.steps if s.name == "auth-tls")
    assert auth.status == "warn" and "tls-not-offered" in ids(result)


def test_private_address_in_pasv(nat_ftp_server: Server, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, nat_ftp_server.host, USER, PASSWORD)
    result = probe(nat_ftp_server, "ftp", credentials=netrc)
    assert failed_step(result) == "pasv"
    assert ids(result)[0] == "passive-private-address"
    assert "10.0.0.5" in result.findings[0].summary and result.codes[0] == "ftp-227"
    # the probe never connects to the announced address: the listing still works through 127.0.0.1
    assert next(s for s in result.steps if s.name == "list").status == "ok"
    login = next(s for s in result.steps if s.name == "login")
    assert login.status == "ok" and login.command == "PASS ****" and "stored credentials" in login.detail
    assert result.triage_prefill["passive-address"] == "private" and result.triage_prefill["stage"] == "listing"


def test_passive_range_nothing_listens_on(closed_passive_server: Server) -> None:
    result = probe(closed_passive_server, "ftp")
    assert failed_step(result) == "data-connection"
    assert ids(result)[0] == "data-connection-failed" and "refused" in result.findings[0].summary
    assert result.codes[0] == "ftp-425"
    assert [s.name for s in result.steps][-1] == "quit"


def test_tls_required_for_login(ftps_required_server: Server) -> None:
    result = probe(ftps_required_server, "ftp")
    assert failed_step(result) == "login"
    assert ids(result)[0] == "tls-required"
    assert result.triage_prefill["tls-demanded"] == "yes" and result.triage_prefill["stage"] == "login"
    assert result.codes[0] == "ftp-550"


def test_self_signed_certificate(ftps_server: Server) -> None:
    result = probe(ftps_server, "ftpes")
    assert failed_step(result) == "certificate"
    assert ids(result)[0] == "tls-self-signed"
    assert result.codes[0] == "curl-60"
    assert result.tls == "explicit" and result.triage_prefill["protocol"] == "ftps-explicit"


def test_expired_certificate_and_the_probe_goes_on(expired_tls_server: Server) -> None:
    result = probe(expired_tls_server, "ftpes", ca_file=expired_tls_server.ca_file)
    assert failed_step(result) == "certificate"
    assert ids(result)[0] == "tls-expired" and "tls-untrusted" not in ids(result)
    assert "3 days ago" in result.findings[0].summary, result.findings[0].summary
    # reconnected without verification: logged in and listed over TLS
    statuses = {s.name: s.status for s in result.steps}
    assert statuses["prot"] == statuses["login"] == statuses["list"] == "ok"


def test_trusted_certificate_passes_and_optional_tls_is_a_warning(trusted_tls_server: Server) -> None:
    result = probe(trusted_tls_server, "ftpes", ca_file=trusted_tls_server.ca_file)
    assert result.failure is None, result.findings
    cert = next(s for s in result.steps if s.name == "certificate")
    assert cert.status == "ok" and "chain verified" in cert.detail
    assert next(s for s in result.steps if s.name == "tls-demanded").status == "warn"
    assert ids(result) == ["tls-not-demanded"] and result.triage_prefill["tls-demanded"] == "no"


def test_certificate_for_another_name(wrong_name_tls_server: Server) -> None:
    result = probe(wrong_name_tls_server, "ftpes", ca_file=wrong_name_tls_server.ca_file)
    assert failed_step(result) == "certificate"
    assert ids(result)[0] == "tls-hostname" and "ftp.example.com" in result.findings[0].summary


def test_implicit_ftps(vsftpd_implicit_server: Server) -> None:
    result = probe(vsftpd_implicit_server, "ftps")
    assert failed_step(result) == "certificate" and ids(result)[0] == "tls-self-signed"
    statuses = {s.name: s.status for s in result.steps}
    assert statuses["tls"] == statuses["greeting"] == statuses["login"] == statuses["list"] == "ok"
    assert result.tls == "implicit" and result.triage_prefill["protocol"] == "ftps-implicit"
    assert result.triage_prefill["server"] == "vsftpd"


def test_plain_ftp_against_implicit_ftps_port(vsftpd_implicit_server: Server) -> None:
    result = probe(vsftpd_implicit_server, "ftp", step=1.0)
    assert failed_step(result) == "greeting"
    assert ids(result) == ["implicit-tls-port"]


def test_implicit_ftps_against_plain_port(anonymous_server: Server) -> None:
    result = probe(anonymous_server, "ftps")
    assert failed_step(result) == "tls"
    assert ids(result) == ["tls-wrong-version"]


def test_anonymous_refused(no_anonymous_server: Server) -> None:
    result = probe(no_anonymous_server, "ftp")
    assert failed_step(result) == "login"
    assert ids(result) == ["anonymous-refused"] and result.codes[0] == "ftp-530"
    assert "FTPCODE_PROBE_CREDENTIALS" in result.findings[0].summary
    assert result.triage_prefill["anonymous"] == "yes"


def test_stored_password_is_not_sent_without_tls_unless_plain_ftp_was_asked(
    no_anonymous_server: Server, tmp_path: Path
) -> None:
    netrc = write_netrc(tmp_path, no_anonymous_server.host, USER, PASSWORD)
    result = probe(no_anonymous_server, credentials=netrc)  # inferred: FTP, then TLS if offered
    assert "credentials-held-back" in ids(result) and "anonymous-refused" in ids(result)
    assert probe(no_anonymous_server, "ftp", credentials=netrc).failure is None


def test_wrong_stored_password(no_anonymous_server: Server, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, no_anonymous_server.host, USER, "not-the-password")
    result = probe(no_anonymous_server, "ftp", credentials=netrc)
    assert failed_step(result) == "login" and ids(result) == ["login-failed"]
    assert "not-the-password" not in str(result.to_json())


def test_ssh_server_on_the_ftp_port(sshd_server: Server) -> None:
    result = probe(sshd_server, "ftp")
    assert failed_step(result) == "greeting"
    assert ids(result) == ["wrong-protocol-ssh-banner"] and "SSH-2.0-OpenSSH" in result.findings[0].summary
    assert result.codes[0] == "client-filezilla-ftp-to-sftp-server"
    assert "protocol" not in result.triage_prefill


def test_server_that_never_greets(silent_server: Server) -> None:
    result = probe(silent_server, "ftp", step=0.5)
    assert failed_step(result) == "greeting"
    assert ids(result) == ["no-greeting"]


def test_server_that_floods(flood_server: Server) -> None:
    result = probe(flood_server, "ftp")
    assert failed_step(result) == "greeting"
    assert ids(result) == ["flood"]


def test_nothing_listens() -> None:
    server = Server("127.0.0.1", closed_port(), USER, PASSWORD, Path("/nonexistent"))
    result = probe(server, "ftp")
    assert failed_step(result) == "connect"
    assert ids(result) == ["connect-refused"] and result.codes[0] == "winsock-10061"


def test_the_whole_probe_stays_within_its_time(silent_server: Server) -> None:
    """Total budget smaller than a step: the greeting is cut at the total, and the check for implicit TLS
    is not started."""
    result = probe(silent_server, "ftp", step=5.0, total=0.6)
    assert failed_step(result) == "greeting"
    assert ids(result) == ["no-greeting"]


# --- SFTP --------------------------------------------------------------------------------------------------


def test_ftp_server_on_the_sftp_port(anonymous_server: Server) -> None:
    result = probe(anonymous_server, "sftp")
    assert failed_step(result) == "ssh-banner"
    assert ids(result) == ["wrong-protocol-ftp-banner"] and result.codes[0] == "ftp-220"


def test_openssh_without_credentials(sshd_server: Server, tmp_path: Path) -> None:
    result = probe(sshd_server, "sftp")
    assert result.failure is None, result.steps
    steps = {s.name: s for s in result.steps}
    assert steps["ssh-banner"].detail.startswith("SSH-2.0-OpenSSH_")
    assert steps["key-exchange"].status == "ok" and steps["key-exchange"].detail
    expected = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "ssh_host_ed25519_key.pub")],
        capture_output=True, text=True, check=True,
    ).stdout.split()[1]  # fmt: skip
    assert steps["host-key"].detail == f"ssh-ed25519 {expected}"
    assert {"publickey", "password"} <= set(steps["auth-methods"].detail.split(", "))
    assert steps["sftp-login"].status == "skipped"
    assert result.triage_prefill["protocol"] == "sftp" and result.triage_prefill["server"] == "openssh"


def test_sftp_with_stored_credentials_lists_the_home_directory(sftp_server: Server, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, sftp_server.host, USER, PASSWORD)
    result = probe(sftp_server, "sftp", credentials=netrc)
    assert result.failure is None, result.steps
    steps = {s.name: s for s in result.steps}
    assert steps["auth-methods"].detail == "password" and steps["sftp-login"].status == "ok"
    assert steps["sftp-list"].detail.startswith("1 entries in /")


def test_sftp_wrong_password(sftp_server: Server, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path, sftp_server.host, USER, "not-the-password")
    result = probe(sftp_server, "sftp", credentials=netrc)
    assert failed_step(result) == "sftp-login"
    assert ids(result) == ["ssh-login-failed"] and result.codes[0] == "client-winscp-authentication-failed"
    assert "not-the-password" not in str(result.to_json())


def test_sftp_server_that_never_sends_a_banner(silent_server: Server) -> None:
    result = probe(silent_server, "sftp", step=0.5)
    assert failed_step(result) == "ssh-banner" and ids(result) == ["ssh-no-banner"]
