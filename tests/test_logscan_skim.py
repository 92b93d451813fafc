"""Big curl and FileZilla logs skip their healthy stretches; the result must equal a full scan's."""

import dataclasses
import random
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from knowledge.logscan import clients, long_text, scanner, skim
from knowledge.logscan.clients import FZ_PREFIX
from knowledge.logscan.context import host_port, unreachable_from
from knowledge.logscan.events import iter_matches
from knowledge.logscan.ftp import HOST_PORT_NUMBERS, decode_pasv

HEALTHY = {
    "filezilla": (
        "Status:\tConnecting to 198.51.100.7:21...\nResponse:\t220 (vsFTPd 3.0.3)\nCommand:\tUSER alice\n"
        "Response:\t331 Please specify the password.\nCommand:\tPASS secret\nResponse:\t230 Login successful.\n"
        "Command:\tPASV\nResponse:\t227 Entering Passive Mode (198,51,100,7,195,80).\nCommand:\tRETR a.txt\n"
        "Response:\t150 Opening BINARY mode data connection.\nResponse:\t226 Transfer complete.\n"
        "Status:\tFile transfer successful\nCommand:\tQUIT\nResponse:\t221 Goodbye.\n"
    ),
    "curl": (
        "*   Trying 198.51.100.7:21...\n* Connected to ftp.example.com (198.51.100.7) port 21\n"
        "< 220 (vsFTPd 3.0.3)\n> USER alice\n< 331 Please specify the password.\n> PASS secret\n"
        '< 230 Login successful.\n> PWD\n< 257 "/" is the current directory\n> EPSV\n'
        "< 229 Entering Extended Passive Mode (|||50000|)\n> TYPE I\n< 200 Switching to Binary mode.\n"
        "> RETR a.txt\n< 150 Opening BINARY mode data connection.\n< 226 Transfer complete.\n"
        "* Connection #0 to host ftp.example.com left intact\n"
    ),
}
FAULTS = {
    "filezilla": [
        "Command:\tPASS wrong\nResponse:\t530 Login incorrect.\nError:\tCritical error: Could not connect to server\n",
        "Command:\tPASV\nResponse:\t227 Entering Passive Mode (10,0,0,5,195,80).\nCommand:\tMLSD\n"
        "Error:\tConnection timed out after 20 seconds of inactivity\n",
        "Response:\t421 There are too many connections from your internet address.\n",
        "Command:\tRETR missing.txt\nResponse:\t550 Failed to open file.\n",
    ],
    "curl": [
        "> PASS wrong\n< 530 Login incorrect.\n* Access denied: 530\ncurl: (67) Access denied: 530\n",
        "> PASV\n< 227 Entering Passive Mode (10,0,0,5,195,80).\n"
        "* connect to 10.0.0.5 port 50000 failed: Connection timed out\ncurl: (28) Connection timed out\n",
        "> RETR missing.txt\n< 550 Failed to open file.\ncurl: (78) RETR response: 550\n",
        "> PORT 127,0,0,1,200,10\n< 200 PORT command successful.\n> LIST\n< 425 Failed to establish connection.\n",
    ],
}


def big_log(fmt: str, rng: random.Random, faults: int) -> str:
    sessions = [HEALTHY[fmt]] * (skim.MIN_SKIM_CHARS // len(HEALTHY[fmt]) + 50)
    sessions = list(sessions)
    for _ in range(faults):
        where = rng.randrange(len(sessions))
        sessions[where] = HEALTHY[fmt].split("Command:\tQUIT" if fmt == "filezilla" else "> PWD")[0] + rng.choice(
            FAULTS[fmt]
        )
    return "".join(sessions)


def comparable(result) -> dict:
    data = result.to_json()
    data.pop("exchanges_total", None)
    kept = {(e["line"], e["command"], e["code"], e["text"]) for e in data.pop("exchanges")}
    return {"json": data, "prefill": result.triage_prefill, "codes": result.codes, "kept": kept}


@pytest.mark.parametrize("fmt", ["filezilla", "curl"])
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), faults=st.integers(0, 3))
def test_skimmed_scan_equals_the_full_scan(fmt, seed, faults):
    text = big_log(fmt, random.Random(seed), faults)
    fast = scanner.scan_with_limit(text, None)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(skim, "MIN_SKIM_CHARS", 10**12)  # forces the exact path
        exact = scanner.scan_with_limit(text, None)
    assert fast.exchanges_total is not None, "the fast path was not taken"
    fast_view, exact_view = comparable(fast), comparable(exact)
    assert fast_view["json"] == exact_view["json"]
    assert fast_view["prefill"] == exact_view["prefill"] and fast_view["codes"] == exact_view["codes"]
    assert fast_view["kept"] <= exact_view["kept"]  # every exchange kept is one the full scan found
    assert (fast.exchanges_total or len(fast.exchanges)) == len(exact.exchanges)


