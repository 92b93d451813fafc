"""Parsers for server logs (vsftpd, ProFTPD, IIS FTP) and for OpenSSH/sftp client messages.

Server logs interleave many clients, so their events carry a session key (the client address or the IIS
session id) and replies are paired with commands per session.
"""

from __future__ import annotations

import re

from knowledge.logscan.events import COMMAND, NOTE, REPLY, Event, iter_matches
from knowledge.logscan.ftp import FTP_VERBS, REPLY_CODE, REPLY_LINE, verb

# --- vsftpd with log_ftp_protocol=YES:
#   Tue May  1 10:00:01 2024 [pid 1234] [alice] FTP command: Client "1.2.3.4", "USER alice"
#   ... FTP response: Client "1.2.3.4", "331 Please specify the password."
#   ... CONNECT: Client "1.2.3.4" / [alice] FAIL LOGIN: Client "1.2.3.4" / OK DOWNLOAD: Client ..., "/f", 27 bytes
_VSFTPD = re.compile(
    r'\n[^\n]*?(?:FTP (command|response): Client "([^"\n]*)", "([^\n]*)"|'
    r'((?:CONNECT|(?:OK|FAIL) [A-Z]+): Client "([^"\n]*)"[^\n]*))'
)


def parse_vsftpd(body: str) -> list[Event]:
    events: list[Event] = []
    for line, m in iter_matches(_VSFTPD, body):
        direction = m.group(1)
        if direction is None:
            events.append((line, NOTE, m.group(4).rstrip(), m.group(5)))
            continue
        text = m.group(3).rstrip()
        if text.endswith('"'):
            text = text[:-1]
        # vsftpd writes the CR LF of multi-line replies as "??"
        text = text.removesuffix("??")
        events.append((line, COMMAND if direction == "command" else REPLY, text, m.group(2)))
    return events


# --- ProFTPD ExtendedLog (LogFormat "%h %l %u %t \"%r\" %s %b"):
#   203.0.113.7 UNKNOWN alice [01/May/2024:10:00:02 +0000] "PASS (hidden)" 230 -
# and its system log lines, from syslog or its own SystemLog:
#   May  1 10:00:02 srv proftpd[1234]: srv.example.com (client[203.0.113.7]) - USER alice (Login failed): ...
_PROFTPD = re.compile(
    r'\n(?:([^\s\[]+) \S+ \S+ \[[^\]\n]+\] "([^\n]*)" (\d{3}) \S+|'
    r"[^\n]*?proftpd\[\d+\][^\n(]*\(([^\n\[]*)\[([^\]\n]*)\]\)(?: -|:) ([^\n]*)|"
    r"[^\n]*?(mod_\w+/[\d.]+(?:\[\d+\])?: [^\n]*))"
)


def parse_proftpd(body: str) -> list[Event]:
    events: list[Event] = []
    for line, m in iter_matches(_PROFTPD, body):
        if m.group(2) is not None:
            client = m.group(1)
            events.append((line, COMMAND, m.group(2).replace("(hidden)", "****"), client))
            events.append((line, REPLY, m.group(3), client))
        elif m.group(6) is not None:
            events.append((line, NOTE, m.group(6).rstrip(), m.group(5)))
        else:
            events.append((line, NOTE, m.group(7).rstrip(), None))
    return events


