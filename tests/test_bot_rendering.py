"""The reply builders, in-process, on random and hostile text: never an exception, always within Slack's limits,
and nothing a user typed can ping (`<!channel>`) or mention (`<@U…>`, `<!subteam…>`) through the bot.

The same checks run through the real process in tests/test_bot_http.py and tests/test_bot_socket.py.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import replies
from bot.feedback import Answered, FeedbackKeys, new_answer_id
from bot.mrkdwn import _SLACK_MARKUP, escape, plain_from_slack, unescape
from bot.views import answer as answer_view
from bot.views import home
from bot.views import triage as triage_view
from bot.views.block_kit import Message
from bot.views.feedback import with_feedback
from knowledge import listing
from knowledge.lookup import LookupResult, Match, finder
from knowledge.triage import load_tree
from tests.slack_limits import (
    MAX_VIEW_BLOCKS,
    assert_block_within_limits,
    assert_within_slack_limits,
    text_strings,
)

KEYS = FeedbackKeys(b"rendering-test-secret")


def voted(message: Message, matches: list[Match]) -> Message:
    """The answer as it is sent: ending with its feedback buttons, their values as long as they get."""
    ids = tuple(m.entry.id for m in matches)
    answered = Answered(new_answer_id(), ids[0], "entry", "shortcut", "q" * 200, ids, 2_000_000_000)
    return with_feedback(message, KEYS, answered)


# What a user can type that must never reach Slack unescaped from the bot.
HOSTILE_MARKUP = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!here|here>",
    "<@U123>",
    "<@U123|bob>",
    "<!subteam^S1|@team>",
    "<#C123|general>",
    "<https://evil.example|click>",
    "<https://evil.example>",
    "&lt;!channel&gt;",
    "&amp;",
    "&lt;@U123&gt;",
    "<!date^1392734382^{date}|x>",
]
CODES = ["425", "530", "550", "421", "226", "10061", "winsock 10060", "sftp 3", "curl: (67)", "ECONNREFUSED", "999"]
LOG_LINES = [
    "Status: Connecting to 192.0.2.1:21...",
    "Response: 220 ProFTPD Server ready",
    "Command: USER alice",
    "Response: 331 Password required",
    "Command: PASS ********",
    "Response: 530 Login incorrect.",
    "Command: PASV",
    "Response: 227 Entering Passive Mode (10,0,0,5,195,80)",
    "Command: LIST",
    "Response: 425 Can't open data connection.",
    "Error: Could not connect to server",
    "```",
]


# ----- helpers -----


def assert_no_user_markup(message: Message) -> None:
    """No ping, mention or link can come out of a builder that was given no user id to mention."""
    for text in [message.text, *text_strings(message.blocks)]:
        for forbidden in ("<!", "<@", "<#", "<http", "<mailto"):
            assert forbidden not in text, f"{forbidden!r} in {text[:300]!r}"


def assert_safe_reply(text: str) -> None:
    for ephemeral in (True, False):
        message = replies.for_text(text, ephemeral=ephemeral).message
        assert_within_slack_limits(message)
        assert_no_user_markup(message)


# ----- strategies -----

markup = st.sampled_from(HOSTILE_MARKUP)
codes = st.sampled_from(CODES)
log_lines = st.sampled_from(LOG_LINES)
words = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
fragment = st.one_of(markup, codes, log_lines, words)
mixed = st.lists(fragment, max_size=30).flatmap(
    lambda parts: st.sampled_from([" ", "\n", ""]).map(lambda sep: sep.join(parts))
)


@st.composite
def long_pastes(draw: st.DrawFn) -> str:
    """Up to 20 kB: a random chunk (codes, markup, log lines) repeated, so hypothesis need not draw 20k chars."""
    chunk = draw(st.lists(fragment, min_size=1, max_size=8).map("\n".join))
    size = draw(st.integers(min_value=1_000, max_value=20_000))
    return (chunk + "\n") * (size // (len(chunk) + 1) + 1)


matches_strategy = st.lists(st.sampled_from(finder().kb.entries), min_size=1, max_size=8, unique_by=lambda e: e.id)

RANDOM = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----- for_text on random input -----


@RANDOM
@given(st.text())
def test_any_text_gets_a_safe_reply(text: str) -> None:
    assert_safe_reply(text)


@RANDOM
@given(mixed)
def test_codes_mixed_with_slack_markup_get_a_safe_reply(text: str) -> None:
    assert_safe_reply(text)


@FEW
@given(long_pastes())
def test_long_pastes_get_a_safe_reply(text: str) -> None:
    assert_safe_reply(text)


@RANDOM
@given(mixed)
def test_slack_escaped_text_unescaped_as_the_listeners_do_gets_a_safe_reply(text: str) -> None:
    # What Slack delivers (markup as <...>, typed brackets as &lt;...&gt;) goes through plain_from_slack first.
    assert_safe_reply(plain_from_slack(text))


@pytest.mark.parametrize("markup_text", HOSTILE_MARKUP)
@pytest.mark.parametrize("where", ["{m} 425", "425 {m}", "{m}", "help {m}", "list {m}", "list 4xx {m}"])
def test_each_markup_near_a_code_or_command_is_escaped(markup_text: str, where: str) -> None:
    text = where.format(m=markup_text)
    assert_safe_reply(text)
    assert_safe_reply(plain_from_slack(text))


def test_a_typed_channel_ping_is_shown_as_text_not_dropped() -> None:
    # "&lt;!channel&gt;" is what Slack sends when a user types the characters <!channel> (not a real ping).
    message = replies.for_text(plain_from_slack("&lt;!everyone&gt; &lt;@U123&gt; zzqxw"), ephemeral=True).message
    shown = "\n".join(text_strings(message.blocks))
    assert "&lt;!everyone&gt; &lt;@U123&gt; zzqxw" in shown


# ----- bot.views.answer on every entry and every list -----


@pytest.mark.parametrize("ephemeral", [True, False])
def test_every_entry_answer_fits(ephemeral: bool) -> None:
    for entry in finder().kb.entries:
        result = LookupResult(query=entry.code, matches=[Match(entry, "code")])
        message = voted(answer_view.answer_message(result, ephemeral=ephemeral), result.matches)
        assert_within_slack_limits(message)
        assert_no_user_markup(message)
        assert not re.search(r"(?<!\.)\.\.(?!\.)", message.text), f"a doubled full stop in {message.text[:80]!r}"


def test_every_entry_shared_answer_mentions_only_the_sharer() -> None:
    for entry in finder().kb.entries:
        result = LookupResult(query="", matches=[Match(entry, "code")])
        message = answer_view.answer_message(result, ephemeral=False, shared_by="U0SHARER")
        assert_within_slack_limits(message)
        mentions = [t for t in text_strings(message.blocks) if "<@" in t]
        assert mentions == ["Shared by <@U0SHARER>"]


def test_every_entry_rest_fits_from_any_start() -> None:
    for entry in finder().kb.entries:
        for start in (0, 1, 3, 50):
            for known in (True, False):
                message = answer_view.rest_message(entry, known, start)
                assert_within_slack_limits(message)
                assert_no_user_markup(message)


@pytest.mark.parametrize("wanted", ["", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx", *listing.FILTERS])
def test_every_list_fits(wanted: str) -> None:
    title, entries = listing.select(finder().kb, wanted)
    message = answer_view.list_message(title, entries)
    assert_within_slack_limits(message)
    listed = "\n".join(text_strings(message.blocks))
    missing = [e.title for e in entries if escape(e.title) not in listed]
    shown = re.search(r"(\d+) of (\d+) shown", listed)
    if shown:  # a list too long for one message says so, and shows a prefix of it
        assert int(shown[2]) == len(entries) and missing == [e.title for e in entries[int(shown[1]) :]]
    else:
        assert not missing, f"rows left out of {title!r}: {missing[:5]}"


@RANDOM
@given(matches_strategy, st.booleans(), st.lists(st.sampled_from([*HOSTILE_MARKUP, "note"]), max_size=3))
def test_answers_with_several_matches_fit(entries: list, ephemeral: bool, notes: list[str]) -> None:
    result = LookupResult(query="x", matches=[Match(e, "code") for e in entries], notes=notes)
    message = voted(answer_view.answer_message(result, ephemeral=ephemeral), result.matches)
    assert_within_slack_limits(message)
    assert_no_user_markup(message)
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    if ephemeral:
        share = next(b for b in buttons if b["action_id"] == "share_answer")
        assert share["value"].split(",") == [e.id for e in entries]


@RANDOM
@given(st.one_of(st.text(max_size=5000), mixed), st.lists(st.text(max_size=60), max_size=5))
def test_not_found_fits_and_escapes_the_query(query: str, suggestions: list[str]) -> None:
    message = answer_view.not_found_message(LookupResult(query=query, suggestions=suggestions))
    assert_within_slack_limits(message)
    for text in text_strings(message.blocks):
        assert "<!" not in text and "<@" not in text


def test_help_fits() -> None:
    message = answer_view.help_message()
    assert_within_slack_limits(message)
    assert "/ftpcode" in "\n".join(text_strings(message.blocks))


def test_home_view_fits() -> None:
    view = home.home_view()
    assert view["type"] == "home"
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    for block in view["blocks"]:
        assert_block_within_limits(block)


def test_a_list_too_long_for_one_message_says_how_much_it_shows() -> None:
    entries = list(finder().kb.entries) * 3
    message = answer_view.list_message("Everything three times", entries)
    assert_within_slack_limits(message)
    listed = "\n".join(text_strings(message.blocks))
    shown = re.search(r"(\d+) of (\d+) shown", listed)
    assert shown and int(shown[2]) == len(entries) and 0 < int(shown[1]) < len(entries)


def test_start_again_after_expiry_keeps_what_a_log_told() -> None:
    prefill = {"protocol": "ftp", "mode": "passive"}
    message = triage_view.expired_message("ftp-425", prefill)
    assert_within_slack_limits(message)
    [value] = [e["value"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert triage_view.parse_start_value(value) == ("ftp-425", prefill)
    assert triage_view.parse_start_value(triage_view.start_value("ftp-530", {})) == ("ftp-530", {})


def test_a_question_from_the_rendered_template_is_the_question_rendered_for_its_session() -> None:
    tree = load_tree()
    for number, question in enumerate(tree.questions):
        session_id = str(uuid.uuid4())
        for step, can_go_back in ((1, False), (number % 9 + 2, True)):
            cached = triage_view.question_message(session_id, question, step, "FTP 425", can_go_back=can_go_back)
            again = triage_view.question_message(session_id, question, step, "FTP 425", can_go_back=can_go_back)
            rendered = triage_view._render_question(session_id, question, step, "FTP 425", can_go_back)
            assert cached == again == rendered
            assert session_id in json.dumps(cached.blocks) and "5e5510n0" not in json.dumps(cached.blocks)
            assert_within_slack_limits(cached)


def test_an_answered_question_from_its_template_is_the_one_rendered_for_whoever_answered() -> None:
    for question in load_tree().questions:
        for option in question.options:
            for user_id in ("U0001", "W0123456789ABCDEFGHIJ", "not an id"):
                cached = triage_view.answered_message(question, option.label, user_id)
                again = triage_view.answered_message(question, option.label, user_id)
                assert cached == again == triage_view._render_answered(question, option.label, user_id)
                assert f"<@{user_id}>" in json.dumps(cached.blocks) and "ANSWEREDBY" not in json.dumps(cached.blocks)
                assert_within_slack_limits(cached)


def test_a_checklist_from_its_template_is_the_one_rendered_for_its_session_and_site_notes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import site_notes
    from knowledge.site import Note, SiteNotes

    tree = load_tree()

    def checklists() -> list[Message]:
        shown = []
        for entry_id in ("ftp-425", "ftp-530"):
            state = tree.start(entry_id)
            while (question := tree.current_question(state)) is not None:
                state = tree.answer(state, question.id, question.options_for(state.entry_id, state.answer_map)[0].id)
            session_id = str(uuid.uuid4())
            cached = triage_view.checklist_message(session_id, tree.checklist(state), "FTP 425", "t", entry_id)
            rendered = triage_view._render_checklist(session_id, tree.checklist(state), "FTP 425", "t", entry_id)
            assert cached == rendered and session_id in json.dumps(cached.blocks)
            assert "5e5510n0" not in json.dumps(cached.blocks)
            shown.append(cached)
        return shown

    before = checklists()
    notes = SiteNotes("Example Corp", {"ftp-425": (Note("Our firewall drops PORT.", "a.toml"),)})
    monkeypatch.setattr(site_notes.SITE, "notes", notes)
    monkeypatch.setattr(site_notes.SITE, "version", site_notes.SITE.version + 1)  # as a reload does
    after = checklists()
    assert "Our firewall drops PORT." in json.dumps(after[0].blocks)
    assert "Our firewall drops PORT." not in json.dumps(before[0].blocks)


@given(st.text(alphabet="<>@!|^&;:/UWA019 ambp.-#x", max_size=80))
def test_slack_markup_is_removed_the_same_with_or_without_the_shortcut(text: str) -> None:
    """plain_from_slack skips its patterns for text without "<", which every one of them needs."""
    expected = text
    for pattern, replacement in _SLACK_MARKUP:
        expected = pattern.sub(replacement, expected)
    assert plain_from_slack(text) == unescape(expected).strip()