# Lines of both formats, with marks where the parsers do not take them (mid-line, after a bad prefix).
_LINES = st.sampled_from(
    [
        "Status:\tConnecting to 198.51.100.7:21...",
        "2024-05-01 10:00:01 4242 1 Response:\t226 Transfer complete.",
        "10:00:01\tResponse:\t227 Entering Passive Mode (198,51,100,7,195,80).",
        "2024-05-01T10:00:01.123 Command:\tPASV",
        "12 Response:\t200 ok",
        "10:00:01.5 Response:\t200 ok",
        "2024-05-01 10:00:01,25 7 Response:\t200 ok",
        "2024-05-01 10:00:01 1 2 3 Response:\t200 ok",
        "2024-05-01 10:00:01 12Response:\t200 ok",
        "2024-05-01  10:00:01 Response:\t200 ok",
        "Status:\tResponse: 200 in a status line",
        "Command:\tUSER Response:",
        "Response:\t230-Welcome",
        "Response:",
        "> USER alice",
        "< 331 Please specify the password.",
        "<  220",
        "* Trying 198.51.100.7:21...",
        "x < 200 not at the start",
        ">",
        "",
    ]
)


def _last_event_line_by_line(plan: skim.Skim, pos: int):
    """What _last_event gives, trying every line before pos (the way it was written first)."""
    body, line_end = plan.body, pos - 1
    while line_end > 0:
        start = body.rfind("\n", 0, line_end) + 1
        m = plan.spec.event_line.match(body, start, line_end)
        if m is not None:
            return m.group(1), m.group(2), m.group(3) or ""
        line_end = start - 1
    return None


@pytest.mark.parametrize("fmt", ["filezilla", "curl"])
@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_LINES, max_size=30), data=st.data())
def test_last_event_equals_trying_every_line(fmt, lines, data):
    plan = skim.Skim(fmt, "\n" + "\n".join(lines) + "\n")
    starts = [0] + [i + 1 for i, c in enumerate(plan.body) if c == "\n"]
    pos = data.draw(st.sampled_from(starts))
    assert plan._last_event(pos) == _last_event_line_by_line(plan, pos)


