"""Parsers for client logs: FileZilla, WinSCP, curl -v, lftp debug, Python ftplib debug, plain transcripts.

Each takes `body` ("\\n" + the masked text) and returns events (see events.py). Status lines that cannot
matter (progress, TLS handshake chatter) are skipped by the pattern itself, so the per-line Python work is
spent on commands, replies and the few messages that say what went wrong.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from knowledge.logscan.events import COMMAND, NOTE, REPLY, Event, iter_matches
from knowledge.logscan.ftp import FTP_VERBS, REPLY_LINE

# --- FileZilla: "Status:\tConnecting to ...", optionally after "2024-05-01 10:00:01 1234 1 " or "10:00:01\t".
FZ_PREFIX = r"(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:[ \t]+\d+){0,2}[ \t]+|\d\d:\d\d:\d\d[ \t]+)?"
FZ_STATUS_WORTH_KEEPING = (
    r"Connecting to|Connection established|Server sent passive|Connection attempt failed|TLS connection established|"
    r"Insecure server|Server does not support|Connection closed by server|Connection timed out|"
    r"Disconnected from server"
)
_FILEZILLA = re.compile(
    r"\n" + FZ_PREFIX + r"(?:(Command|Response|Error):|Status:(?=[ \t]*(?:" + FZ_STATUS_WORTH_KEEPING + r")))"
    r"([^\n]*)"
)
_FZ_KIND = {"Command": COMMAND, "Response": REPLY, "Error": NOTE, None: NOTE}


def _marked_lines(pattern: re.Pattern[str], kinds: dict, body: str, clean: Callable[[str], str]) -> list[Event]:
    """One event per match of a pattern whose group 1 is the line's mark (kinds maps it) and group 2 its text.
    The pattern starts with the line's "\n" and holds no other.

    iter_matches inlined: this loop parses FileZilla and curl, the hot loops of a big paste.
    """
    events: list[Event] = []
    append = events.append
    count = body.count
    line = pos = end = 0
    for m in pattern.finditer(body):
        start = m.start()
        # a match on the line after the last one's (most of a log): one "\n" between them, where the count was a call
        line += 1 if start == end else count("\n", pos, start + 1)
        pos, end = start + 1, m.end()
        mark, text = m.group(1, 2)
        append((line, kinds[mark], clean(text), None))
    return events


def parse_filezilla(body: str) -> list[Event]:
    return _marked_lines(_FILEZILLA, _FZ_KIND, body, str.strip)


# --- WinSCP: ". 2024-05-01 10:00:01.123 text" with < (received), > (sent), . ! * (messages, errors).
_ANY_LINE = re.compile(r"\n([^\n]*\S[^\n]*)")
_WINSCP = re.compile(r"\n([.<>!*]) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ([^\n]*)")


# A line of a session log that a forum wrapped: it goes on the line before it ("... Network error: " / "" /
# "Connection refused").
_WINSCP_WRAPPED = re.compile(r"\n(?![.<>!*] \d{4}-)([^\n]*\S[^\n]*)")


def parse_winscp(body: str) -> list[Event]:
    """A session log, or an error dialog copied as text (every line a message: "Error code: 3", ...)."""
    if _WINSCP.search(body) is None:
        return [(line, NOTE, m.group(1).strip(), None) for line, m in iter_matches(_ANY_LINE, body)]
    events: list[Event] = []
    for line, m in iter_matches(_WINSCP, body):
        mark, text = m.group(1), m.group(2).rstrip()
        if mark in "<>" and text.startswith("Type: SSH_FXP"):
            continue  # SFTP packet trace, not a dialogue line
        kind = REPLY if mark == "<" else COMMAND if mark == ">" else NOTE
        events.append((line, kind, text, None))
    if events and body.count("\n") > len(events) + 1:
        events = _join_wrapped(events, body)
    return events


def _join_wrapped(events: list[Event], body: str) -> list[Event]:
    """Appends wrapped continuation lines to the message before them (line numbers stay the first line's)."""
    lines = [event[0] for event in events]
    for line, m in iter_matches(_WINSCP_WRAPPED, body):
        i = bisect.bisect_left(lines, line) - 1
        if i >= 0 and events[i][1] == NOTE and line - lines[i] <= 3:
            n, kind, text, key = events[i]
            events[i] = (n, kind, f"{text.rstrip()} {m.group(1).strip()}", key)
    return events


# --- curl -v: "> USER x", "< 331 ...", "* Trying ...", "curl: (7) ..."
# what a note worth keeping starts with; CURL_NOTES adds any note that says "error" or "failed"
CURL_NOTE_OPENINGS = (
    r"Trying|Connected to|connect to|Connecting to|Failed to|Could not|Couldn't|SSL|OpenSSL|GnuTLS|schannel|"
    r"TLSv[\d.]+ \((?:IN|OUT)\), TLS alert|Connection timed out|Operation timed out|Resolving timed out|"
    r"Access denied|The file does not exist|Recv failure|Send failure|response reading failed|Server denied|"
    r"Connect data stream|Remote file not found|Uploaded unaligned|RETR response|Weird server reply|"
    r"Accept timeout|Timeout|timeout|Received only partial|Connection died|Connection refused"
)
CURL_NOTES = CURL_NOTE_OPENINGS + r"|[^\n]*(?:error|failed)"
# (basic-ftp's console log uses curl's "> "/"< " marks and adds "Error: ..." lines)
_CURL = re.compile(r"\n(?:([<>]) |\*[ \t]+(?=" + CURL_NOTES + r")|(?=curl: \(|Error: ))([^\n]*)")


_CURL_KIND = {None: NOTE, "<": REPLY, ">": COMMAND}


# Without -v, curl prints only its exit line; some carry the server's reply code ("(25) Failed FTP upload: 553").
_CURL_EXIT_REPLY = re.compile(r"\ncurl: \((\d+)\) [^\n]*?: ([45]\d\d)\b([^\n]*)")
_CURL_EXIT_VERB = {"25": "STOR", "67": "PASS", "9": "CWD", "19": "RETR", "78": "RETR", "21": "QUOTE"}


def parse_curl(body: str) -> list[Event]:
    events = _marked_lines(_CURL, _CURL_KIND, body, str.rstrip)
    if "\n< " not in body and "curl: (" in body:
        for line, m in iter_matches(_CURL_EXIT_REPLY, body):
            verb = _CURL_EXIT_VERB.get(m.group(1))
            if verb:
                events.append((line, COMMAND, verb, None))
            events.append((line, REPLY, f"{m.group(2)}{m.group(3)}".rstrip(), None))
        events.sort(key=lambda event: event[0])
    return events


# --- lftp "debug 10": "<--- 220 ...", "---> USER x", "**** error", "---- Connecting to ...".
_LFTP = re.compile(
    r"\n(?:(<---|--->) ?|(?=\*\*\*\* |---- Connecting|ERROR: |[\w.-]+: (?:Fatal error|Login failed|Access failed)|"
    r"[\w.-]+: [^\n]*(?:[Ee]rror|failed|refused|timed out)))([^\n]*)"
)


def parse_lftp(body: str) -> list[Event]:
    events: list[Event] = []
    for line, m in iter_matches(_LFTP, body):
        mark = m.group(1)
        text = m.group(2).rstrip()
        if mark is None:
            events.append((line, NOTE, text.removeprefix("**** ").removeprefix("---- "), None))
        else:
            events.append((line, REPLY if mark == "<---" else COMMAND, text, None))
    return events


# --- Python ftplib, set_debuglevel(1 or 2): "*cmd* 'USER x'", "*resp* '331 ...'", exceptions at the end.
_FTPLIB = re.compile(
    r"\n(?:\*(cmd|resp|get)\* |(?=[\w.]*(?:Error|error_\w+|Exception)\b|Traceback|socket\.|ssl\.))([^\n]*)"
)


def _unrepr(text: str) -> str:
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        text = text[1:-1]
    return text.replace("\\'", "'").replace('\\"', '"').replace("\\r", "").replace("\\n", "").replace("\\\\", "\\")


def parse_ftplib(body: str) -> list[Event]:
    events: list[Event] = []
    for line, m in iter_matches(_FTPLIB, body):
        mark, text = m.group(1), m.group(2).rstrip()
        if mark == "cmd":
            events.append((line, COMMAND, _unrepr(text), None))
        elif mark == "resp":
            events.append((line, REPLY, _unrepr(text), None))
        elif mark == "get":
            # *get* repeats what *resp* prints, except when the reply never parsed as FTP (an SSH banner).
            raw = _unrepr(text)
            if raw.startswith("SSH-"):
                events.append((line, NOTE, raw, None))
        else:
            events.append((line, NOTE, text, None))
    if "error_" in body:
        events.extend(_traceback_replies(body))
        events.sort(key=lambda event: event[0])
    return events


# A traceback that ends in ftplib.error_perm: the reply is in the exception, the command in the frames above it
# (the last ftplib call before the exception: ftp.cwd(...) -> CWD, self.sendcmd('PASS ' ...) -> PASS).
_FTPLIB_ERROR = re.compile(r"error_(?:perm|temp|reply|proto)[:,] ?['\"]?(\d{3}[^\n'\"`]*)")
_FTPLIB_CALL = re.compile(r"\.(cwd|login|storbinary|storlines|retrbinary|retrlines|nlst|dir|mlsd|mkd|rmd|delete|rename|"
                          r"size|sendcmd\(['\"](\w+)|voidcmd\(['\"](\w+))\(?")  # fmt: skip
_FTPLIB_VERB = {"cwd": "CWD", "login": "USER", "storbinary": "STOR", "storlines": "STOR", "retrbinary": "RETR",
                "retrlines": "LIST", "nlst": "NLST", "dir": "LIST", "mlsd": "MLSD", "mkd": "MKD", "rmd": "RMD",
                "delete": "DELE", "rename": "RNFR", "size": "SIZE"}  # fmt: skip


def _traceback_replies(body: str) -> list[Event]:
    events: list[Event] = []
    done = 0
    for line, m in iter_matches(re.compile(r"\n([^\n]*)"), body):
        found = _FTPLIB_ERROR.search(m.group(1))
        if found is None:
            continue
        command = None
        for call in _FTPLIB_CALL.finditer(body, done, m.start(1) + found.start()):
            command = (call.group(2) or call.group(3) or "").upper() or _FTPLIB_VERB.get(call.group(1))
        done = m.end()
        if command:
            events.append((line, COMMAND, command, None))
        events.append((line, REPLY, found.group(1).rstrip(), None))
    return events


# A client's own message that carries the server's reply: "Error sending f.csv : 553 Could not create file.",
# "The remote server returned an error: (550) File unavailable", "Net::FTPPermError ... 553 Could not create".
_REPLY_IN_MESSAGE = re.compile(
    r"(?i:error|failed|fail|exception|denied|refused)[^\n]{0,80}?[:(]\s*\(?([45]\d\d)\)?[ :-]+([^\n]*)"
)
_VERB_OF_WORDS = (
    (re.compile(r"(?i)\b(?:send|sending|upload\w*|put|stor|writ\w*|creat\w*)\b"), "STOR"),
    (re.compile(r"(?i)\b(?:download\w*|get|retr|fetch\w*|read\w*)\b"), "RETR"),
    (re.compile(r"(?i)\b(?:cwd|change directory|chdir)\b"), "CWD"),
    (re.compile(r"(?i)\b(?:list\w*|directory listing)\b"), "LIST"),
    (re.compile(r"(?i)\b(?:log ?in|logon|authenticat\w*)\b"), "PASS"),
    (re.compile(r"\bEPSV\b"), "EPSV"),
    (re.compile(r"(?i)\bPASV\b|\bpassive mode\b"), "PASV"),
)


_ECHOED_COMMAND = re.compile(r"\d{3} '(\w+)[^']*':")


def reply_in_message(text: str) -> tuple[str | None, str] | None:
    """(the command the message is about, or None, and the reply "553 Could not create file.")."""
    m = _REPLY_IN_MESSAGE.search(text)
    if m is None:
        return None
    before = text[: m.start(1)]
    reply = f"{m.group(1)} {m.group(2).strip()}".rstrip()
    echoed = _ECHOED_COMMAND.match(reply)  # "500 'EPSV': command not understood.": the reply names the command
    if echoed and echoed.group(1).upper() in FTP_VERBS:
        return echoed.group(1).upper(), reply
    command = next((v for pattern, v in _VERB_OF_WORDS if pattern.search(before)), None)
    return command, reply


# --- Plain transcripts: "USER x" / "331 ..." lines, with optional "C:"/"S:", "-->"/"<--", "ftp>" marks.
_TRANSCRIPT = re.compile(
    r"\n[ \t]*(?:(?:C:|S:|-+>|<-+|>|<|ftp>)[ \t]*)?"
    r"(?:(" + REPLY_LINE + r")|([A-Za-z]{3,4})(?=[ \t]|\n|\Z)(?:[ \t]+([^\n]*))?|([^\n]*\S[^\n]*))"
)


def parse_transcript(body: str) -> list[Event]:
    events: list[Event] = []
    open_code: str | None = None  # inside "211-..." every line up to "211 " belongs to the reply
    for line, m in iter_matches(_TRANSCRIPT, body):
        reply, verb, argument, other = m.group(1), m.group(2), m.group(3), m.group(4)
        if open_code is not None:
            text = m.group(0).strip("\n")
            events.append((line, REPLY, text.rstrip(), None))
            if text.startswith(open_code) and text[3:4] in (" ", ""):
                open_code = None
            continue
        if reply is not None:
            if reply[3:4] == "-":
                open_code = reply[:3]
            events.append((line, REPLY, reply.rstrip(), None))
        elif verb is not None and verb.upper() in FTP_VERBS:
            command = verb.upper() if argument is None else f"{verb.upper()} {argument.rstrip()}"
            events.append((line, COMMAND, command, None))
        else:
            text = (other if other is not None else m.group(0)).strip()
            if text:
                events.append((line, NOTE, text, None))
                embedded = reply_in_message(text) if "\n" not in text else None
                if embedded is not None:
                    if embedded[0]:
                        events.append((line, COMMAND, embedded[0], None))
                    events.append((line, REPLY, embedded[1], None))
    return events


# --- Editor plug-ins (vscode-sftp and its forks): "[11-20 10:38:18] [debug] > PASV" is a command, "[debug] < '227
# Entering Passive Mode (...).\r\n'" the server's reply as a quoted string, several replies in one when they came in
# one packet; every other line is a message of the plug-in or its SSH library.
_PLUGIN_LINE = re.compile(r"\n(?:\[[\d:. -]+\] )?(?:\[debug\] ([<>]) ([^\n]*)|([^\n]*\S[^\n]*))")
_ESCAPED_LINE_END = re.compile(r"(?:\\r)?\\n")


def parse_editor_plugin(body: str) -> list[Event]:
    events: list[Event] = []
    for line, m in iter_matches(_PLUGIN_LINE, body):
        mark, text, other = m.groups()
        if mark == ">":
            events.append((line, COMMAND, text.rstrip(), None))
        elif mark == "<":
            text = text.strip()
            if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
                text = text[1:-1]
            for part in _ESCAPED_LINE_END.split(text):
                if part.strip():
                    events.append((line, REPLY, part.rstrip(), None))
        else:
            events.append((line, NOTE, other.strip(), None))
    return events


# --- Logs that put FileZilla-like labels after a prefix of their own (FluentFTP through NLog:
# "2025-09-11 21:25:13.8190 INFO  <MyApp> Command:  STOR x", "... Response: 226 Transfer complete. [43ms]").
_PREFIXED_LABELS = re.compile(r"\n[^\n]*?\b(Command|Response|Error|Status):[ \t]+([^\n]*)")
_RESPONSE_TIMING = re.compile(r" \[\d+ms\]$")


def parse_prefixed_labels(body: str) -> list[Event]:
    return _marked_lines(
        _PREFIXED_LABELS, _FZ_KIND | {"Status": NOTE}, body, lambda s: _RESPONSE_TIMING.sub("", s.strip())
    )
