"""The scanner on sample logs of clients and servers that cannot run here (FileZilla, WinSCP, IIS, ProFTPD),
written in their real formats, plus pasted-through-Slack text."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.logscan import MAX_SCAN_BYTES, scan
from knowledge.logscan.findings import decode_length

LOGS = Path(__file__).parent / "logs"


def sample(name: str) -> str:
    return (LOGS / name).read_text()


def line_of(text: str, number: int) -> str:
    return text.splitlines()[number - 1]


def test_filezilla_passive_reply_with_private_address() -> None:
    text = sample("filezilla_passive_nat.log")
    result = scan(text)
    assert result.format == "filezilla" and result.protocol == "ftp"
    assert result.failure is not None
    assert (result.failure.command, result.failure.stage) == ("LIST", "data-connection")
    assert "Connection timed out" in line_of(text, result.failure.line)
    first = result.findings[0]
    assert first.id == "passive-private-address"
    assert "10.0.0.5:50012" in first.summary  # 195 * 256 + 92
    assert any("227 Entering Passive Mode" in line_of(text, n) for n in first.evidence_lines)
    assert any("unroutable" in line_of(text, n) for n in first.evidence_lines)
    assert result.codes[0] == "ftp-425"
    assert result.triage_prefill == {
        "protocol": "ftp", "mode": "passive", "stage": "listing", "client": "filezilla", "server": "vsftpd",
    }  # fmt: skip
    assert "data channel: passive 10.0.0.5:50012" in result.timeline
    # AUTH TLS was refused and FileZilla went on in plain text: reported, not the failure
    assert "tls-refused" in [f.id for f in result.findings]


def test_filezilla_log_file_with_timestamps_tls_required() -> None:
    result = scan(sample("filezilla_tls_required_timestamps.log"))
    assert result.format == "filezilla"
    assert result.exchanges[0].code == "220" and result.exchanges[0].text.count("\n") == 1  # 220- joined
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.stage) == ("PASS ****", "530", "login")
    assert result.findings[0].id == "tls-required"


def test_filezilla_connection_refused() -> None:
    result = scan(sample("filezilla_refused.log"))
    # two attempts in one paste: the last one that failed is the failure, the first is context
    assert result.failure is not None and (result.failure.line, result.failure.stage) == (6, "connect")
    assert result.findings[0].id == "connect-refused"
    assert result.findings[0].evidence_lines == [2, 6]
    assert "192.0.2.44:21" in result.findings[0].summary


def test_winscp_active_mode_data_connection() -> None:
    result = scan(sample("winscp_ftp_active_timeout.log"))
    assert result.format == "winscp" and result.protocol == "ftp"
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.stage) == ("MLSD", "425", "data-connection")
    assert [f.id for f in result.findings] == ["active-mode-blocked"]
    assert "192.168.1.23:55824" in result.findings[0].summary  # 218 * 256 + 16
    feat = next(e for e in result.exchanges if e.command == "FEAT")
    assert feat.code == "211" and feat.text.endswith("211 End")
    assert result.triage_prefill == {
        "protocol": "ftp", "mode": "active", "stage": "listing", "client": "winscp", "server": "proftpd",
    }  # fmt: skip


def test_winscp_sftp_packet_too_large_is_text_this() -> None:
    assert decode_length(1416128883) == "This"
    result = scan(sample("winscp_sftp_too_large.log"))
    assert result.protocol == "sftp"
    assert result.failure is not None and result.failure.stage == "login"  # after "Access granted"
    first = result.findings[0]
    assert first.id == "sftp-shell-output"
    assert "0x54686973" in first.summary and "'This'" in first.summary


def test_ftp_banner_read_as_packet_length() -> None:
    number = int.from_bytes(b"220 ", "big")
    result = scan(f"Received message too long {number}\nEnsure the remote shell produces no output\n")
    assert result.format == "openssh"
    assert result.findings[0].id == "wrong-protocol-ftp-banner"
    assert "'220 '" in result.findings[0].summary


def test_iis_w3c_log() -> None:
    result = scan(sample("iis_ftp_w3c.log"))
    assert result.format == "iis"
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.stage) == ("PASS ***", "530", "login")
    assert "1326" in result.failure.text
    assert [f.id for f in result.findings] == ["login-failed", "not-found-or-denied"]
    retr = next(e for e in result.exchanges if e.command == "RETR report.csv")
    assert retr.code == "550" and "file not found" in retr.text


def test_proftpd_extended_and_system_log() -> None:
    result = scan(sample("proftpd_logs.log"))
    assert result.format == "proftpd"
    assert [(e.command, e.code) for e in result.exchanges][:2] == [("USER heidi", "331"), ("PASS ****", "230")]
    assert result.failure is not None and (result.failure.command, result.failure.code) == (
        "CWD /uploads/incoming",
        "550",
    )
    assert {"not-found-or-denied", "login-failed"} == {f.id for f in result.findings}


def test_openssh_permission_denied() -> None:
    result = scan(sample("openssh_publickey.log"))
    assert result.format == "openssh" and result.protocol == "sftp"
    assert result.failure is not None and result.failure.stage == "login"
    assert result.findings[0].id == "login-failed"
    assert result.triage_prefill == {"protocol": "sftp", "stage": "login"}


def test_slack_escaped_paste_with_fences() -> None:
    result = scan(sample("slack_escaped_curl.log"))
    assert result.format == "curl"
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.line) == ("PASS ****", "421", 7)
    assert result.findings[0].id == "too-many-connections"
    assert result.codes[:2] == ["ftp-421", "curl-8"]
    assert "s3cr3t" not in json.dumps(result.to_json())


def test_multi_line_reply_is_one_exchange_paired_with_its_command() -> None:
    text = "220 hi\nFEAT\n211-Features:\n MDTM\n SIZE\n211 End\nQUIT\n221 Bye\n"
    result = scan(text)
    assert result.format == "transcript"
    assert [(e.line, e.command, e.code) for e in result.exchanges] == [
        (1, None, "220"), (3, "FEAT", "211"), (8, "QUIT", "221"),
    ]  # fmt: skip
    assert result.exchanges[1].text == "211-Features:\n MDTM\n SIZE\n211 End"


def test_transcript_421_at_connect() -> None:
    result = scan("421 Too many users - please try again later\n")
    assert result.failure is not None and result.failure.stage == "connect"
    assert result.findings[0].id == "too-many-connections"


def test_to_json_has_the_agreed_keys() -> None:
    data = scan(sample("filezilla_passive_nat.log")).to_json()
    assert {"format", "protocol", "exchanges", "failure", "findings"} <= set(data)
    assert set(data["exchanges"][0]) == {"line", "command", "code", "text"}
    assert set(data["failure"]) == {"line", "command", "code", "text", "stage"}
    assert set(data["findings"][0]) == {"id", "summary", "evidence_lines"}
    json.dumps(data)


def test_text_over_the_limit_is_cut_and_flagged() -> None:
    block = sample("filezilla_refused.log")
    text = block * (MAX_SCAN_BYTES // len(block) + 2)
    result = scan(text)
    assert result.truncated
    assert result.findings[0].id == "connect-refused"
    assert not scan(block).truncated


@pytest.mark.parametrize("text", ["", "\n\n", "hello world", "```\n```", "&lt;&gt;&amp;"])
def test_nothing_to_say(text: str) -> None:
    result = scan(text)
    assert result.failure is None and result.findings == [] and result.exchanges == []


# --- the interactive ftp command (inetutils/netkit/BSD) -------------------------------------------------


@pytest.mark.parametrize("name", ["ftp_client_get_missing.log", "ftp_client_debug.log"])
def test_ftp_client_get_of_a_missing_file_fails_at_the_download(name: str) -> None:
    text = sample(name)
    result = scan(text)
    assert result.format == "ftp-client" and result.protocol == "ftp"
    assert result.failure is not None
    failed = (result.failure.command, result.failure.code, result.failure.stage)
    assert failed == ("RETR missing.txt", "550", "download")
    assert line_of(text, result.failure.line) == "550 Failed to open file."
    assert result.findings[0].id == "not-found-or-denied"
    assert result.triage_prefill["stage"] == "download" and result.triage_prefill["mode"] == "active"
    assert "logged in as alice" in result.timeline
    assert [e.command for e in result.exchanges[:3]] == [None, "USER alice", "PASS ****"]


def test_ftp_client_plain_output_infers_the_data_set_up() -> None:
    result = scan(sample("ftp_client_get_missing.log"))
    assert [(e.command, e.code) for e in result.exchanges[3:]] == [
        ("CWD reports", "250"), ("PORT", "200"), ("RETR missing.txt", "550"), ("QUIT", "221"),
    ]  # fmt: skip


def test_ftp_client_ls_with_425_fails_at_the_listing() -> None:
    text = sample("ftp_client_ls_refused_data.log")
    result = scan(text)
    assert result.failure is not None
    assert (result.failure.command, result.failure.code, result.failure.stage) == ("LIST", "425", "data-connection")
    assert result.triage_prefill["stage"] == "listing"
    assert result.findings[0].id == "active-mode-blocked"
    assert result.exchanges[1].command == "USER alice"  # the default of "Name (host:alice):"


def test_ftp_client_debug_ls_with_425_is_the_listing() -> None:
    text = sample("ftp_client_debug.log")
    cut = text.index("ftp> get")
    result = scan(text[:cut] + text[text.index("ftp> ls") :])
    assert result.failure is not None and (result.failure.command, result.failure.code) == ("LIST", "425")
    assert result.triage_prefill["stage"] == "listing"
    assert "active-mode-blocked" in [f.id for f in result.findings]


def test_ftp_client_passive_and_connection_refused() -> None:
    passive = scan(
        "Connected to 127.0.0.1.\n220 (vsFTPd 3.0.3)\nftp> user anonymous\n230 Login successful.\n"
        "ftp> get missing.txt\n227 Entering Passive Mode (127,0,0,1,86,106).\n550 Failed to open file.\n"
    )
    assert [(e.command, e.code) for e in passive.exchanges[1:]] == [
        ("USER anonymous", "230"), ("PASV", "227"), ("RETR missing.txt", "550"),
    ]  # fmt: skip
    refused = scan("ftp: connect to address 192.0.2.44: Connection refused\nftp: no response from host\nftp> \n")
    assert refused.format == "ftp-client" and refused.failure is not None and refused.failure.stage == "connect"
    assert refused.timeline == ["could not connect to 192.0.2.44"]


# --- reply codes in free text ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["4660/P5ih is the ticket\n", "see\n4660/P5\n", "2201x\n5501\n"])
def test_a_number_glued_to_text_is_no_reply(text: str) -> None:
    result = scan(text)
    assert result.exchanges == [] and result.failure is None


def test_a_reply_is_three_digits_then_space_hyphen_or_line_end() -> None:
    result = scan("220 hi\nUSER bob\n331\nPASS x\n530-No\n530 Login incorrect.\n")
    assert [(e.command, e.code) for e in result.exchanges] == [(None, "220"), ("USER bob", "331"), ("PASS ****", "530")]


# --- form feeds and vertical tabs -----------------------------------------------------------------------


def test_page_breaks_are_whitespace_and_keep_line_numbers() -> None:
    text = "220 Ready\n\fUSER bob\n331 Password\vplease\n\f\vPASS x\n530 Login incorrect.\n"
    result = scan(text)
    assert [(e.line, e.command, e.code) for e in result.exchanges] == [
        (1, None, "220"), (3, "USER bob", "331"), (5, "PASS ****", "530"),
    ]  # fmt: skip
    assert result.exchanges[1].text == "331 Password please"


_LOOKS_LIKE_FTP = re.compile(
    r"[\W_]*(?:(?:[CS]:|ftp>)[\W_]*)?(?:\d{3}(?:[\s-]|$)|[A-Za-z]{3,4}(?:\s|$))|\s*[<>*]"
)  # a reply, a command or a client's mark (curl's "> "): what a parser may read as a step
# Lines of noise, digits and separators: numbers glued to text ("4660/P5"), page breaks, marks.
_NOISE_TOKEN = st.one_of(
    st.text(alphabet=string.printable + "\f\v", max_size=10),
    st.from_regex(r"[0-9]{1,6}", fullmatch=True),
    st.sampled_from([" ", "-", "\f", "\v", "\t", "/", ">", "<--", "C:", "ftp>", "\f220", "\v530 "]),
)
_NOISE_LINE = st.lists(_NOISE_TOKEN, max_size=12).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_NOISE_LINE, max_size=150))
def test_random_text_without_ftp_lines_has_no_failure_and_hardly_any_exchanges(lines: list[str]) -> None:
    text = "\n".join(lines)
    kept = ["x" + line if _LOOKS_LIKE_FTP.match(line) else line for line in re.split(r"\r\n|\r|\n", text)]
    result = scan("\n".join(kept))
    assert result.failure is None
    assert len(result.exchanges) <= 2


# --- what the timeline and the triage answers say --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'Status:\tConnecting to 192.0.2.44:21...\nError:\tConnection attempt failed with "ECONNREFUSED - Connection '
        'refused by server".\nError:\tCould not connect to server\n',
        "*   Trying 192.0.2.44:21...\n* connect to 192.0.2.44 port 21 failed: Connection refused\n"
        "* Failed to connect to 192.0.2.44 port 21 after 0 ms: Couldn't connect to server\n"
        "curl: (7) Failed to connect to 192.0.2.44 port 21 after 0 ms: Couldn't connect to server\n",
        "*   Trying 192.0.2.44:21...\n* Connection timed out after 3001 milliseconds\n"
        "curl: (28) Connection timed out after 3001 milliseconds\n",
    ],
)
def test_a_refused_or_timed_out_connection_is_no_connection(text: str) -> None:
    result = scan(text)
    assert result.timeline[0] == "could not connect to 192.0.2.44:21"
    assert not any(line.startswith("connected") for line in result.timeline)


def test_a_connection_that_got_through_then_timed_out_was_connected() -> None:
    result = scan(
        "Status:\tConnecting to 192.0.2.44:21...\nStatus:\tConnection established, waiting for welcome message...\n"
        "Error:\tConnection timed out after 20 seconds of inactivity\n"
    )
    assert result.timeline[0] == "connected to 192.0.2.44:21"


@pytest.mark.parametrize(
    ("greeting", "server"),
    [
        ("220 (vsFTPd 3.0.3)", "vsftpd"),
        ("220 ProFTPD 1.3.8 Server (Debian) [203.0.113.5]", "proftpd"),
        (
            "220---------- Welcome to Pure-FTPd [privsep] [TLS] ----------\n220-You are user number 1 of 50.\n"
            "220 This is a private system - No anonymous login",
            "pureftpd",
        ),
        ("220-FileZilla Server 1.8.1\n220 Please visit https://filezilla-project.org/", "filezilla-server"),
        ("220 Microsoft FTP Service", "iis"),
        ("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6", "openssh"),
        ("220 Welcome to the example FTP service", None),
    ],
)
def test_the_greeting_names_the_server(greeting: str, server: str | None) -> None:
    lines = "".join(f"Response:\t{line}\n" for line in greeting.splitlines())
    result = scan(f"Status:\tConnecting to 203.0.113.5:21...\n{lines}Command:\tUSER bob\nResponse:\t331 Password\n")
    assert result.triage_prefill.get("server") == server


def test_the_clients_own_ssh_version_does_not_name_the_server() -> None:
    text = "debug1: Local version string SSH-2.0-OpenSSH_9.6\n"
    text += "ssh: connect to host 192.0.2.9 port 22: Connection refused\n"
    assert "server" not in scan(text).triage_prefill
    remote = text + "debug1: Remote protocol version 2.0, remote software version OpenSSH_8.9p1 Ubuntu-3\n"
    assert scan(remote).triage_prefill["server"] == "openssh"


@pytest.mark.parametrize(
    ("name", "server"),
    [("iis_ftp_w3c.log", "iis"), ("proftpd_logs.log", "proftpd"), ("winscp_sftp_too_large.log", "openssh")],
)
def test_the_log_format_names_the_server(name: str, server: str) -> None:
    assert scan(sample(name)).triage_prefill["server"] == server


def test_vsftpd_log_names_the_server() -> None:
    log = (
        'Tue May  1 10:00:01 2024 [pid 1234] CONNECT: Client "203.0.113.7"\n'
        'Tue May  1 10:00:01 2024 [pid 1234] FTP response: Client "203.0.113.7", "220 Ready."\n'
        'Tue May  1 10:00:02 2024 [pid 1234] FTP command: Client "203.0.113.7", "USER alice"\n'
    )
    result = scan(log)
    assert result.format == "vsftpd" and result.triage_prefill["server"] == "vsftpd"


# --- round 5 of the wild corpus: what real pastes needed ------------------------------------------------------


def test_filezilla_sftp_stage_follows_its_lowercase_commands() -> None:
    log = (
        "Status:\tConnected to sftp.example.com\n"
        'Command:\tput "C:\\data\\a.csv" "a.csv"\n'
        "Error:\t/home/alice/a.csv: open for write: permission denied\n"
    )
    result = scan(log)
    assert result.protocol == "sftp"
    assert result.failure is not None and result.failure.stage == "upload"


def test_sftp_prompt_commands_give_the_stage() -> None:
    log = "Connected to 192.0.2.9.\nsftp> put f.txt\nUploading f.txt to /d/f.txt\n"
    log += 'remote open("/d/f.txt"): Permission denied\n'
    result = scan(log)
    assert result.failure is not None and result.failure.stage == "upload"


@pytest.mark.parametrize(
    ("dialog", "stage"),
    [
        ("Permission denied.\nError code: 3\nError message from server: Permission denied\n", "transfer"),
        ("Copying files to remote side failed.\nPermission denied.\nError code: 3\n", "upload"),
        ("Error listing directory '/x'.\nPermission denied.\nError code: 3\n", "listing"),
    ],
)
def test_winscp_dialog_stage_comes_from_its_words_not_a_default(dialog: str, stage: str) -> None:
    result = scan(dialog)
    assert result.failure is not None and result.failure.stage == stage


def test_winscp_lines_wrapped_by_a_forum_are_joined() -> None:
    log = (
        ". 2009-10-24 21:51:41.500 [Tunnel] Connecting to 192.0.2.9 port 22\n"
        ". 2009-10-24 21:51:43.031 [Tunnel] Failed to connect to 192.0.2.9: Network error: \n"
        "\n"
        "Connection refused\n"
    )
    result = scan(log)
    assert result.failure is not None and result.failure.line == 2
    assert result.failure.text.endswith("Network error: Connection refused")


def test_a_new_greeting_ends_the_command_left_waiting() -> None:
    log = (
        "Status:\tConnecting to 192.0.2.9:21...\nResponse:\t220 ready\nCommand:\tLIST\n"
        "Error:\tConnection timed out after 20 seconds of inactivity\n"
        "Status:\tConnecting to 192.0.2.9:21...\nResponse:\t220 ready\nCommand:\tUSER bob\n"
        "Response:\t530 Login incorrect.\n"
    )
    result = scan(log)
    assert [(e.command, e.code) for e in result.exchanges][:3] == [(None, "220"), ("LIST", None), (None, "220")]
    assert result.failure is not None and (result.failure.code, result.failure.line) == ("530", 8)


def test_xferlog_incomplete_upload() -> None:
    log = (
        "Mon May 27 10:23:41 2024 0 203.0.113.8 24297 data/a.tar.gz b _ o r alice ftp 0 * c\n"
        "Mon May 27 10:23:42 2024 0 203.0.113.8 17458 data/b.tar.gz b _ i r alice ftp 0 * i\n"
    )
    result = scan(log)
    assert (result.format, result.protocol) == ("xferlog", "ftp")
    assert result.failure is not None
    failure = result.failure
    assert (failure.command, failure.code, failure.stage) == ("STOR data/b.tar.gz", "426", "upload")
    assert scan(log.replace(" ftp 0", " sftp 0")).protocol == "sftp"


def test_libcurl_debug_callback_lines_read_as_curl() -> None:
    log = (
        "CURLINFO_TEXT: 14.32.45.346 Connected to 192.0.2.9 port 21\nCURLINFO_HEADER_IN: 14.32.45.398 220 ready\n"
        "CURLINFO_HEADER_OUT: 14.32.45.407 USER bob\nCURLINFO_HEADER_IN: 14.32.45.459 530 Login incorrect.\n"
    )
    result = scan(log)
    assert result.format == "curl"
    assert result.failure is not None and (result.failure.command, result.failure.code) == ("USER bob", "530")


def test_a_password_sent_with_quotes_or_odd_characters_is_named() -> None:
    log = "> USER bob\n< 331 Password required\n> PASS 'p\u00e4ss#1'\n< 530 Login authentication failed\n"
    result = scan(log)
    assert "p\u00e4ss" not in json.dumps(result.to_json())
    assert [f.id for f in result.findings][:2] == ["password-special-characters", "login-failed"]
    plain = scan(log.replace("'p\u00e4ss#1'", "hunter2"))
    assert "password-special-characters" not in [f.id for f in plain.findings]


# --- round 6 -----------------------------------------------------------------------------------------------


def test_translated_filezilla_tls_and_timeout_are_read() -> None:
    tls = "状态:\t正在连接 192.0.2.5:21...\n状态:\t初始化 TLS 中...\n状态:\tTLS 连接已建立。\n状态:\t已登录\n"
    assert scan(tls).protocol == "ftps"
    timeout = "状态:\t正在连接 192.0.2.5:21...\n错误:\t20 秒后无活动，连接超时\n错误:\t无法连接到服务器\n"
    result = scan(timeout)
    assert result.failure is not None and result.failure.line == 2
    assert [f.id for f in result.findings] == ["connect-timeout"]


def test_ftp_command_meeting_an_ssh_server_is_an_ftp_session() -> None:
    log = "ftp> open sftp.example.com 2222\nConnected to sftp.example.com.\nSSH-2.0-OpenSSH_8.9\n"
    log += "Connection closed by remote host.\n"
    result = scan(log)
    assert (result.format, result.protocol) == ("ftp-client", "ftp")
    assert result.findings[0].id == "wrong-protocol-ssh-banner"


def test_an_unusable_key_file_is_the_failure_not_the_refused_login() -> None:
    log = (
        'Exception calling "Open": "No supported authentication methods available (server sent: publickey)\n'
        "Authentication log (see session log for details):\n"
        'Unable to load key file "C:\\k.ppk" (PuTTY key format too new)\n'
    )
    result = scan(log)
    assert result.failure is not None and result.failure.line == 3 and result.failure.stage == "login"
    assert result.findings[0].id == "key-file-unusable" and "PPK version 3" in result.findings[0].summary


def test_server_refusing_a_shell_not_in_etc_shells() -> None:
    log = "Oct  5 16:25:47 host proftpd[8811]: host (::ffff:192.0.2.7[::ffff:192.0.2.7]) - USER bob (Login failed): "
    log += "Invalid shell: '/usr/bin/lshell'\n"
    result = scan(log)
    assert result.failure is not None and result.failure.stage == "login"
    assert result.findings[0].id == "invalid-shell"


def test_epsv_refused_without_fallback() -> None:
    result = scan("FTPException: Could not start Passive Mode (Response: 500 'EPSV': command not understood.\n")
    assert result.failure is not None and (result.failure.command, result.failure.code) == ("EPSV", "500")
    assert result.findings[0].id == "epsv-refused"
    fallback = scan(
        "> EPSV\n< 500 'EPSV': command not understood.\n> PASV\n< 227 Entering Passive Mode (192,0,2,5,4,1)\n"
    )
    assert "epsv-refused" not in [f.id for f in fallback.findings]


# --- round 7 -----------------------------------------------------------------------------------------------

_IIS_ROWS = (
    "2023-12-29 08:11:51 192.0.2.53 - 192.0.2.52 21 ControlChannelOpened - - 0 0 59aec49f-3f2b-4057-8297-a6bfe096d8e6 "
    "-\n"
    "2023-12-29 08:11:51 192.0.2.53 - 192.0.2.52 21 USER anonymous 331 0 0 59aec49f-3f2b-4057-8297-a6bfe096d8e6 -\n"
    "2023-12-29 08:11:51 192.0.2.53 - 192.0.2.52 21 PASS IEUser@ 530 1326 42 59aec49f-3f2b-4057-8297-a6bfe096d8e6 -\n"
    "2023-12-29 08:11:55 192.0.2.53 - 192.0.2.52 21 USER bob 331 0 0 bf304234-f27d-4562-ad02-12a82db1305f -\n"
    "2023-12-29 08:11:55 192.0.2.53 - 192.0.2.52 21 PASS *** {status} bf304234-f27d-4562-ad02-12a82db1305f /\n"
)


def test_iis_rows_without_their_header() -> None:
    result = scan(_IIS_ROWS.format(status="530 1326 41"))
    assert (result.format, result.protocol) == ("iis", "ftp")
    assert [(e.command, e.code) for e in result.exchanges][1:3] == [("PASS ****", "530"), ("USER bob", "331")]
    assert result.timeline[0] == "client 192.0.2.53 connected"


def test_an_anonymous_try_before_the_account_is_no_failure() -> None:
    # Windows Explorer and browsers log in as anonymous first, then ask for the account
    failed = scan(_IIS_ROWS.format(status="530 1326 41"))
    assert failed.failure is not None and failed.failure.line == 5
    assert [f.evidence_lines for f in failed.findings] == [[5]]
    assert "'bob'" in failed.findings[0].summary and "login refused for bob (530)" in failed.timeline
    worked = scan(_IIS_ROWS.format(status="230 0 0"))
    assert worked.failure is None and worked.findings == []
    assert "logged in as bob" in worked.timeline
    alone = scan("\n".join(_IIS_ROWS.splitlines()[:3]))  # nothing came after it: the refusal stands
    assert alone.failure is not None and alone.failure.line == 3


def test_winscp_sftp_subsystem_ending_at_once_is_no_wrong_password() -> None:
    log = (
        ". 2014-01-19 21:51:54.730 Access granted\n. 2014-01-19 21:51:54.988 Opened channel for session\n"
        ". 2014-01-19 21:51:55.050 Started a shell/command\n"
        ". 2014-01-19 21:51:55.050 Server sent command exit status 1\n"
        "* 2014-01-19 21:51:55.090 (EFatal) Connection has been unexpectedly closed. "
        "Server sent command exit status 1.\n"
        "* 2014-01-19 21:51:55.090 Authentication failed.\n"
    )
    result = scan(log)
    assert (result.format, result.protocol) == ("winscp", "sftp")
    assert result.failure is not None and (result.failure.line, result.failure.stage) == (4, "login")
    assert [f.id for f in result.findings] == ["sftp-subsystem-failed"]
    assert result.codes[0] == "client-winscp-unexpectedly-closed-exit-status"
    closing = ". 2014-01-19 21:51:59.000 Server sent command exit status 0\n"  # a normal end of session
    assert scan(log.split("\n")[0] + "\n" + closing).failure is None


def test_text_read_as_an_sftp_packet_length_is_after_the_login_an_ftp_greeting_before() -> None:
    profile = scan("Received too large (172781415 B) SFTP packet. Max supported packet size is 102400 B\n")
    assert profile.failure is not None and profile.failure.stage == "login"
    assert profile.triage_prefill["stage"] == "login"
    greeting = scan(f"Received message too long {int.from_bytes(b'220 ', 'big')}\n")
    assert greeting.failure is not None and greeting.failure.stage == "connect"


def test_a_dialog_pasted_in_double_quotes() -> None:
    dialog = (
        '"Connection has been unexpectedly closed. Server sent command exit status 1.\n'
        'Cannot initialize SFTP protocol. Is the host running a SFTP server?"\n'
    )
    result = scan(dialog)
    assert (result.format, result.protocol) == ("winscp", "sftp")
    assert result.failure is not None and result.failure.text.startswith("Connection has been")
    assert [f.id for f in result.findings] == ["sftp-subsystem-failed"]