# what may stand before a FileZilla session's note: final replies and others, commands, marks mid-line
_BEFORE_NOTE_LINES = st.one_of(
    _LINES,
    st.sampled_from(
        [
            "2024-05-01 10:00:01 4242 1 Response:\t227 Entering Passive Mode (198,51,100,7,195,80).",
            "Response:\t229 Entering Extended Passive Mode (|||50000|)",
            "Response:\t221 Goodbye.",
            "Response:\t331 Password required",
            "Response:\t150 Opening data connection",
            "Response:\t530 Login incorrect.",
            "Response:\t200",
            "Response: \t 257 x",
            "Response:\t2000 x",
            "2024-05-01 10:00:0\u0663 Response:\t200 ok",
            "\u0663 Response:\t200 ok",
            "Response:\t226 ok Command:\tQUIT",
            "Command:\tQUIT Response:\t221 x",
            "Status:\tDisconnected from server",
            "2024-05-01 10:00:01 4242 1 Status:\tConnecting to 10.0.0.5:21...",
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(_BEFORE_NOTE_LINES, max_size=12))
def test_is_cut_after_a_final_reply_equals_reading_the_last_event(lines):
    plan = skim.Skim("filezilla", "\n" + "\n".join(lines) + "\n")
    slow = skim.Skim("filezilla", plan.body)
    slow.spec = dataclasses.replace(slow.spec, final_reply=None)
    for pos in [i + 1 for i, c in enumerate(plan.body) if c == "\n"]:
        assert plan._is_cut(pos) == slow._is_cut(pos)
        # the shortcut alone: never a cut where the last event is not a reply
        assert not plan._after_final_reply(pos) or (slow._last_event(pos) or ("",))[0] == "Response"


# reply lines in place and out of place, with their digits varied (the quick count reads them all as 0s)
_REPLY_LINES = st.builds(
    lambda line, digits: line.replace("1", digits),
    st.sampled_from(
        [
            "2024-05-01 10:00:01 4242 1 Response:\t226 Transfer complete.",
            "10:00:01\tResponse:\t200 ok",
            "Response:\t200 ok",
            "12 Response:\t200 ok",
            "2024-05-01 10:00:01 1 2 3 Response:\t200 ok",
            "Status:\tResponse: 200",
            "Command:\tUSER 1",
        ]
    ),
    st.sampled_from(["1", "9", "19"]),
)


@settings(max_examples=500, deadline=None)
@given(lines=st.lists(st.one_of(_LINES, _REPLY_LINES), max_size=40), data=st.data())
def test_reply_count_equals_counting_reply_lines(lines, data):
    plan = skim.Skim("filezilla", "\n" + "\n".join(lines) + "\n")
    starts = [i + 1 for i, c in enumerate(plan.body) if c == "\n"]
    start, stop = sorted(data.draw(st.lists(st.sampled_from(starts), min_size=2, max_size=2)))
    reply_lines = len(re.findall(r"(?m)^" + FZ_PREFIX + "Response:", plan.body[start:stop]))
    marks = plan.body.count("Response:", start - 1, stop)
    assert plan.count_replies(start, stop) == (marks if reply_lines == marks else None)
    # the quick count's answer alone: in place only when they are, and it knows it when they are
    assert plan._marks_in_place(start, stop, marks) == (reply_lines == marks)


def test_marks_in_place_counted_by_their_shapes():
    lines = ["2024-05-01 10:00:01 4242 1 Response:\t200 ok", "2024-05-01 10:59:59 4242 7 Response:\t200 ok"] * 50
    plan = skim.Skim("filezilla", "\n" + "\n".join(lines) + "\n")
    assert plan._marks_in_place(1, len(plan.body), 100)


@given(text=st.text(alphabet=st.sampled_from("ab\n\u00e9\u20ac\U0001f600"), max_size=60), limit=st.integers(1, 80))
def test_cutting_ascii_text_without_encoding_it_gives_the_same_cut(text, limit):
    raw = text.encode("utf-8", "surrogatepass")
    expected = (text, False) if len(raw) <= limit or len(text) <= limit // 4 else (
        raw[:limit].decode("utf-8", "ignore"), True)  # fmt: skip
    assert scanner._limit(text, limit) == expected


_PASSIVE_REPLIES = st.sampled_from(
    [
        "Response:\t227 Entering Passive Mode (198,51,100,7,195,80).",
        "Response:\t227 Entering Passive Mode (10,0,0,5,195,80).",
        "Response:\t227 Entering Passive Mode (10,0,0,9,195,80)",
        "Response:\t227 Entering Passive Mode (127,0,0,1,4,5).",
        "Response:\t227 Entering Passive Mode (10, 0, 0, 5, 195, 80).",
        "Response:\t227 Entering Passive Mode (1000,0,0,5,195,80).",
        "Response:\t227 Entering Passive Mode (10,0,0,5,195,80",
        "Response:\t227 Entering Passive Mode 1,2,3,4,5,6 (10,0,0,5,195,80).",
        "Response:\t227 Entering passive mode (10,0,0,5,195,80).",
        "Response:\t227 =10,0,0,5,195,80",
        "Response:\t227 ok",
        "Response:\t550 Failed.",
        "Response:\t200 ok",
        "Response:\t227 Entering Passive Mode (198,51,100,7,195,80). Response:\t550 x",
        "Response:\t227 Entering Passive Mode (198,51,100,7,195,80). Response: 227 (10,0,0,5,195,80)",
        "Response:\t550 x Response:\t227 Entering Passive Mode (10,0,0,5,195,80).",
        "Response:\t200 x Response:227 Entering Passive Mode (10,0,0,5,195,80).",
        "Connecting to Response:\t227 Entering Passive Mode (10,0,0,5,195,80).",
        "Command:\tPASV",
    ]
)
# sessions that start clean (a final reply before the note), each with its own address and passive replies
_PASSIVE_SESSIONS = st.lists(
    st.tuples(
        st.sampled_from(["198.51.100.7", "10.0.0.9", "10.0.0.5", "ftp.example.com"]),
        st.sampled_from(["Response:\t226 Transfer complete.", "Command:\tQUIT", ""]),
        st.lists(_PASSIVE_REPLIES, max_size=4),
    ),
    max_size=6,
)


def _reply_anchors_slowly(plan: skim.Skim) -> list[int]:
    """What _reply_anchors gives, the way it was written first: the replies that are anchors by their code in a
    pass of their own, and every 227 decoded, its session's note found with rfind and read whole, and whether it
    starts a session read from the last event before it."""
    body = plan.body
    plan.spec = dataclasses.replace(plan.spec, final_reply=None)
    found = [m.start() for m in re.finditer(r"Response:[ \t]*+(?!" + skim._PLAIN_CODE + r"|227 )", body)]
    for m in re.finditer(r"Response:[ \t]*(227 [^\n]*)", body):
        pasv = HOST_PORT_NUMBERS.search(m.group(1))
        if pasv is None:
            continue
        note = body.rfind("Connecting to ", 0, m.start())
        line_start = body.rfind("\n", 0, note) + 1
        line = body[line_start : body.find("\n", note)]
        at = host_port(line) if note >= 0 and plan._is_cut(line_start) else None
        host = at[0] if at and at[0] else None
        if list(pasv.group(1, 2, 3, 4)) == (host.split(".") if host else []):
            continue
        decoded = decode_pasv(m.group(1))
        if decoded is None or decoded[0] == host:
            continue
        if host is None or unreachable_from(decoded[0], host):
            found.append(m.start())
    return sorted(found)


@settings(max_examples=300, deadline=None)
@given(sessions=_PASSIVE_SESSIONS, second_note=st.sampled_from(["", " Connecting to 10.0.0.5:21..."]))
def test_reply_anchors_equal_searching_every_reply(sessions, second_note):
    lines = [
        line
        for host, before, replies in sessions
        for line in (before, f"Status:\tConnecting to {host}:21...{second_note}", *replies)
    ]
    body = "\n" + "\n".join(lines) + "\n"
    assert skim.Skim("filezilla", body)._reply_anchors() == _reply_anchors_slowly(skim.Skim("filezilla", body))


@given(text=st.text(alphabet="ab\n", max_size=3000), data=st.data())
def test_fewer_lines_is_counting_them(text, data):
    start, stop = data.draw(st.integers(0, len(text))), data.draw(st.integers(0, len(text)))
    n = data.draw(st.integers(1, 12))
    assert long_text.fewer_lines(text, start, stop, n) == (text.count("\n", start, stop) < n)


_NEEDLES = [b"\n", b"\n0", b"\n0a", b"\na0a", b"\n00000"]  # none can overlap itself


@settings(max_examples=300)
@given(
    text=st.text(alphabet="0159a\n", min_size=1, max_size=300),
    needles=st.lists(st.sampled_from(_NEEDLES), min_size=2, max_size=4, unique=True),
    chunk=st.integers(1, 16),
    ends=st.tuples(st.integers(0, 300), st.integers(0, 300)),
)
@example(text="a\n\n\n\n9\n\n", needles=[b"\n", b"\na0a"], chunk=2, ends=(0, 8))  # a "\n" in the overlap
def test_count_zeroed_is_counting_in_the_zeroed_text(text, needles, chunk, ends):
    start, stop = sorted(min(end, len(text)) for end in ends)
    zeroed = text.encode().translate(bytes.maketrans(b"123456789", b"000000000"))
    expected = [zeroed.count(needle, start, stop) for needle in needles]
    assert long_text.count_zeroed(text, needles, start, stop, chunk) == expected


# curl lines, notes among them with and without a failure word, after and inside an unanswered command
_CURL_LINES = st.sampled_from(
    [
        "*   Trying 198.51.100.7:21...",
        "*   Trying 198.51.100.7:21... failed",
        "* Connected to ftp.example.com (198.51.100.7) port 21 (#0)",
        "* Connected to ftp.example.com but refused",
        "* Connect data stream passively",
        "* Connect data stream: error",
        "* Entry path is '/'",
        "* Entry path error",
        "* Maxdownload = -1",
        "* SSL connection using TLSv1.3",
        "* connect to 10.0.0.5 port 50000 failed: Connection timed out",
        "*\tsomething failed",
        "< 220 (vsFTPd 3.0.3)",
        "< 550 Failed to open file: error",
        "< 227 Entering Passive Mode (10,0,0,5,195,80).",
        "> USER alice",
        "> PORT 127,0,0,1,200,10",
        "> RETR fail.txt",
        "curl: (28) Connection timed out",
        "x refused",
        "",
    ]
)


@given(
    text=st.text(alphabet="ab\n", max_size=200),
    mark=st.sampled_from(["a", "ab", "aa", "aba", "\nab"]),
    data=st.data(),
)
def test_latest_mark_is_rfind(text, mark, data):
    positions = sorted(data.draw(st.lists(st.integers(0, len(text) + 2), max_size=20)))
    latest = long_text.LatestMark(text, mark)
    answered = -1
    for pos in positions:
        expected = text.rfind(mark, 0, pos)
        assert latest.moves(pos) == (expected != answered)
        answered = latest.before(pos)
        assert answered == expected


def _last_user_command_in(plan: skim.Skim, text: str) -> str:
    """What last_user_command gives, reading a copy of the stretch's text lowered whole."""
    for line in reversed(text.split("\n")):
        if "user" in line.lower():
            for _n, kind, command, _key in plan.spec.parse("\n" + line):
                head = command.split(None, 1)
                if kind == "c" and head and head[0].upper() == "USER":
                    return command
    return ""


_USER_LINES = st.sampled_from(
    [
        "Command:\tUSER alice",
        "2024-05-01 10:00:01 4242 1 Command:\tuser bob",
        "Command:\tUSERS x",
        "Status:\tUSER carol",
        "Response:\t331 User ok",
        "> USER dave",
        "> user",
        "< 331 Please specify the password.",
        "",
    ]
)


@pytest.mark.parametrize("fmt", ["filezilla", "curl"])
@settings(max_examples=200, deadline=None)
@given(lines=st.lists(_USER_LINES, max_size=12), data=st.data())
def test_last_user_command_reads_only_its_stretch(fmt, lines, data):
    plan = skim.Skim(fmt, "\n" + "\n".join(lines) + "\n")
    starts = [i + 1 for i, c in enumerate(plan.body) if c == "\n"]
    start, stop = sorted(data.draw(st.lists(st.sampled_from(starts), min_size=2, max_size=2)))
    assert plan.last_user_command(start, stop) == _last_user_command_in(plan, plan.body[start:stop])


@given(
    pieces=st.lists(st.sampled_from(["user", "USER", "uSe", "Us", "r", "eR", "x", "\n"]), max_size=60),
    word=st.sampled_from(["user", "u", "er"]),
    window=st.integers(1, 12),
    data=st.data(),
)
def test_rfind_lowered_is_rfind_in_the_lowered_text(pieces, word, window, data):
    text = "".join(pieces)
    start, end = sorted(data.draw(st.lists(st.integers(0, len(text)), min_size=2, max_size=2)))
    assert long_text.rfind_lowered(text, word, end, window) == text.lower().rfind(word, 0, end)
    assert long_text.rfind_lowered(text, word, end, window, start) == text.lower().rfind(word, start, end)


@pytest.mark.parametrize(
    ("pattern", "kinds"),
    [
        (clients._FILEZILLA, clients._FZ_KIND),
        (clients._CURL, clients._CURL_KIND),
        (clients._PREFIXED_LABELS, clients._FZ_KIND | {"Status": "n"}),
    ],
)
@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.one_of(_LINES, _CURL_LINES, st.just("2025-09-11 INFO <App> Status:  x")), max_size=30))
def test_marked_lines_numbers_lines_as_iter_matches_does(pattern, kinds, lines):
    body = "\n" + "\n".join(lines) + "\n"
    slow = [(line, kinds[m.group(1)], m.group(2).strip(), None) for line, m in iter_matches(pattern, body)]
    assert clients._marked_lines(pattern, kinds, body, str.strip) == slow