# --- IIS FTP W3C extended log: "#Fields: date time c-ip ... cs-method cs-uri-stem sc-status sc-win32-status".
_WIN32_STATUS = {
    "2": "file not found",
    "3": "path not found",
    "5": "access denied",
    "64": "network name no longer available",
    "121": "semaphore timeout",
    "1236": "connection aborted by the local system",
    "1326": "logon failure: unknown user name or bad password",
    "1907": "password must be changed",
    "1909": "account locked out",
    "10054": "connection reset by peer",
    "10060": "connection timed out",
    "10061": "connection refused",
}
_IIS_CHANNEL_EVENTS = frozenset(
    ("ControlChannelOpened", "ControlChannelClosed", "DataChannelOpened", "DataChannelClosed")
)
_IIS_LINE = re.compile(r"\n([^\n]*)")
# A row pasted without its #Fields header (IIS 7+ FTP defaults: date time c-ip [c-port] cs-username s-ip s-port
# cs-method cs-uri-stem sc-status sc-win32-status sc-substatus x-session x-fullpath): the method is the first
# word after the client address that a status, a win32 status and a substatus follow; the session is its GUID.
_IIS_HEADERLESS_ROW = (
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+) (?:\S+ ){1,4}?([A-Za-z]+) (\S+) (\d{3}|-) (\d+) \d+ (?:\S+ )*?"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"
)
_IIS_HEADERLESS = re.compile(_IIS_HEADERLESS_ROW)


def _win32_text(status: str) -> str:
    meaning = _WIN32_STATUS.get(status)
    return f"win32 status {status}" + (f" ({meaning})" if meaning else "")


def parse_iis(body: str) -> list[Event]:
    events: list[Event] = []
    fields: dict[str, int] = {}
    for line, m in iter_matches(_IIS_LINE, body):
        row = m.group(1).strip()
        if not row:
            continue
        if row.startswith("#"):
            if row.startswith("#Fields:"):
                fields = {name: i for i, name in enumerate(row[len("#Fields:") :].split())}
            continue
        if "cs-method" in fields:
            cols = row.split()

            def col(name: str, cols: list[str] = cols, fields: dict[str, int] = fields) -> str:
                i = fields.get(name)
                return cols[i] if i is not None and i < len(cols) else "-"

            method, uri = col("cs-method"), col("cs-uri-stem")
            status, win32 = col("sc-status"), col("sc-win32-status")
            client, session = col("c-ip"), col("x-session")
            session = client if session == "-" else session
        else:
            headerless = _IIS_HEADERLESS.match(row)
            if headerless is None:
                continue
            client, method, uri, status, win32, session = headerless.groups()
        if method in _IIS_CHANNEL_EVENTS:
            if win32 not in ("-", "0"):
                events.append((line, NOTE, f"{method}: {_win32_text(win32)}", session))
            elif method == "ControlChannelOpened" and client != "-":
                events.append((line, NOTE, f'{method}: Client "{client}"', session))  # vsftpd's words for it
            else:
                events.append((line, NOTE, method, session))
            continue
        command = method.upper() if uri in ("-", "") else f"{method.upper()} {uri}"
        events.append((line, COMMAND, command, session))
        if status.isdigit() and len(status) == 3:
            detail = "" if win32 in ("-", "0") else f" ({_win32_text(win32)})"
            events.append((line, REPLY, f"{status}{detail}", session))
    return events


# --- Pure-FTPd through syslog: "Dec  2 23:25:19 host pure-ftpd: (?@203.0.113.98) [WARNING] Authentication failed ..."
_PUREFTPD = re.compile(r"\n[^\n]*?pure-ftpd(?:\[\d+\])?: \(([^@)\n]*)@([^)\n]+)\) \[(\w+)\] ([^\n]*)")


def parse_pureftpd(body: str) -> list[Event]:
    return [(line, NOTE, m.group(4).rstrip(), m.group(2)) for line, m in iter_matches(_PUREFTPD, body)]


# --- xferlog, the wu-ftpd transfer log (vsftpd xferlog_std_format, ProFTPD TransferLog, SFTPGo):
#   Mon May 31 07:48:23 2010 1 203.0.113.9 2048 /home/alice/f.txt b _ i r alice ftp 0 * c
# time, seconds, remote host, bytes, file, type, action, direction (o out, i in, d delete), access mode, user,
# service, authentication, user id, completion (c complete, i incomplete). It records transfers, not replies:
# a complete one becomes "226", an incomplete one "426" (the transfer was cut).
_XFERLOG = re.compile(
    r"\n[^\n]*?\d\d:\d\d:\d\d \d{4} \d+ (\S+) (\d+) ([^\n]+?) [ab] [CUT_]+ ([oid]) [agr] (\S+) (\S+) [01] \S+ ([ci])\b"
)
_XFER_VERB = {"i": "STOR", "o": "RETR", "d": "DELE"}


