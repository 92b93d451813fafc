"""Finds the knowledge entries a query is about: codes, names, reply lines, client messages or free text.

`lookup()` never raises: whatever it is given, it answers with matches, or with suggestions of what to try.
"""

from __future__ import annotations

import _thread
from collections import namedtuple

from knowledge import digits
from knowledge.base import Entry, KnowledgeBase, load

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

    from knowledge.search import TextIndex

MAX_QUERY_CHARS = 4000
MAX_CODE_MATCHES = 6
MAX_TEXT_MATCHES = 3

EXAMPLES = ("425", "530 when I log in", "winsock 10061", "ECONNREFUSED", "sftp 3", "passive mode", "list 4xx")

# The patterns are compiled on first use, by re's own cache, and re itself is imported where a query needs it:
# compiling them all took ~1 ms of every start, importing re ~7 ms in a venv, and a bare number (the commonest
# query) needs neither.
# A reply code standing on its own: not part of an IP address, a port tuple, a time or a longer number.
_REPLY_CODE = r"(?<![\w.,:/(|$-])([1-6][0-5]\d)(?![\w]|[.,:]\d)"
_WINSOCK = r"(?<![\w.])(1[01]\d{3})(?!\w)"
_SERIES = r"(?i)^\s*([1-6])(?:xx|\*\*|00s|00\s+series)(?:\s+(?:series|class|codes?))?\s*$"
_KIND_AND_NUMBER = (
    r"(?i)^\s*(?P<kind>ftp|reply|response|winsock|wsa|socket(?:\s+error)?|sftp|ssh_fx|curl|exit(?:\s+code)?)"
    r"\s*(?:error|status|code)?\s*[:#(]?\s*(?P<number>\d{1,5})\)?\s*$"
)
_CURL_LINE = r"curl:\s*\((\d{1,3})\)"
_SYMBOL = r"(?i)\b(?:WSA[A-Z_]+|E[A-Z]{3,}|SSH_FX_[A-Z_]+|CURLE_[A-Z_]+|EAI_[A-Z]+)\b"
_PORT_PREFIX = r"(?i)\bport\s*:?\s*$|:$"
_SERVER_LINE = r"^([1-6][0-5]\d)[ -](.+)$"
# A quoted text this short ("Timeout.") says too little to pick one server's message over the code itself.
_MIN_QUOTED_CHARS = 10
# A client's message as the knowledge base lists it ("Error: Connection timed out after 20 seconds of
# inactivity") against the line a log holds: without the log label, without what stands in parentheses
# (a size, the methods a server sent), any number of two digits or more in its place.
_MESSAGE_LABEL = r"(?i)^(?:Error|Status|Response|Disconnected|Fehler|Erreur):\s*"
_IN_PARENTHESES = r"\s*\([^()]*\)"
_NUMBER = r"\d{2,}"
MIN_MESSAGE_CHARS = 20  # "Permission denied", "Error code: 4": too common to name one entry
_KIND_WORDS = {
    "ftp": "ftp-reply",
    "reply": "ftp-reply",
    "response": "ftp-reply",
    "winsock": "winsock",
    "wsa": "winsock",
    "socket": "winsock",
    "sftp": "sftp-status",
    "ssh_fx": "sftp-status",
    "curl": "client-message",
    "exit": "client-message",
}


class Match(namedtuple("Match", "entry reason score", defaults=(1.0,))):
    """An entry found for a query; `reason` is "code", "name", "text" or "unknown-code"."""

    __slots__ = ()

    @property
    def known(self) -> bool:
        return self.reason != "unknown-code"


