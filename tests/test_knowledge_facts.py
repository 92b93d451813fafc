"""Facts checked at their source (issue 12): each test holds one corrected fact, so the wrong claim cannot return.

The source of each fact is in the entry's `sources`; the comment above each test names it.
"""

from __future__ import annotations

import re

import pytest

from knowledge import digits
from knowledge.base import Entry, load
from knowledge.lookup import lookup
from knowledge.triage import load_tree


def entry(entry_id: str) -> Entry:
    return load().by_id[entry_id]


def text_of(item: Entry) -> str:
    """Everything an answer shows of the entry."""
    parts = [item.title, item.summary, item.details, item.message, item.origin, *item.causes, *item.user_action]
    parts += [*item.admin_action, *item.messages, *item.notes, *item.protocols.values()]
    return "\n".join(parts)


def step(step_id: str) -> str:
    return next(s.text for s in load_tree().steps if s.id == step_id)


# WinSCP source/core/SftpFileSystem.cpp: IsCapable(fcLocking) is false; only WebDAV sessions lock.
def test_winscp_is_not_named_as_sending_sftp_lock_requests() -> None:
    details = entry("sftp-26").details
    assert "WinSCP does not" in details
    assert not re.search(r"such as WinSCP", details)


# FileZilla's engine reads MODE Z from FEAT but never sends it; there is no compression setting.
def test_filezilla_is_not_told_to_disable_mode_z() -> None:
    assert "MODE Z" not in " ".join(entry("ftp-504").user_action)
    assert "FileZilla" not in " ".join(entry("ftp-504").user_action)


# vsftpd postlogin.c: STOR with write_enable=NO / anon_upload_enable=NO is '550 Permission denied.'
def test_disabled_uploads_are_550_not_553() -> None:
    assert not any("write_enable" in c for c in entry("ftp-553").causes)
    assert "'550 Permission denied.' when its own settings forbid the upload" in entry("ftp-553").details
    assert any("write_enable=NO" in c and "'550 Permission denied.'" in c for c in entry("ftp-550").causes)


# vsftpd: data timeout is 421 'Data timeout. Reconnect. Sorry.'; ProFTPD TimeoutStalled sends nothing;
# a full disk is vsftpd 451, ProFTPD 452.
def test_server_timeouts_and_full_disks_say_which_server_sends_what() -> None:
    for text in (text_of(entry("ftp-426")), step("426-server-timeouts")):
        assert "421 Data timeout. Reconnect. Sorry." in text
        assert "without" in text and "TimeoutStalled" in text
        assert "451" in text and "452" in text
    assert "451 Failure writing to local file." in entry("ftp-452").details


# vsftpd prelogin.c check_login_fails and ProFTPD mod_auth.c: failed-login limits answer 530 and close;
# ProFTPD MaxClients/MaxClientsPerHost answer 530; MaxInstances closes silently; IIS maxConnections is per site.
def test_login_and_connection_limits_name_the_right_reply() -> None:
    causes = " ".join(entry("ftp-421").causes)
    assert "max_login_fails" in causes and "530" in causes
    assert "MaxInstances without any reply" in causes
    assert "ProFTPD MaxInstances/MaxClientsPerHost" not in " ".join(entry("ftp-421").admin_action)
    per_ip = step("limit-server-per-ip")
    assert "MaxClientsPerHost answers 530" in per_ip and "total for the site, not per address" in per_ip
    assert "MaxInstances without a reply" in step("limit-server-total")
    assert any("max_login_fails" in c and "530" in c for c in entry("ftp-530").causes)


# ProFTPD contrib/mod_tls.c: 'SSL/TLS required on the data channel' is R_522, the control channel R_550.
def test_proftpd_data_channel_tls_refusal_is_522() -> None:
    assert "550 SSL/TLS required on the data channel" not in text_of(entry("client-proftpd-tls-required"))
    assert "SSL/TLS required on the data channel" not in text_of(entry("ftp-550"))
    assert "522 SSL/TLS required on the data channel" in text_of(entry("ftp-522"))


# curl src/tool_operate.c prints 'curl: (N) ' + the error buffer, else curl_easy_strerror().
@pytest.mark.parametrize(
    ("entry_id", "printed"),
    [
        ("curl-10", "curl: (10) FTP: The server failed to connect to data port"),
        ("curl-17", "curl: (17) Could not set desired mode"),
        ("curl-64", "curl: (64) Requested SSL level failed"),
    ],
)
def test_curl_messages_are_what_curl_prints(entry_id: str, printed: str) -> None:
    assert entry(entry_id).message == printed


