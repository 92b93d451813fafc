"""The common shape every log parser produces: one event per interesting line.

An event is a plain tuple `(line, kind, text, session)` - tuples because a 5 MB log has a few hundred
thousand of them. `kind` is COMMAND, REPLY or NOTE (a client or server message outside the FTP dialogue);
`session` keeps interleaved sessions of a server log apart (the client address), None in client logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

COMMAND = "c"
REPLY = "r"
NOTE = "n"

Event = tuple[int, str, str, str | None]


def iter_matches(pattern: re.Pattern[str], body: str) -> Iterator[tuple[int, re.Match[str]]]:
    """Yields (line number, match) for a pattern that starts with a newline, over `body` = "\\n" + text.

    Starting each pattern with a literal newline lets the regex engine jump from line to line instead of
    trying every character, which is what makes a 5 MB log scan in well under a second.
    """
    line = 0
    pos = 0
    count = body.count
    for m in pattern.finditer(body):
        start = m.start()
        line += count("\n", pos, start + 1)
        pos = start + 1
        yield line, m
