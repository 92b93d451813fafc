"""Signed but malformed or forged payloads, through the real bot: a polite note where there is someone to
tell, a 200 either way, and never an exception after ack() or a traceback in the log."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot import replies
from tests.slack_e2e import QUIET_SECONDS, bot_env, new_id, wait_response
from tests.standin import BotProcess, SlackStandIn, delivery, payloads


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    tmp = tmp_path_factory.mktemp("bad-payloads")
    with BotProcess(bot_env(slack, "http", tmp), mode="http", standin=slack, log_path=tmp / "bot.log") as running:
        yield running


def click(slack: SlackStandIn, action_id: str, value: Any, **changes: Any) -> dict[str, Any]:
    payload = slack.block_actions(action_id, "", channel_id=new_id("C"), message_ts=payloads.new_ts())
    payload["actions"][0]["value"] = value
    payload.update(changes)
    return payload


# (name, action_id, value): each is understood by nobody, and says so on the click's response_url.
NOT_UNDERSTOOD = [
    ("unknown entry to share", "share_answer", "ftp-999999"),
    ("rest of a missing entry", "show_rest", "nothing:3"),
    ("rest at no offset", "show_rest", "ftp-425:abc"),
    ("rest at a unicode digit", "show_rest", "ftp-425:²"),
    ("triage value not json", "triage_answer_0", "not json {"),
    ("triage value without a session", "triage_answer_0", '{"q":"protocol","o":"ftp"}'),
    ("triage session not a string", "triage_answer_0", '{"s":5,"q":"protocol","o":"ftp"}'),
    ("value a number", "share_answer", 42),
    ("value a list", "triage_control_back", ["x"]),
    ("start an unknown entry", "start_triage", "ftp-nope"),
    ("start with broken json", "start_triage", '{"e": '),
    ("explain a huge value", "show_answer_0", "ftp-425," * 5000),
]


@pytest.mark.parametrize(("name", "action_id", "value"), NOT_UNDERSTOOD, ids=[n for n, _, _ in NOT_UNDERSTOOD])
def test_a_click_nobody_understands_gets_a_polite_note(
    slack: SlackStandIn, bot: BotProcess, name: str, action_id: str, value: Any
) -> None:
    payload = click(slack, action_id, value)
    assert slack.send_action(bot.events_url, payload).status == 200
    note = wait_response(slack, payload["response_url"])
    assert note.params["response_type"] == "ephemeral"
    assert "could not make sense" in note.params["text"]
    assert "Traceback" not in bot.logs(), bot.log_tail()


def test_a_click_on_a_triage_that_does_not_exist_says_so(slack: SlackStandIn, bot: BotProcess) -> None:
    value = json.dumps({"s": str(uuid.uuid4()), "q": "protocol", "o": "ftp"})
    payload = click(slack, "triage_answer_0", value)
    assert slack.send_action(bot.events_url, payload).status == 200
    assert "no longer open" in wait_response(slack, payload["response_url"]).params["text"]


SILENT = [
    ("no user", {"user": None}),
    ("user not an object", {"user": "U1"}),
    ("forged user id", {"user": {"id": "<!channel>"}}),
    ("no response_url and no channel", {"response_url": None, "channel": None}),
    ("message blocks not a list", {"message": {"ts": "1.2", "blocks": "x"}}),
    ("container not an object", {"container": "x"}),
]


@pytest.mark.parametrize(("name", "changes"), SILENT, ids=[n for n, _ in SILENT])
def test_a_click_with_broken_fields_is_acknowledged_and_harms_nothing(
    slack: SlackStandIn, bot: BotProcess, name: str, changes: dict[str, Any]
) -> None:
    before = len(slack.calls())
    payload = click(slack, "triage_answer_0", json.dumps({"s": str(uuid.uuid4()), "q": "protocol", "o": "ftp"}))
    payload.update(changes)
    assert slack.send_action(bot.events_url, payload).status == 200
    time.sleep(QUIET_SECONDS)
    assert not [c for c in slack.calls()[before:] if c.method == "chat.postMessage"]
    assert "Traceback" not in bot.logs(), bot.log_tail()


def test_an_empty_actions_list_and_unknown_payload_types_are_acknowledged(slack: SlackStandIn, bot: BotProcess) -> None:
    empty = click(slack, "share_answer", "ftp-425")
    empty["actions"] = []
    for payload in (empty, {"type": "view_submission", "view": {}}, {"type": "no_such_thing"}):
        assert slack.send_action(bot.events_url, payload).status == 200
    assert "Traceback" not in bot.logs(), bot.log_tail()


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_mention", "text": "425"},  # no channel, no ts
        {"type": "app_mention", "text": ["425"], "channel": "C1", "ts": "1.2"},
        {"type": "message", "channel_type": "im", "text": None, "channel": "D1", "ts": "x"},
        {
            "type": "message",
            "channel_type": "im",
            "subtype": "file_share",
            "files": "nope",
            "channel": "D1",
            "ts": "1.3",
        },
        {"type": "app_home_opened", "user": {"id": "U1"}},
    ],
)
def test_malformed_events_are_acknowledged_without_a_traceback(
    slack: SlackStandIn, bot: BotProcess, event: dict[str, Any]
) -> None:
    assert slack.send_event(bot.events_url, event).status == 200
    time.sleep(QUIET_SECONDS)
    assert "Traceback" not in bot.logs(), bot.log_tail()


def test_a_command_without_text_or_response_url_gets_the_usage(slack: SlackStandIn, bot: BotProcess) -> None:
    form = payloads.command_payload("", response_url="")
    del form["text"]
    answer = delivery.post_form(bot.events_url, form, slack.signing_secret)
    assert answer.status == 200 and answer.json()["text"] == replies.for_text("", ephemeral=True).message.text
    paste = payloads.command_payload("```Response: 530 Login incorrect\nStatus: x\nError: y```", response_url="x")
    answer = delivery.post_form(bot.events_url, paste, slack.signing_secret)
    assert answer.status == 200 and "try again" in answer.json()["text"].lower()
