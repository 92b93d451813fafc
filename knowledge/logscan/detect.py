"""Guesses which program wrote a pasted log from the first few hundred lines."""

from __future__ import annotations

import re

_HEAD_CHARS = 64 * 1024
# Win32-OpenSSH's sshd.log line start: "12400 2020-06-28 13:55:52.151 " (older builds: "4688 09:44:01 744 ")
WINDOWS_SSHD_PREFIX = r"(?:\d+ (?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d[.: ]\d{3} )"

# Each format's tell-tale lines, counted in the head of the text. The weight makes a rare but certain sign
# (an IIS #Fields header) beat many weak ones (bare reply lines that any transcript has).
_SIGNATURES: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("iis", re.compile(r"^#(?:Fields:.*\bcs-method\b|Software: Microsoft Internet Information Serv)", re.M), 50),
    # rows pasted without their header: "... sc-win32-status sc-substatus x-session x-fullpath", the session a GUID
    ("iis", re.compile(r" \d+ \d+ [0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}(?: \S+){0,2}$", re.M), 10),
    ("winscp", re.compile(r"^[.<>!*] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} ", re.M), 3),
    ("filezilla",
     re.compile(r"^(?:[\d:. T-]+(?:[ \t]+\d+){0,2}[ \t]+)?(?:Status|Command|Response|Error|Trace):", re.M), 3),
    ("lftp", re.compile(r"^(?:<---|--->|\*\*\*\* |---- (?:Connecting|Resolving|Closing|attempt|dns))", re.M), 3),
    # the interactive ftp command: its prompt and login lines, and with -d a "--->" command answered by a bare
    # reply (lftp's debug output marks replies "<---")
    ("ftp-client",
     re.compile(r"^(?:ftp> |Name \([^)\n]*\): |local: \S[^\n]* remote: |Remote system type is )", re.M), 10),
    ("ftp-client", re.compile(r"^---> [^\n]*\n[1-6]\d\d[ -]", re.M), 4),
    # "Connected to host." followed by the server's reply, or started from a Windows prompt ("C:\\>ftp host")
    ("ftp-client", re.compile(r"^Connected to \S+\.\n[1-6]\d\d[ -]|^[A-Za-z]:\\[^>\n]*>ftp\b", re.M), 10),
    ("ftplib", re.compile(r"^\*(?:cmd|resp|get|put)\* ['\"]", re.M), 4),
    # a traceback that ends in ftplib's exceptions (also when the paste lost its line ends)
    ("ftplib", re.compile(r"error_(?:perm|temp|reply|proto)[:,] |/ftplib\.py\b"), 6),
    ("lftp", re.compile(r"^[\w.-]+: (?:Fatal error|Errore fatale|Erreur fatale|Fataler Fehler|Login failed|"
                        r"Access failed):", re.M), 5),
    ("fluentftp", re.compile(r"^[^\n]*?(?:\bCommand:  \S|\bResponse: \d{3}[^\n]*\[\d+ms\])", re.M), 4),
    ("editor-plugin", re.compile(r"^(?:\[\d\d-\d\d \d\d:\d\d:\d\d\] )?\[(?:debug|info|error|trace|warn)\]|^\[S?FTP\] ",
                                 re.M), 4),
    ("winscp", re.compile(r"^Error code: \d+$|^Error message from server: |^Received too large \(\d+ B\) SFTP packet",
                          re.M), 6),
    # (one literal each: the engine then finds it at memchr speed, where an alternation tries every position)
    ("winscp", re.compile(r"Server sent command exit status \d+"), 6),
    ("winscp", re.compile(r"Cannot initialize SFTP protocol"), 6),
    ("curl", re.compile(r"^(?:\*\s+Trying |\* Connected to |\* [A-Za-z]|[<>] \S|curl: \(\d+\))", re.M), 2),
    ("vsftpd", re.compile(r'(?:FTP (?:command|response)|CONNECT|OK LOGIN|FAIL LOGIN): Client "'), 5),
    ("proftpd", re.compile(r'proftpd\[\d+\]|^\S+ \S+ \S+ \[\d\d/\w{3}/\d{4}:[\d:]+ [+-]\d{4}\] "|'
                           r"mod_(?:tls|sftp)/[\d.]+\[\d+\]:", re.M), 5),
    ("pure-ftpd", re.compile(r"pure-ftpd(?:\[\d+\])?: \("), 6),
    # wu-ftpd style transfer log (vsftpd xferlog_std_format, ProFTPD TransferLog): "... b _ i r alice ftp 0 * c"
    ("xferlog", re.compile(r" [ab] [CUT_]+ [oid] [agr] \S+ \S+ [01] \S+ [ci](?: |$)", re.M), 5),
    ("filezilla-server", re.compile(r"^\(\d{6}\)|FTP Session \d+ \S+ \[|^\[(?:Error|Warning)\] ", re.M), 6),
    # (Win32-OpenSSH's sshd.log puts "PID date time.ms " before each line)
    ("sshd", re.compile(r"sshd\[\d+\]: |^" + WINDOWS_SSHD_PREFIX + r"?(?:(?:Accepted|Failed) (?:password|publickey|"
                        r"keyboard-interactive\S*) for |Authentication refused: |"
                        r"Connection closed by authenticating user )|bad ownership or modes for", re.M), 6),
    ("openssh", re.compile(
        r"^(?:debug\d: |OpenSSH_\d|(?:ssh|sftp|scp): |kex_exchange_identification|Permission denied \(|"
        r"Connection (?:closed|timed out during banner)|Received message too long|Bad packet length|"
        r"Host key verification failed|Connected to \S+\.$|Couldn't |remote \w+)", re.M), 3),
    ("transcript",
     re.compile(r"^[ \t]*(?:\d{3}[ -]|(?:USER|PASS|PASV|EPSV|PORT|LIST|RETR|STOR|AUTH|QUIT)\b)", re.M), 1),
)  # fmt: skip