class LookupResult:
    def __init__(
        self,
        query: str,
        matches: list[Match] | None = None,
        suggestions: list[str] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.query = query
        self.matches = [] if matches is None else matches
        self.suggestions = [] if suggestions is None else suggestions
        self.notes = [] if notes is None else notes

    def __repr__(self) -> str:
        return f"LookupResult({self.query!r}, matches={self.matches!r}, suggestions={self.suggestions!r})"

    @property
    def found(self) -> bool:
        return bool(self.matches)


def clean(query: object) -> tuple[str, list[str]]:
    """Normalises what a person typed (unicode forms, control characters, length); returns notes to show."""
    notes: list[str] = []
    text = query if isinstance(query, str) else ""
    if not text.isascii():  # NFKC leaves ASCII as it is
        import unicodedata

        text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notes.append(f"Only the first {MAX_QUERY_CHARS:,} characters were read.")
    return text.strip(), notes


def _message_key(text: str) -> str:
    import re

    text = re.sub(_IN_PARENTHESES, "", re.sub(_MESSAGE_LABEL, "", text.strip()))
    return " ".join(text.split()).lower()


class Finder:
    """Lookup over one knowledge base; the text index is built on the first free-text query."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._aliases: dict[str, list[Entry]] = {}
        for entry in kb.entries:
            for alias in {entry.name, *entry.aliases} - {""}:
                self._aliases.setdefault(alias.upper(), []).append(entry)
        self._server_lines: dict[str, list[tuple[str, Entry]]] | None = None  # made when a reply line is read
        self._index: TextIndex | None = None
        self._messages: list[tuple[re.Pattern[str], int, Entry]] | None = None

    @property
    def index(self) -> TextIndex:
        if self._index is None:
            from knowledge.search import TextIndex

            self._index = TextIndex(self.kb.entries)
        return self._index

    def lookup(self, query: object) -> LookupResult:
        text, notes = clean(query)
        result = LookupResult(query=text, notes=notes)
        if not text:
            result.suggestions = list(EXAMPLES)
            return result
        result.matches = self._by_form(text)
        if not result.matches:
            result.matches = [Match(e, "text", s) for e, s in self.index.search(text, MAX_TEXT_MATCHES)]
        if not result.matches:
            result.suggestions = self._suggest(text)
        return result

    def by_message(self, line: str, client: str | None = None) -> list[Entry]:
        """The entries whose listed messages the line holds, the longest (most specific) first. With `client`
        ("FileZilla"), another client's messages do not count: "Authentication failed" in a server's log is
        not WinSCP's."""
        key = _message_key(line)
        found = sorted(
            (
                (size, entry)
                for pattern, size, entry in self._message_patterns()
                if (client is None or entry.client.split(" (")[0] in ("", client)) and pattern.search(key)
            ),
            key=lambda hit: -hit[0],
        )
        entries: dict[str, Entry] = {}
        for _, entry in found:
            entries.setdefault(entry.id, entry)
        return list(entries.values())

    def _by_form(self, text: str) -> list[Match]:
        if text.isdigit() and len(text) <= 2:
            return [Match(e, "code") for e in self._small_number(text)]
        if text.isascii() and text.isdigit():  # what the patterns below would find in a bare number
            if len(text) == 3 and digits.is_reply_code(text):
                return self._explicit("ftp-reply", text)
            if len(text) == 5 and text[:2] in ("10", "11"):
                return [Match(e, "code") for e in [self.kb.get("winsock", text)] if e]
            return []
        import re

        explicit = re.match(_KIND_AND_NUMBER, text)
        if explicit:
            return self._explicit(_KIND_WORDS[explicit["kind"].split()[0].lower()], explicit["number"])
        series = re.match(_SERIES, text)
        if series:
            entry = self.kb.by_id.get(f"ftp-{series[1]}xx")
            return [Match(entry, "code")] if entry else []
        matches: list[Match] = []
        seen: set[str] = set()

        def add(entry: Entry, reason: str) -> None:
            if entry.id not in seen:
                seen.add(entry.id)
                matches.append(Match(entry, reason))

        for number in re.findall(_CURL_LINE, text):
            if curl := self.kb.by_id.get(f"curl-{int(number)}"):
                add(curl, "code")
        for symbol in re.findall(_SYMBOL, text):
            for entry in self._aliases.get(symbol.upper(), []):
                add(entry, "name")
        for found in re.finditer(_REPLY_CODE, text):
            if re.search(_PORT_PREFIX, text[: found.start()]):
                continue
            code = found[1]
            for quoted in self._quoted_server_lines(code, text):
                add(quoted, "name")
            entry = self.kb.get("ftp-reply", code)
            if entry:
                add(entry, "code")
            elif f"ftp-{code}" not in seen:
                seen.add(f"ftp-{code}")
                matches.append(Match(self.unknown_reply(code), "unknown-code"))
        for number in re.findall(_WINSOCK, text):
            if entry := self.kb.get("winsock", number):
                add(entry, "code")
        matches.sort(key=_relevance)
        return matches[:MAX_CODE_MATCHES]

    def _message_patterns(self) -> list[tuple[re.Pattern[str], int, Entry]]:
        if self._messages is None:
            import re

            patterns = []  # made whole before it is kept: another thread may be reading it meanwhile
            for entry in self.kb.entries:
                for message in entry.messages:
                    key = _message_key(message)
                    if len(key) >= MIN_MESSAGE_CHARS:
                        pattern = r"\d{2,}".join(re.escape(part) for part in re.split(_NUMBER, key))
                        patterns.append((re.compile(pattern), len(key), entry))
            self._messages = patterns
        return self._messages

    def _quoted_server_lines(self, code: str, text: str) -> list[Entry]:
        """Server messages quoted with their reply code ('500 OOPS: child died'): more precise than the code."""
        if self._server_lines is None:
            self._server_lines = _server_lines(self.kb)
        said = _squeeze(text)
        return [entry for phrase, entry in self._server_lines.get(code, ()) if phrase in said]

    def _explicit(self, kind: str, number: str) -> list[Match]:
        number = str(int(number))
        if kind == "client-message":
            entry = self.kb.by_id.get(f"curl-{number}")
        else:
            entry = self.kb.get(kind, number)
        if entry:
            return [Match(entry, "code")]
        if kind == "ftp-reply" and digits.is_reply_code(number):
            return [Match(self.unknown_reply(number), "unknown-code")]
        return []

    def _small_number(self, number: str) -> list[Entry]:
        number = str(int(number))
        readings = [self.kb.get("sftp-status", number), self.kb.by_id.get(f"curl-{number}")]
        return [e for e in readings if e]

    def resolve(self, entry_ids: list[str]) -> list[Match]:
        """Matches for ids an earlier answer carried (a button's value); unknown ids are skipped."""
        matches = []
        for entry_id in entry_ids:
            if entry := self.kb.by_id.get(entry_id):
                matches.append(Match(entry, "code"))
            elif entry_id[:4] == "ftp-" and entry_id[4:].isdecimal() and digits.is_reply_code(entry_id[4:]):
                matches.append(Match(self.unknown_reply(entry_id[4:]), "unknown-code"))
        return matches

    def unknown_reply(self, code: str) -> Entry:
        """An entry for a three-digit code no standard defines, explained by its digits."""
        class_short, class_meaning = digits.first_digit(code[0])
        group_short, _ = digits.second_digit(code[1])
        nearest = self.nearest_replies(code)
        return Entry(
            id=f"ftp-{code}",
            kind="ftp-reply",
            code=code,
            title=f"Not a standard reply code ({class_short}, {group_short})",
            summary=(
                f"No FTP standard defines {code}, but its digits still tell a lot: a {class_short} reply "
                f"about {group_short}. {class_meaning}"
            ),
            causes=(
                "The server software uses its own code here; the text after the code says what it means.",
                "The number was copied with a typo: compare with the nearest standard codes below.",
            ),
            user_action=(
                "Read the whole reply line the server sent: its text matters more than the number.",
                "Check the nearest standard codes listed below.",
            ),
            admin_action=("Look the code up in the server software's documentation and log.",),
            sources=(digits.source(),),
            standard=False,
            origin="not defined by any FTP RFC or widely used server that ftpcode knows",
            related=tuple(e.id for e in nearest),
        )

    def nearest_replies(self, code: str, count: int = 3) -> list[Entry]:
        known = [e for e in self.kb.of_kind("ftp-reply") if e.is_three_digit and e.standard]

        def distance(entry: Entry) -> tuple[int, int, int]:
            return (entry.code[0] != code[0], entry.code[1] != code[1], abs(int(entry.code) - int(code)))

        return sorted(known, key=distance)[:count]

    def _suggest(self, text: str) -> list[str]:
        import difflib
        import re

        words = re.findall(r"[A-Za-z_]{4,}", text)[:20]
        close = []
        for word in words:
            close += difflib.get_close_matches(word.upper(), self._aliases, n=2, cutoff=0.8)
        return list(dict.fromkeys(close))[:3] + list(EXAMPLES[:4])


def _squeeze(text: str) -> str:
    return " ".join(text.lower().split())


def _server_lines(kb: KnowledgeBase) -> dict[str, list[tuple[str, Entry]]]:
    """For each reply code, the texts of server messages sent with it (an entry whose `message` is 'NNN text')."""
    import re

    lines: dict[str, list[tuple[str, Entry]]] = {}
    for entry in kb.of_kind("client-message"):
        line = re.match(_SERVER_LINE, entry.message)
        if not line:
            continue
        texts = {line[2], *(re.sub(_SERVER_LINE, r"\2", m) for m in entry.messages)}
        for phrase in sorted({_squeeze(t) for t in texts if len(t.strip()) >= _MIN_QUOTED_CHARS}):
            lines.setdefault(line[1], []).append((phrase, entry))
    return lines


def _relevance(match: Match) -> tuple[int, int]:
    """Errors before successes: a 530 matters more than the 220 greeting beside it."""
    code = match.entry.code
    if match.entry.kind == "ftp-reply" and code[:1] in "123":
        return (1, 0)
    return (0, 0)


_finder: Finder | None = None
# The bot's first requests ask from many threads at once; without the lock each loaded a copy of its own.
# _thread, not threading: the CLI imports this module and must start as fast as bare Python.
_finder_lock = _thread.allocate_lock()


def finder() -> Finder:
    """The shipped knowledge base, loaded once per process; a caller during the load waits for it."""
    global _finder
    found = _finder
    if found is None:
        with _finder_lock:
            if _finder is None:
                _finder = Finder(load())
            found = _finder
    return found


def lookup(query: object) -> LookupResult:
    """Looks a query up in the shipped knowledge base."""
    return finder().lookup(query)