# FileZilla commands and what may follow them: replies after a prefix, a bad prefix, another command, a digit
# that is not ASCII (Arabic-Indic three) where a prefix stands
_FZ_COMMAND_LINES = st.sampled_from(
    [
        "Command:\tPASV",
        "2024-05-01 10:00:01 4242 1 Command:\tRETR a.txt",
        "Command:\tPORT 127,0,0,1,4,5",
        "Response:\t227 Entering Passive Mode (10,0,0,5,195,80).",
        "2024-05-01 10:00:01 4242 1 Response:\t200 ok",
        "10:00:01.5 Response:\t200 ok",
        "12x Response:\t200 ok",
        "\u0663 Response:\t200 ok",
        "2024-05-01 10:00:0\u0663 Response:\t200 ok",
        "Status:\tConnection timed out",
        "Error:\tCritical error",
        "",
    ]
)


@pytest.mark.parametrize(
    ("fmt", "lines", "shortcut"),
    [("curl", _CURL_LINES, "quick_anchors"), ("filezilla", _FZ_COMMAND_LINES, "ascii_anchors")],
)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_anchor_shortcuts_equal_the_full_patterns(fmt, lines, shortcut, data):
    body = "\n" + "\n".join(data.draw(st.lists(lines, max_size=30))) + "\n"
    slow = skim.Skim(fmt, body)
    slow.spec = dataclasses.replace(slow.spec, **{shortcut: None})
    assert skim.Skim(fmt, body).anchors() == slow.anchors()