def _top_level_branches(source: str) -> list[str]:
    """The alternatives of the regex `source` outside any group."""
    branches: list[str] = []
    depth = start = i = 0
    in_class = False
    while i < len(source):
        char = source[i]
        if char == "\\":
            i += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if source.startswith("^", i + 1):
                i += 1
            if source.startswith("]", i + 1):  # a ] right after [ or [^ is a literal one
                i += 1
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif char == "|" and depth == 0:
            branches.append(source[start:i])
            start = i + 1
        i += 1
    return [*branches, source[start:]]


def _from_newlines(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """For a pattern each of whose branches starts with ^ (re.M), the same pattern after a newline, to search in
    "\n" + head: the engine then jumps from newline to newline with its literal search instead of trying every
    position (it counts the same lines: no signature ends a match right after a newline)."""
    if not all(branch.startswith("^") for branch in _top_level_branches(pattern.pattern)):
        return None
    return re.compile(r"\n(?:" + pattern.pattern + ")", pattern.flags)


def branch_searches(pattern: re.Pattern[str]) -> tuple[tuple[re.Pattern[str], bool], ...]:
    """The top-level branches of `pattern`, each alone and with whether it is searched for in "\n" + text (see
    _from_newlines). `pattern` is found in a text when one of them is: an alternation has no literal for the
    engine to skip to, so it tries every position, and most branches alone have one."""
    searches = []
    for branch in _top_level_branches(pattern.pattern):
        alone = re.compile(branch, pattern.flags)
        after_newline = _from_newlines(alone)
        searches.append((after_newline or alone, after_newline is not None))
    return tuple(searches)


def branch_found(searches: tuple[tuple[re.Pattern[str], bool], ...], head: str, after_newline: str) -> bool:
    """Whether one of `branch_searches(...)` is found in `head` ("\n" + head is `after_newline`)."""
    return any(branch.search(after_newline if nl else head) for branch, nl in searches)


# (name, pattern, weight, whether the pattern is searched for in "\n" + head, its branches when they are worth
# searching for first: an alternation with a branch anchored at ^ is tried at every position, most logs hold none
# of its branches, and the branches alone have literals or newlines to skip to)
_SEARCHES = tuple(
    (name, after_newline or pattern, weight, after_newline is not None, gate)
    for name, pattern, weight in _SIGNATURES
    for after_newline in (_from_newlines(pattern),)
    for gate in (None if after_newline or len(_top_level_branches(pattern.pattern)) < 2 else branch_searches(pattern),)
)


def _count(search: tuple, head: str, after_newline: str) -> int:
    """How many times the pattern of a _SEARCHES row is found in `head` ("\n" + head is `after_newline`)."""
    _name, pattern, _weight, from_newline, gate = search
    if gate is not None and not branch_found(gate, head, after_newline):
        return 0
    return len(pattern.findall(after_newline if from_newline else head))


def detect_format(text: str) -> str:
    """Returns the name of the log format (see model.FORMATS), "unknown" when nothing fits."""
    head = text[:_HEAD_CHARS]
    after_newline = "\n" + head
    scores: dict[str, int] = {}
    for search in _SEARCHES:
        name, weight = search[0], search[2]
        scores[name] = scores.get(name, 0) + _count(search, head, after_newline) * weight
    best, best_score = "unknown", 0
    for name, score in scores.items():  # in signature order: an earlier format wins a tie
        if score > best_score:
            best, best_score = name, score
    return best
