"""Every checklist fits the person asking: over every path of the tree, no step or offered option speaks to another
client, server or protocol than the ones chosen, and every checklist has at least three steps.

What a text names is read from the text itself, as the person sees it: a step that names one client (or server)
is for that client's users; a step that names several side by side compares them and fits anyone. Protocol-bound
wording (PASV, passive ports, AUTH TLS, port 21 ... for FTP; sshd, SSH keys, ChrootDirectory, port 22 ... for SFTP)
must not reach a user of the other protocol unless the text sets the two side by side.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

import pytest

from knowledge.triage import Question, Step, TriageState, load_tree
from knowledge.triage.paths import sample_codes
from tests.triage_walk import endings

CLIENTS = {
    "filezilla": re.compile(r"\bFileZilla\b(?!\s+Server)|Site Manager"),
    "winscp": re.compile(r"\bWinSCP\b"),
    "curl": re.compile(r"\bcurl\b"),
    "lftp": re.compile(r"\blftp\b"),
    "script": re.compile(r"\bftplib\b|\bparamiko\b|FtpWebRequest|\.NET\b|\bPython\b"),
}
SERVERS = {
    "vsftpd": re.compile(r"\bvsftpd\b"),
    "proftpd": re.compile(r"\bProFTPD\b"),
    "pureftpd": re.compile(r"\bPure-FTPd\b"),
    "filezilla-server": re.compile(r"\bFileZilla Server\b"),
    "iis": re.compile(r"\bIIS\b"),
    "openssh": re.compile(r"\bOpenSSH\b|\bsshd\b"),
}
# FTP commands are matched in capitals only: "PORT" is a command, "port" a number on any protocol
FTP_WORDS = re.compile(
    r"\bFTPS?\b|\bFTPES\b|\b22[79]\b|\b(?:PASV|EPSV|EPRT|PORT|PROT|PBSZ|AUTH TLS|CCC|STOR|RETR|APPE|NLST|MLSD|CWD|PWD|"
    r"MKD|RMD|DELE|RNFR|RNTO|REST|ABOR|NOOP)\b|"
    r"(?i:\bpassive\b|\bactive mode\b|\bport 21\b|\bport 990\b|\bftps?://|\bftpes://)"
)
SSH_WORDS = re.compile(
    r"(?i:\bSSH\b|\bsshd\b|\bSFTP\b|\bsftp://|\bport 22\b|ChrootDirectory|internal-sftp|sftp-server|\bSSH_FX)"
)
FTP_PROTOCOLS = {"ftp", "ftps-explicit", "ftps-implicit"}
FTP_SERVERS = {"vsftpd", "proftpd", "pureftpd", "filezilla-server", "iis"}
MIN_STEPS = 3


def names(text: str, table: dict[str, re.Pattern[str]]) -> frozenset[str]:
    return frozenset(name for name, pattern in table.items() if pattern.search(text))


@functools.cache
def misfit(text: str, client: str, server: str, protocol: str) -> str:
    """Why `text` does not fit someone with these answers ('' when it fits)."""
    clients, servers = names(text, CLIENTS), names(text, SERVERS)
    if len(clients) == 1 and clients != {client}:
        return f"names only the client {set(clients)}, the user has {client!r}"
    if len(servers) == 1 and servers != {server}:
        return f"names only the server {set(servers)}, the server is {server!r}"
    ftp = bool(FTP_WORDS.search(text) or servers & FTP_SERVERS)
    ssh = bool(SSH_WORDS.search(text) or "openssh" in servers)
    if protocol == "sftp" and ftp and not ssh:
        return "FTP-only wording for an SFTP user"
    if protocol in FTP_PROTOCOLS and ssh and not ftp:
        return "SSH-only wording for an FTP user"
    return ""


def _answers(state: TriageState) -> tuple[str, str, str]:
    given = state.answer_map
    return given.get("client", "?"), given.get("server", "?"), given.get("protocol", "?")


def test_every_path_was_walked() -> None:
    assert sum(len(paths) for paths in endings().values()) > 10_000


@pytest.mark.parametrize("code", sample_codes(load_tree()))
def test_every_checklist_fits_the_answers_given(code: str) -> None:
    problems: dict[str, tuple] = {}
    checked: set[tuple] = set()
    for state, shown, checklist in endings()[code]:
        client, server, protocol = _answers(state)
        steps = (*checklist.user_steps, *checklist.admin_steps)
        # many paths end alike: judge each combination of answers and steps, or answers and questions, once
        said = (client, server, protocol)
        found: list[str] = []
        step_key = (said, tuple(s.id for s in steps), checklist.notes)
        if step_key not in checked:
            checked.add(step_key)
            found += _step_misfits(said, steps, checklist.notes)
        question_key = (said, tuple(map(id, shown)))
        if question_key not in checked:
            checked.add(question_key)
            found += _question_misfits(said, shown)
        for problem in found:
            problems.setdefault(problem, state.answers)
    assert not problems, "\n".join(f"{p} on {a}" for p, a in sorted(problems.items()))


def _step_misfits(said: tuple[str, str, str], steps: tuple[Step, ...], notes: tuple[str, ...]) -> Iterator[str]:
    if len(steps) < MIN_STEPS:
        yield f"{len(steps)} steps"
    for step in steps:
        if why := misfit(step.text, *said):
            yield f"step {step.id}: {why}"
    for note in notes:
        if why := misfit(note, *said):
            yield f"note {note[:40]!r}: {why}"


def _question_misfits(said: tuple[str, str, str], shown: tuple[Question, ...]) -> Iterator[str]:
    client, server, protocol = said
    for question in shown:
        if len(question.options) < 2:
            yield f"question {question.id}: fewer than two options"
        if why := misfit(f"{question.text} {question.help}", *said):
            yield f"question {question.id}: {why}"
        for option in question.options:
            # an option of the protocol, client or server question stands for the answer it gives
            why = misfit(
                f"{option.label} {option.hint}",
                option.id if question.id == "client" else client,
                option.id if question.id == "server" else server,
                option.id if question.id == "protocol" else protocol,
            )
            if why:
                yield f"question {question.id}, option {option.id}: {why}"


def test_the_detector_reads_names_and_protocols() -> None:
    """The rules themselves, on texts whose verdict is known."""
    assert misfit("FileZilla: Edit > Settings > Debug", "winscp", "vsftpd", "ftp")
    assert not misfit("FileZilla, WinSCP and lftp resume TLS sessions", "curl", "vsftpd", "ftp")
    assert misfit("Open the passive port range 50000-50100", "curl", "openssh", "sftp")
    assert misfit("Raise sshd's LogLevel", "curl", "vsftpd", "ftp")
    assert not misfit("Test port 21 (FTP) or port 22 (SFTP)", "curl", "vsftpd", "sftp")
    assert misfit("vsftpd: set pasv_min_port", "curl", "proftpd", "ftp")
    assert not misfit("FileZilla Server: Server > Configure", "winscp", "filezilla-server", "ftp")


def test_server_options_follow_the_protocol() -> None:
    question = load_tree().question("server")
    sftp = {o.id for o in question.options_for("ftp-550", {"protocol": "sftp"})}
    ftp = {o.id for o in question.options_for("ftp-550", {"protocol": "ftps-explicit"})}
    assert "openssh" in sftp and "vsftpd" not in sftp
    assert "vsftpd" in ftp and "openssh" not in ftp