def parse_xferlog(body: str) -> list[Event]:
    events: list[Event] = []
    for line, m in iter_matches(_XFERLOG, body):
        host, size, path, direction, _user, service, status = m.groups()
        events.append((line, COMMAND, f"{_XFER_VERB[direction]} {path}", host))
        reply = (
            f"226 {service} transfer complete, {size} bytes (xferlog)"
            if status == "c"
            else f"426 {service} transfer incomplete after {size} bytes (xferlog)"
        )
        events.append((line, REPLY, reply, host))
    return events


# --- FileZilla Server. 0.9: "(000133)16/08/2026 17:01:02 - (not logged in) (203.0.113.9)> 530 Login or password
# incorrect!"; 1.x: "<date> FTP Session 2 10.10.10.99 [Response] 220-FileZilla Server 1.8.2" and "[Error] ..." lines;
# replies copied alone ("425 Unable to build data connection: ...") are replies too.
_FZS = re.compile(
    r"\n(?:\((\d{6})\)[^\n>]*?\(([^()\n]*)\)> ([^\n]*)"
    r"|[^\n]*?FTP Session (\d+) (\S+) \[(Command|Response|Error|Status|Info|Warning)\] ([^\n]*)"
    r"|\[(?:Error|Warning)\] ([^\n]*)"
    r"|(" + REPLY_LINE + r"))"
)


def parse_filezilla_server(body: str) -> list[Event]:
    events: list[Event] = []
    for line, m in iter_matches(_FZS, body):
        if m.group(3) is not None:  # 0.9: commands and replies look alike; a reply starts with its code
            text, session = m.group(3).rstrip(), m.group(1)
            kind = REPLY if REPLY_CODE.match(text) else COMMAND if verb(text) in FTP_VERBS else NOTE
        elif m.group(7) is not None:
            text, session = m.group(7).rstrip(), m.group(4)
            kind = {"Command": COMMAND, "Response": REPLY}.get(m.group(6), NOTE)
        elif m.group(8) is not None:
            text, session, kind = m.group(8).rstrip(), None, NOTE
        else:
            text, session, kind = m.group(9).rstrip(), None, REPLY
        events.append((line, kind, text, session))
    return events


# --- OpenSSH ssh/sftp client messages and sshd's log: every non-empty line is a note, except what the user typed at
# sftp's prompt ("sftp> put f.txt"), which is a command; without prompts (sftp -b, a cut paste) sftp's own
# "Uploading f.txt to /d/f.txt" and "Fetching /d/f.txt to f.txt" say which command ran.
_ANY_LINE = re.compile(r"\n([^\n]*\S[^\n]*)")
_SFTP_PROGRESS_VERB = {"Uploading": "put", "Fetching": "get"}


def parse_openssh(body: str) -> list[Event]:
    prompts = "sftp>" in body
    events: list[Event] = []
    for line, m in iter_matches(_ANY_LINE, body):
        text = m.group(1).strip()
        if prompts and text.startswith("sftp>"):
            typed = text[5:].strip()
            if typed:
                events.append((line, COMMAND, typed, None))
            continue
        first = text.split(" ", 1)
        if not prompts and first[0] in _SFTP_PROGRESS_VERB and len(first) == 2 and " to " in first[1]:
            events.append((line, COMMAND, f"{_SFTP_PROGRESS_VERB[first[0]]} {first[1]}", None))
            continue
        events.append((line, NOTE, text, None))
    return events