# RFC 2228 §5.2: the text of 631/632/633 is a base64-encoded message produced by the security mechanism.
def test_class_6_is_described_as_rfc_2228_says() -> None:
    _, meaning = digits.first_digit("6")
    assert "base64 of another reply" not in meaning
    assert "produced by the security mechanism" in meaning and "§5.2" in meaning


# RFC 959 §8 assigns port 21 (§3.2 is about data connections); RFC 4217 never mentions port 990.
def test_port_sources_cite_the_right_documents() -> None:
    sources = [s.source for s in load_tree().steps]
    assert not any("§3.2 (port 21)" in s for s in sources)
    assert not any("RFC 4217 (990" in s for s in sources)
    assert any("RFC 959 §8 (port 21)" in s for s in sources)


# FileZilla settingsdialog.cpp: the Transfer Mode box is on the page Connection > FTP.
def test_filezilla_passive_setting_path() -> None:
    for entry_id in ("ftp-425", "ftp-501"):
        actions = " ".join(entry(entry_id).user_action)
        assert "Edit > Settings > Connection > FTP > Transfer Mode" in actions
        assert "Settings > FTP > Passive" not in actions


# OpenSSH sftp-server.c: READ/WRITE on a bad handle -> SSH2_FX_FAILURE, CLOSE -> SSH2_FX_NO_SUCH_FILE.
def test_openssh_bad_handle_statuses() -> None:
    details = entry("sftp-9").details
    assert "READ and WRITE" in details and "SSH_FX_FAILURE" in details
    assert "CLOSE on an unknown handle with SSH_FX_NO_SUCH_FILE" in details


# vsftpd ssl.c handle_auth accepts TLS, TLS-C, SSL and TLS-P.
def test_vsftpd_is_not_the_example_of_refusing_auth_ssl() -> None:
    causes = " ".join(entry("ftp-504").causes)
    assert "AUTH SSL on a server that only knows AUTH TLS, vsftpd" not in causes
    assert "TLS, TLS-C, SSL and TLS-P" in causes


# vsftpd's parseconf.c has no reverse_lookup_enable: it comes from distribution patches.
def test_reverse_lookup_enable_is_marked_as_a_distribution_patch() -> None:
    for item in load().entries:
        for line in (*item.admin_action, *item.user_action, *item.causes):
            if "reverse_lookup_enable" in line:
                assert "not in upstream vsftpd" in line, item.id


# RFC 959 §5.4: ACCT answers 230, 202, 530, 500, 501, 503, 421 — never 332.
def test_332_is_not_a_reply_to_acct() -> None:
    assert "ACCT" not in entry("ftp-332").commands


# pyftpdlib 2.2.0 handlers/ftp/control.py: '554 REST position (N) > file size (M)'.
def test_pyftpdlib_554_text() -> None:
    details = entry("ftp-554").details
    assert "554 Invalid REST parameter" not in details.replace("\\\n", "")
    assert "REST position (N) > file size (M)" in details


# vsftpd utility.c: '500 OOPS: ' + the reason; each common one has its own entry, found from the pasted line.
@pytest.mark.parametrize(
    ("line", "entry_id"),
    [
        ("500 OOPS: vsftpd: refusing to run with writable root inside chroot()", "client-vsftpd-writable-chroot"),
        ("Response: 500 OOPS: cannot change directory:/home/anna", "client-vsftpd-oops-cannot-change-directory"),
        (
            "500 OOPS: error:1408A0C1:SSL routines:ssl3_get_client_hello:no shared cipher",
            "client-vsftpd-oops-ssl-handshake",
        ),
        ("500 OOPS: SSL: cannot load RSA certificate", "client-vsftpd-oops-ssl-setup"),
        ("500 OOPS: child died", "client-vsftpd-oops-child-died"),
        ("500 OOPS: priv_sock_get_cmd", "client-vsftpd-oops-priv-sock-get-cmd"),
    ],
)
def test_vsftpd_oops_lines_find_their_own_entry_first(line: str, entry_id: str) -> None:
    found = [m.entry.id for m in lookup(line).matches]
    assert found[0] == entry_id
    assert "ftp-500" in found


def test_a_plain_reply_line_still_finds_the_code_first() -> None:
    assert lookup("Response: 530 Login incorrect.").matches[0].entry.id == "ftp-530"
    assert lookup("500 Unknown command.").matches[0].entry.id == "ftp-500"
