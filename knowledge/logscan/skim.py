"""The fast path for big client logs (curl -v, FileZilla): parse only the parts of the log that can matter.

A long paste is mostly the same healthy session over and over. The full pipeline builds one event and one
exchange per line of it, which is what makes a 10 MB log slow. Here one regex pass finds the *anchors*, the
lines that can change what the scan finds: a reply that is not a plain 1xx/2xx/3xx one, a 227 whose address
is not the session's own, PORT/EPRT, a command left without a reply, a client message that is not a routine
"Connecting to"/"Trying". The parts kept are the head, the tail and whole sessions around every anchor; they
go through the normal pipeline. What lies between (whole healthy sessions) is skipped: only its replies are
counted.

Skipping must not change a result, so `Skim.plan` cuts only where a session starts with a clean slate (a
routine "connecting" note after a final reply that is not 227/229), `Skim.events` checks that no command
or multi-line reply is left open at a cut, and `consistent` checks, on the analysed result, every fact
taken from across sessions (the greeting, the first login, the last data channel and transfer, TLS, the
user name) and that the rules' look-ahead stays inside the kept part. When a check fails the caller scans
the whole log the slow, exact way.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from knowledge.logscan.clients import (
    CURL_NOTE_OPENINGS,
    CURL_NOTES,
    FZ_PREFIX,
    FZ_STATUS_WORTH_KEEPING,
    parse_curl,
    parse_filezilla,
)
from knowledge.logscan.context import LogContext, host_port, unreachable_from
from knowledge.logscan.events import COMMAND, REPLY, Event
from knowledge.logscan.ftp import DATA_COMMANDS, HOST_PORT_NUMBERS, decode_pasv
from knowledge.logscan.long_text import LatestMark, count_zeroed, fewer_lines, rfind_lowered, zero_digits
from knowledge.logscan.model import Exchange

MIN_SKIM_CHARS = 512 * 1024  # below this the whole log is parsed: it is fast enough and nothing is capped
HEAD_REPLIES = 2000
TAIL_REPLIES = 500
MARGIN_REPLIES = 120  # kept on each side of an anchor: the rules look at most 50 exchanges ahead
MIN_GAP_LINES = 200  # a skipped stretch shorter than this is kept
LOOK_AHEAD = 60  # exchanges the rules may read after one that matters (next_in_session reads 49)
MAX_ANCHORS = 2000  # a log that is failures all over is parsed whole

# A single-line reply with a code that no rule looks at: 1xx, 2xx (not 227, the passive address), 3xx.
_PLAIN_CODE = r"(?:1\d\d|2(?:[013-689]\d|2[0-689])|3\d\d) "
_ROUTINE_CONNECT = r"(?:Trying |Connected to |Connecting to |Connected with )"
_NO_FAIL = r"(?![^\n]*(?:refused|fail))"
_OWN_DATA_SETUP = r"(?i:PORT|EPRT|LPRT|LPSV)(?![^\s])"
_OWN_SETUP_VERBS = frozenset(("PORT", "EPRT", "LPRT", "LPSV"))
_AUTH = re.compile("auth")  # the engine's literal search: faster than `in` on megabytes of letters
# what the curl anchor's lookaheads look for in the rest of a note line (_NO_FAIL and CURL_NOTES' last branch)
_NOTE_FAILURE_WORDS = tuple(re.compile(word) for word in ("fail", "refused", "error"))


@dataclass(frozen=True)
class _Format:
    parse: Callable[[str], list[Event]]
    anchors: tuple[re.Pattern[str], ...]  # lines that must be parsed (over "\n" + text)
    reply_mark: str  # counts the replies of a skipped stretch (every occurrence is a reply line there)
    note_mark: str  # a literal every routine "connecting" note holds (found with str.rfind/find)
    connect_note: re.Pattern[str]  # such a note, matched at a line start: where a session may start
    event_line: re.Pattern[str]  # a command or reply line, matched at a line start
    event_marks: tuple[str, str]  # every line event_line matches holds one of these
    # 227 replies, checked in Python (group 1 the reply), and replies that are anchors themselves (no group 1)
    replies: re.Pattern[str] | None = None
    # a reply mark in the reversed text that does not start its line: then counting the marks is not exact
    misplaced_reply: re.Pattern[str] | None = None
    # anchors without the scans of each note line for a failure word: the same lines when no note holds one
    quick_anchors: tuple[re.Pattern[str], ...] | None = None
    # anchors for an ASCII log: [0-9] where the anchors have \d (the same characters there)
    ascii_anchors: tuple[re.Pattern[str], ...] | None = None
    # a final single-line reply that is not 227/229, matched at a line start: ends a session (see _is_cut)
    final_reply: re.Pattern[str] | None = None


def _curl_anchors(no_fail: str, notes: str) -> re.Pattern[str]:
    return re.compile(
        r"\n(?:< (?!" + _PLAIN_CODE + r")"  # a reply worth a look, or one without a code
        r"|> "
        + _OWN_DATA_SETUP  # active mode
        + r"|> [^\n]*+\n(?:(?![<>] )[^\n]*+\n)*+(?=> )"  # a command nobody answered
        r"|\*[ \t]++(?!(?:" + _ROUTINE_CONNECT + r"|Connect data stream)" + no_fail + r")"
        r"(?=" + notes + r")"
        r"|curl: \()"
    )


_CURL = _Format(
    parse=parse_curl,
    anchors=(_curl_anchors(_NO_FAIL, CURL_NOTES),),
    # about half the time: the lookaheads scanned each of the 110,000 note lines of a 10 MB log to its end
    quick_anchors=(_curl_anchors("", CURL_NOTE_OPENINGS),),
    reply_mark="\n< ",
    note_mark="\n*",
    connect_note=re.compile(r"\*[ \t]++" + _ROUTINE_CONNECT + _NO_FAIL),
    event_line=re.compile(r"([<>]) (?:(\d{3})([ -]|$))?", re.M),
    event_marks=("< ", "> "),
)

# FileZilla's optional timestamp in front of every label is costly to match on every line, so these patterns
# start at the label; a label found elsewhere in a line only keeps more. The one thing that needs the line
# start, counting replies, is done on the reversed text, where the label comes first. (Possessive: no part of it
# could match what an earlier part gave back, so giving back never helped; it cost time on every reply line.)
_FZ_PREFIX_REVERSED = (
    r"(?:[ \t]++(?:\d++[ \t]++){0,2}+(?:\d++[.,])?+\d\d:\d\d:\d\d[ T]\d\d-\d\d-\d{4}|[ \t]++\d\d:\d\d:\d\d)?"
)


def _fz_command_anchor(digit: str) -> re.Pattern[str]:
    """Active mode, or a command whose next line is not a reply (a superset of the unanswered ones)."""
    return re.compile(r"Command:(?:[ \t]*+" + _OWN_DATA_SETUP + r"|[^\n]*+\n(?![" + digit + r" \t:.,T-]*+Response:))")


_FZ_OTHER_ANCHORS = (
    re.compile(r"Error:"),
    re.compile(
        r"Status:(?=[ \t]*(?:" + FZ_STATUS_WORTH_KEEPING + r"))"
        r"(?![ \t]*(?:Connecting to " + _NO_FAIL + r"|TLS connection established|Connection established|"
        r"Disconnected from server\n))"
    ),
)
_FILEZILLA = _Format(
    parse=parse_filezilla,
    anchors=(_fz_command_anchor(r"\d"), *_FZ_OTHER_ANCHORS),
    # the command anchor, the costliest (it reads every command line and the next line's prefix), tests [0-9]
    # from a table of ASCII characters, where \d asks of each character whether it is a decimal digit: 18 -> 13 ms
    ascii_anchors=(_fz_command_anchor("0-9"), *_FZ_OTHER_ANCHORS),
    reply_mark="Response:",
    note_mark="Connecting to ",
    connect_note=re.compile(FZ_PREFIX + r"Status:[ \t]*Connecting to " + _NO_FAIL),
    event_line=re.compile(FZ_PREFIX + r"(Command|Response):[ \t]*(?:(\d{3})([ -]|\s*$))?", re.M),
    event_marks=("Command:", "Response:"),
    # with h1-h4 read at once where the reply has the usual wording (they are then what HOST_PORT_NUMBERS finds);
    # one pass for both kinds, a lookahead so that a reply later in a 227's line is still found
    replies=re.compile(
        r"Response:[ \t]*+(?:(?=(227 (?:Entering Passive Mode \((\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),\d{1,3},"
        r"\d{1,3}\))?[^\n]*))|(?!" + _PLAIN_CODE + r"))"
    ),
    misplaced_reply=re.compile(r":esnopseR(?!" + _FZ_PREFIX_REVERSED + r"\n)"),
    # [0-9]: a line it matches is one event_line matches with the same code; where it fails _last_event decides
    final_reply=re.compile(FZ_PREFIX.replace(r"\d", "[0-9]") + r"Response:[ \t]*+(?!22[79])[23][0-9][0-9] "),
)
FORMATS = {"curl": _CURL, "filezilla": _FILEZILLA}


class Skim:
    """The kept regions of `body` ("\\n" + masked text) and what the skipped ones held."""

    def __init__(self, fmt: str, body: str) -> None:
        self.spec = FORMATS[fmt]
        self.body = body
        self.kept: list[tuple[int, int]] = []  # [start, end) of kept regions, both line starts in body
        self.skipped_replies = 0
        self._reversed: str | None = None

    # --- where a session starts -------------------------------------------------------------------------
    def _last_event(self, pos: int) -> tuple[str, str | None, str] | None:
        """(kind mark, code, separator) of the last command or reply line before body position `pos`.
        Only lines holding an event mark are tried: the others cannot match."""
        body, line_end, (mark, other_mark) = self.body, pos - 1, self.spec.event_marks
        while line_end > 0:
            found = max(body.rfind(mark, 0, line_end), body.rfind(other_mark, 0, line_end))
            if found < 0:
                return None
            start = body.rfind("\n", 0, found) + 1
            end = body.find("\n", found, line_end)
            m = self.spec.event_line.match(body, start, line_end if end < 0 else end)
            if m is not None:
                return m.group(1), m.group(2), m.group(3) or ""
            line_end = start - 1
        return None

    def _is_cut(self, pos: int) -> bool:
        """A session starts at `pos` with nothing pending: the last command/reply before it was a final
        single-line reply that is not a passive-mode answer (227/229 would make this a data connection)."""
        if not self.spec.connect_note.match(self.body, pos):
            return False
        if self._after_final_reply(pos):
            return True
        last = self._last_event(pos)
        if last is None:
            return False
        mark, code, sep = last
        return (
            mark in ("<", "Response")
            and code is not None
            and code[0] in "23"
            and code not in ("227", "229")
            and (sep != "-")
        )

    def _after_final_reply(self, pos: int) -> bool:
        """True when the last line before `pos` holding an event mark is one final_reply matches (False: not
        known, _last_event decides): one match where _last_event's costs 2 µs, for each of 5,000 sessions."""
        body, final_reply, (mark, other_mark) = self.body, self.spec.final_reply, self.spec.event_marks
        if final_reply is None:
            return False
        found = max(body.rfind(mark, 0, pos - 1), body.rfind(other_mark, 0, pos - 1))
        return found >= 0 and final_reply.match(body, body.rfind("\n", 0, found) + 1) is not None

    # --- which regions to keep --------------------------------------------------------------------------
    def anchors(self) -> list[int] | None:
        body, spec = self.body, self.spec
        patterns = spec.anchors
        if spec.quick_anchors is not None and not self._failure_word_in_a_note():
            patterns = spec.quick_anchors
        elif spec.ascii_anchors is not None and body.isascii():
            patterns = spec.ascii_anchors
        found = [m.start() for pattern in patterns for m in pattern.finditer(body)]
        found.sort()
        if spec.replies is not None:
            found += self._reply_anchors()
            found.sort()
        return None if len(found) > MAX_ANCHORS else found

    def _failure_word_in_a_note(self) -> bool:
        """A "*" line (a curl note) holding "fail", "refused" or "error"; in other lines they change no anchor."""
        body = self.body
        for word in _NOTE_FAILURE_WORDS:
            for m in word.finditer(body):
                if body[body.rfind("\n", 0, m.start()) + 1] == "*":
                    return True
        return False

    def _reply_anchors(self) -> list[int]:
        """Replies with a code no rule skips, and 227 replies whose address is not the one the session connected
        to (the rule then decodes it)."""
        assert self.spec.replies is not None
        body = self.body
        found: list[int] = []
        host: str | None = None
        octets: tuple[str, ...] = ()
        # the latest "Connecting to": the session's start decides whom its 227s are compared with
        notes = LatestMark(body, "Connecting to ")
        line_end = 0  # a 227 in the rest of a 227's line is part of that reply
        for m in self.spec.replies.finditer(body):
            start = m.start()
            if m.start(1) < 0:  # no 227: an anchor by its code
                found.append(start)
                continue
            if start < line_end:
                continue
            line_end = m.end(1)
            numbers = m.group(2, 3, 4, 5)
            if numbers[0] is None:
                pasv = HOST_PORT_NUMBERS.search(m.group(1))
                if pasv is None:
                    continue  # nothing to decode
                numbers = pasv.group(1, 2, 3, 4)
            if notes.moves(start):  # a new note before this 227
                note = notes.before(start)
                line_start = body.rfind("\n", 0, note) + 1
                at = None
                if note >= 0 and self._is_cut(line_start):
                    # from the line's first "Connecting to", before which a note that starts a session holds only
                    # its time and label: host_port finds the same, and its cache knows the text of another time
                    first = body.find("Connecting to ", line_start)
                    at = host_port(body[first : body.find("\n", note)])
                host = at[0] if at and at[0] else None
                octets = tuple(host.split(".")) if host else ()
            if numbers == octets:
                continue  # the session's own address: the rule skips it
            decoded = decode_pasv(m.group(1))
            if decoded is None or decoded[0] == host:
                continue
            if host is None or unreachable_from(decoded[0], host):
                found.append(start)
        return found

    def count_replies(self, start: int, stop: int) -> int | None:
        """Reply lines in body[start:stop]; None when a reply mark also stands elsewhere in a line."""
        body, mark = self.body, self.spec.reply_mark
        count = body.count(mark, start - 1, stop)
        pattern = self.spec.misplaced_reply
        if pattern is None:
            return count
        if self._marks_in_place(start, stop, count):
            return count
        n = len(body)
        if self._reversed is None:
            self._reversed = body[::-1]
        # one search that fails at C speed, rather than a match object or string for each reply line
        return None if pattern.search(self._reversed, n - stop, n - start + 1) else count

    def _marks_in_place(self, start: int, stop: int, count: int) -> bool:
        """True when the `count` reply marks of body[start - 1:stop] all stand at a line start after a prefix
        misplaced_reply accepts (False: not known). With its digits made 0s, a log's lines have a few shapes:
        one count for each shape, where the reversed search had a lookahead for each reply (~0.3 µs each)."""
        assert self.spec.misplaced_reply is not None
        body, mark = self.body, self.spec.reply_mark
        if not body.isascii():  # then a character is a byte: positions stay
            return False
        shapes: list[bytes] = []
        at = start - 1
        for _ in range(64):  # the first replies' shapes; a log of many more is searched the other way
            at = body.find(mark, at, stop)
            if at < 0:
                break
            line = body.rfind("\n", start - 1, at)
            if line < 0:
                return False
            shape = zero_digits(body[line : at + len(mark)])  # "\n", the prefix, the mark
            at += 1
            if shape not in shapes:
                if self.spec.misplaced_reply.match(shape[::-1].decode()):
                    return False  # what the reversed search finds
                shapes.append(shape)
        # shapes end at different marks: the counts add up to `count` when no mark has another shape
        return sum(count_zeroed(body, shapes, start - 1, stop)) == count

    def _step(self, pos: int, replies: int, forward: bool) -> int:
        body, mark = self.body, self.spec.reply_mark
        for _ in range(replies):
            nxt = body.find(mark, pos + 1) if forward else body.rfind(mark, 0, pos)
            if nxt < 0:
                return len(body) if forward else 1
            pos = nxt
        return body.rfind("\n", 0, pos) + 1

    def _cut_at_or_before(self, pos: int) -> int:
        body, mark = self.body, self.spec.note_mark
        while pos > 1:
            found = body.rfind(mark, 0, pos)
            if found < 0:
                break
            line_start = body.rfind("\n", 0, found + (1 if mark[0] == "\n" else 0)) + 1
            if self._is_cut(line_start):
                return line_start
            pos = found
        return 1

    def _cut_at_or_after(self, pos: int) -> int:
        body, mark = self.body, self.spec.note_mark
        while True:
            found = body.find(mark, pos)
            if found < 0:
                return len(body)
            line_start = body.rfind("\n", 0, found + (1 if mark[0] == "\n" else 0)) + 1
            if line_start >= pos and self._is_cut(line_start):
                return line_start
            pos = found + len(mark)

    def plan(self) -> bool:
        """Chooses the kept regions; False when nothing worth skipping."""
        anchors = self.anchors()
        if anchors is None:
            return False
        body, end = self.body, len(self.body)
        wanted = [(1, self._step(1, HEAD_REPLIES, True)), (self._step(end, TAIL_REPLIES, False), end)]
        for pos in anchors:
            wanted.append((self._step(pos, MARGIN_REPLIES, False), self._step(pos, MARGIN_REPLIES, True)))
        wanted.sort()
        regions: list[tuple[int, int]] = []
        for start, stop in wanted:
            start, stop = self._cut_at_or_before(start), self._cut_at_or_after(stop)
            if regions and fewer_lines(body, regions[-1][1], start, MIN_GAP_LINES):
                regions[-1] = (regions[-1][0], max(regions[-1][1], stop))
            else:
                regions.append((start, stop))
        if len(regions) < 2:
            return False
        self.kept = regions
        counts = [self.count_replies(a, b) for (_, a), (b, _) in itertools.pairwise(regions)]
        if None in counts:
            return False
        self.skipped_replies = sum(c for c in counts if c is not None)
        return True

    # --- parsing the kept regions -------------------------------------------------------------------------
    def events(self) -> list[Event] | None:
        """The events of the kept regions with their line numbers in the whole log; None when a region
        ends with a command still waiting (then skipping the stretch after it could pair it differently)."""
        body, parse = self.body, self.spec.parse
        events: list[Event] = []
        pos = line = 0  # line: newlines in body[:pos], the number of the line starting at pos
        # (first line, last line, start, stop) of skipped stretches: body[start:stop], not a copy of megabytes
        self.stretches: list[tuple[int, int, int, int]] = []
        for start, stop in self.kept:
            if pos:  # the stretch between the previous region and this one
                first = line
                line += body.count("\n", pos, start)
                self.stretches.append((first, line - 1, pos, start))
            else:
                line = body.count("\n", 0, start)
            region = parse(body[start - 1 : stop])
            if stop < len(body) and not pairing_idle(region):
                return None
            offset = line - 1
            events.extend((n + offset, kind, text, key) for n, kind, text, key in region)
            line += body.count("\n", start, stop)
            pos = stop
        return events

    def last_user_command(self, start: int, stop: int) -> str | None:
        """The last USER command in body[start:stop], a skipped stretch of ASCII text, as the parser reads it
        ('' when there is none; verbs are matched in any case)."""
        body, end = self.body, stop
        while (at := rfind_lowered(body, "user", end, start=start)) >= 0:
            line_start = max(start, body.rfind("\n", start, at) + 1)
            line_end = body.find("\n", at, stop)
            line = body[line_start : line_end if line_end >= 0 else stop]
            for _n, kind, command, _key in self.spec.parse("\n" + line):
                head = command.split(None, 1)
                if kind == COMMAND and head and head[0].upper() == "USER":
                    return command
            end = line_start
        return ""


