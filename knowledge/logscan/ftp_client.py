"""Parser for the interactive `ftp` command (BSD, netkit, GNU inetutils, tnftp) as a terminal shows it:

    Connected to ftp.example.com.
    220 (vsFTPd 3.0.3)
    Name (ftp.example.com:alice): alice
    331 Please specify the password.
    Password:
    230 Login successful.
    ftp> get missing.txt
    local: missing.txt remote: missing.txt
    200 PORT command successful. Consider using PASV.
    550 Failed to open file.

With -d (or `debug`) the client prints every command it sends ("---> RETR missing.txt") and those are the
commands. Without it only the user's commands at the prompt show, so the protocol commands are inferred:
a 227/229/"200 PORT" reply answers the data set-up the client sends first, the next reply answers what the
user asked for (`get` -> RETR, `ls` -> LIST, ...).
"""

from __future__ import annotations

import re

from knowledge.logscan.events import COMMAND, NOTE, REPLY, Event, iter_matches
from knowledge.logscan.ftp import REPLY_LINE

_LINE = re.compile(
    r"\n(?:(?:\x1b\[[?\d;]*[A-Za-z])*ftp> ?([^\n]*)"  # 1: the user's command at the prompt (after a
    # terminal's escape sequences, as `script` records them)
    r"|---> ([^\n]*)"  # 2: a command as sent (debug output)
    r"|Name \([^)\n]*?([^:)\n]*)\): ?([^\n]*)"  # 3: the default user, 4: the name typed
    r"|(Password:)[^\n]*"  # 5
    r"|local: [^\n]*?remote: ([^\n]*)"  # 6: the remote file of a get or put
    r"|(" + REPLY_LINE + r")"  # 7
    r"|([^\n]*\S[^\n]*))"  # 8: anything else the client printed
)
# The protocol command behind each user command ("" : the user typed it, as with `quote`).
_SENDS = {
    **dict.fromkeys(("get", "recv", "mget", "reget", "newer"), "RETR"),
    **dict.fromkeys(("put", "send", "mput"), "STOR"),
    **dict.fromkeys(("ls", "dir", "mdir"), "LIST"),
    **dict.fromkeys(("nlist", "mls"), "NLST"),
    **dict.fromkeys(("bye", "quit", "close", "disconnect"), "QUIT"),
    **dict.fromkeys(("binary", "bin", "image"), "TYPE I"),
    **dict.fromkeys(("quote", "literal"), ""),
    "append": "APPE", "cd": "CWD", "cdup": "CDUP", "pwd": "PWD", "mkdir": "MKD", "rmdir": "RMD",
    "delete": "DELE", "mdelete": "DELE", "rename": "RNFR", "size": "SIZE", "modtime": "MDTM", "system": "SYST",
    "rstatus": "STAT", "rhelp": "HELP", "remotehelp": "HELP", "site": "SITE", "chmod": "SITE CHMOD",
    "user": "USER", "ascii": "TYPE A",
}  # fmt: skip
_TAKES_FILE = frozenset(("RETR", "STOR", "APPE"))
_DATA_VERBS = frozenset(("RETR", "STOR", "APPE", "LIST", "NLST"))


def _command_for(typed: str) -> str | None:
    """The protocol command a user command sends, None for local ones (lcd, passive, hash, prompt)."""
    words = typed.split()
    if not words:
        return None
    sends = _SENDS.get(words[0].lower())
    if sends is None:
        return None
    args = words[1:]
    if sends == "":
        return " ".join(args) or None
    if sends == "STOR" and len(args) > 1:
        args = args[1:]  # put LOCAL REMOTE
    elif sends in _TAKES_FILE or sends in ("CWD", "DELE", "RNFR", "SIZE", "MDTM"):
        args = args[:1]
    return " ".join((sends, *args))


def _data_setup(code: str, text: str) -> str | None:
    """The set-up command a reply answers when it comes before the data command itself."""
    if code == "227":
        return "PASV"
    if code == "229":
        return "EPSV"
    if code == "200":
        for verb in ("EPRT", "PORT"):
            if verb in text:
                return verb
        if "mode" in text or "Type" in text or "TYPE" in text:
            return "TYPE I"
    if code == "350":
        return "REST"
    return None


def parse_ftp_client(body: str) -> list[Event]:
    debug = "\n---> " in body
    events: list[Event] = []
    pending: str | None = None  # plain output: the protocol command of the user's command, not yet answered
    for line, m in iter_matches(_LINE, body):
        typed, sent, default_user, name, password, remote, reply, other = m.groups()
        if other is not None:
            events.append((line, NOTE, other.strip(), None))
        elif sent is not None:
            events.append((line, COMMAND, sent.rstrip(), None))
        elif reply is not None:
            reply = reply.rstrip()
            if pending is not None:
                setup = _data_setup(reply[:3], reply) if pending.split(None, 1)[0] in _DATA_VERBS else None
                events.append((line, COMMAND, setup or pending, None))
                if setup is None:
                    pending = None
            events.append((line, REPLY, reply, None))
        elif debug:
            continue  # the "--->" lines say what was sent
        elif typed is not None:
            pending = _command_for(typed)
        elif remote is not None and pending is not None and pending.split(None, 1)[0] in _TAKES_FILE:
            pending = f"{pending.split(None, 1)[0]} {remote.strip()}"
        elif password is not None:
            events.append((line, COMMAND, "PASS ****", None))
        elif name is not None or default_user is not None:
            user = (name or "").strip() or (default_user or "").strip()
            events.append((line, COMMAND, f"USER {user}".rstrip(), None))
    return events
