"""The scanner on sample logs of clients and servers that cannot run here (FileZilla, WinSCP, IIS, ProFTPD),
written in their real formats, plus pasted-through-Slack text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    assert result.triage_prefill == {"protocol": "ftp", "mode": "passive", "stage": "listing", "client": "filezilla"}
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
    assert result.failure is not None and (result.failure.line, result.failure.stage) == (2, "connect")
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
    assert result.triage_prefill == {"protocol": "ftp", "mode": "active", "stage": "listing", "client": "winscp"}


def test_winscp_sftp_packet_too_large_is_text_this() -> None:
    assert decode_length(1416128883) == "This"
    result = scan(sample("winscp_sftp_too_large.log"))
    assert result.protocol == "sftp"
    assert result.failure is not None and result.failure.stage == "connect"
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