def pairing_idle(events: list[Event]) -> bool:
    """True when, after `events`, no command waits for a reply and no multi-line reply is
    open: then what follows pairs the same whether or not a stretch is skipped in between."""
    waiting = False
    open_code: str | None = None
    for _line, kind, text, _key in events:
        if kind == REPLY:
            if open_code is not None:
                if text.startswith(open_code) and text[3:4] in (" ", ""):
                    open_code = None
                    waiting = False
                continue
            if len(text) >= 4 and text[:3].isdigit() and text[3] == "-":
                open_code = text[:3]
                continue
            waiting = text[:1] == "1" and text[:3].isdigit()
        elif kind == COMMAND:
            waiting = True
    return not waiting and open_code is None


def _user_of(command: str | None) -> str | None:
    return command.split(None, 1)[1] if command and " " in command else None


def consistent(skim: Skim, ctx: LogContext) -> bool:
    """Would the whole log give the same result? Checks every fact the rules or the summary take from
    across sessions: each must come from a kept region, or the skipped stretches must not hold it."""
    stretches = skim.stretches
    exchanges = ctx.exchanges
    if not stretches or not exchanges:
        return False
    first_skipped, last_skipped = stretches[0][0], stretches[-1][1]

    def first_line(found: Iterator[int]) -> bool:
        line = next(found, None)
        return line is not None and line < first_skipped

    def last_line(found: Iterator[int]) -> bool:
        line = next(found, None)
        return line is not None and line > last_skipped

    hosts = (s.line for s in ctx.signals if s.kind in ("connecting", "refused", "timeout") and _has_host(s.text))
    greeting = (e.line for e in exchanges if e.command is None and e.code == "220")
    login = (e.line for e in exchanges if e.verb in ("USER", "PASS") and e.code and (
        e.code in ("230", "232") or e.code[0] in "45"))  # fmt: skip
    newest = list(reversed(exchanges))
    mode = (e.line for e in newest if e.verb in ("PASV", "EPSV", "PORT", "EPRT"))
    channel = (e.line for e in newest if _names_data_channel(e))
    transfer = (e.line for e in newest if e.verb in DATA_COMMANDS and e.code is not None and e.code[0] != "1")
    if not (first_line(hosts) and first_line(greeting) and first_line(login)):
        return False
    if not (last_line(mode) and last_line(channel) and last_line(transfer)):
        return False
    if not _look_ahead_kept(skim, ctx):
        return False
    auth_ok = any(e.verb == "AUTH" and e.code == "234" for e in exchanges)
    users = [(e.line, e.command) for e in exchanges if e.verb == "USER" and e.command]
    user_lines = [line for line, _ in users]
    body = skim.body
    for first, _last, start, stop in stretches:
        if not body.isascii() and not body[start:stop].isascii():
            return False  # lower() could change the length, and the positions with it
        # a skipped AUTH or TLS set-up only matters when the kept part never got TLS going
        if not auth_ok and (
            _AUTH.search(body[start:stop].lower()) or body.find("TLS connection established", start, stop) >= 0
        ):
            return False
        skipped_user = skim.last_user_command(start, stop)
        if skipped_user:
            i = bisect.bisect_left(user_lines, first) - 1
            if i < 0 or _user_of(users[i][1]) != _user_of(skipped_user):
                return False
    return True


def _look_ahead_kept(skim: Skim, ctx: LogContext) -> bool:
    """After every exchange a rule reads ahead from (a refused or odd reply, a 227 with an address the
    client cannot reach, active mode), at least LOOK_AHEAD exchanges must follow before the next skipped
    stretch."""
    exchanges = ctx.exchanges
    for first, _last, _start, _stop in skim.stretches:
        before = bisect.bisect_left(ctx.lines, first)  # exchanges kept before the stretch
        for e in exchanges[max(0, before - LOOK_AHEAD) : before]:
            code = e.code
            if code is None or code[0] in "45" or "\n" in e.text or e.verb in _OWN_SETUP_VERBS:
                return False
            if code == "227" and (decoded := decode_pasv(e.text)) is not None:
                host = ctx.host_at(e.line)
                if unreachable_from(decoded[0], (host[0] if host else None) or e.session):
                    return False
    return True


def _has_host(text: str) -> bool:
    found = host_port(text)
    return bool(found and found[0])


def _names_data_channel(e: Exchange) -> bool:
    """The exchange summary.timeline() takes the data channel line from (scanning from the end)."""
    if e.verb == "PASV" and e.code == "227":
        return HOST_PORT_NUMBERS.search(e.text) is not None
    return (e.verb == "EPSV" and e.code == "229") or e.verb in ("PORT", "EPRT")
