"""The bot where people meet it beyond commands and mentions, end to end against the Slack stand-in: the agent's
Messages tab (suggested prompts, answers in its threads, a status while a log is read), Workflow Builder steps
(completed with outputs or a clear error, with the execution's own token) and an emoji on a message (explained
in its thread, once).

One bot in HTTP mode serves most tests; one in Socket Mode, with FTPCODE_REACTION=mag, checks each surface
through that delivery too. Each test uses its own channels, threads and executions.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.listeners import functions
from bot.views import assistant as assistant_view
from bot.views import reaction as reaction_view
from bot.views import workflow_steps as steps_view
from tests.slack_e2e import (
    ANSWER_TIMEOUT,
    BAD_INPUTS,
    QUIET_SECONDS,
    all_text,
    assert_full_answer,
    assert_sendable,
    bot_env,
    new_id,
    posts,
    wait_posts,
)
from tests.standin import BotProcess, SlackStandIn, payloads

FILEZILLA_LOG = (
    "Status:\tConnecting to 192.0.2.44:21...\n"
    "Error:\tECONNREFUSED - Connection refused by server\n"
    "Error:\tCould not connect to server"
)
PASSIVE_LOG = (
    "Status:\tConnection established, waiting for welcome message...\n"
    "Response:\t220 FTP server ready\n"
    "Command:\tUSER alice\n"
    "Response:\t331 Please specify the password.\n"
    "Command:\tPASS ****\n"
    "Response:\t230 Login successful.\n"
    "Command:\tPASV\n"
    "Response:\t227 Entering Passive Mode (10,0,0,5,195,80).\n"
    "Command:\tMLSD\n"
    "Response:\t425 Can't open data connection.\n"
    "Error:\tFailed to retrieve directory listing"
)


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    tmp = tmp_path_factory.mktemp("bot-surfaces-http")
    with BotProcess(bot_env(slack, "http", tmp), mode="http", standin=slack, log_path=tmp / "bot.log") as running:
        yield running


@pytest.fixture(scope="module")
def socket_bot(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    tmp = tmp_path_factory.mktemp("bot-surfaces-socket")
    env = bot_env(slack, "socket", tmp) | {"FTPCODE_REACTION": ":mag:"}
    with BotProcess(env, mode="socket", standin=slack, log_path=tmp / "bot.log") as running:
        yield running


def event(slack: SlackStandIn, bot: BotProcess, body: dict[str, Any], **kwargs: Any) -> None:
    """`body` is the event; sent over HTTP or, for the Socket Mode bot, in an events_api envelope."""
    if bot.mode == "socket":
        slack.wait_for_ack(slack.send_event_envelope(body, **kwargs))
        return
    delivery = slack.send_event(bot.events_url, body, **kwargs)
    assert delivery.status == 200, delivery.text


def quiet() -> None:
    """A second answer, if the bot were to give one, has this long to arrive."""
    time.sleep(QUIET_SECONDS)


def calls_to(slack: SlackStandIn, method: str, channel: str, key: str = "channel_id") -> list[Any]:
    return [c for c in slack.calls(method) if c.params.get(key) == channel]


# ----- the agent's Messages tab -----


def wait_prompts(slack: SlackStandIn, dm: str) -> dict[str, Any]:
    method = "assistant.threads.setSuggestedPrompts"
    return slack.wait_for_call(method, lambda c: c.params.get("channel_id") == dm, ANSWER_TIMEOUT).params


def open_tab(slack: SlackStandIn, bot: BotProcess) -> tuple[str, str]:
    """Someone opens the Messages tab: a new thread there, its prompts set."""
    dm, thread_ts = new_id("D"), payloads.new_ts()
    event(slack, bot, payloads.assistant_thread_started(channel=dm, thread_ts=thread_ts))
    wait_prompts(slack, dm)
    return dm, thread_ts


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_opening_the_messages_tab_sets_the_four_suggested_prompts(
    slack: SlackStandIn, bot: BotProcess, socket_bot: BotProcess, mode: str
) -> None:
    dm, thread_ts = open_tab(slack, bot if mode == "http" else socket_bot)
    call = slack.wait_for_call("assistant.threads.setSuggestedPrompts", lambda c: c.params.get("channel_id") == dm)
    assert call.status == 200 and call.response["ok"], call.response
    prompts = call.params
    assert prompts["thread_ts"] == thread_ts
    assert [p["title"] for p in prompts["prompts"]] == [
        "Explain 425",
        "My upload fails with 553",
        "Read my FileZilla log",
        "Start a triage",
    ]
    assert prompts["title"]


def test_a_question_in_the_tab_is_answered_once_in_its_thread_without_a_status(
    slack: SlackStandIn, bot: BotProcess
) -> None:
    dm, thread_ts = open_tab(slack, bot)
    event(slack, bot, payloads.message_im("Explain 425", channel=dm, thread_ts=thread_ts))
    [answer] = wait_posts(slack, dm)
    assert answer.params["thread_ts"] == thread_ts
    assert_full_answer(answer.params, "ftp-425", ephemeral=False)
    quiet()
    assert len(posts(slack, dm)) == 1, "the DM path answered it too"
    assert not calls_to(slack, "assistant.threads.setStatus", dm), "a lookup needs no status"


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_a_log_in_the_tab_shows_a_status_while_it_is_read(
    slack: SlackStandIn, bot: BotProcess, socket_bot: BotProcess, mode: str
) -> None:
    running = bot if mode == "http" else socket_bot
    dm, thread_ts = open_tab(slack, running)
    event(slack, running, payloads.message_im(FILEZILLA_LOG, channel=dm, thread_ts=thread_ts))
    [answer] = wait_posts(slack, dm)
    [status] = calls_to(slack, "assistant.threads.setStatus", dm)
    assert status.params["thread_ts"] == thread_ts and status.params["status"] == assistant_view.READING_STATUS
    assert status.t < answer.t, "the status must show while the log is read, before the answer"
    assert answer.params["thread_ts"] == thread_ts
    assert "I read your FileZilla log" in answer.params["text"]
    assert_sendable(answer.params)


def test_a_log_shared_as_a_file_in_the_tab_shows_a_status(slack: SlackStandIn, bot: BotProcess) -> None:
    dm, thread_ts = open_tab(slack, bot)
    shared = slack.register_file("filezilla.log", FILEZILLA_LOG.encode())
    message = payloads.message_im("", channel=dm, thread_ts=thread_ts, subtype="file_share") | {"files": [shared]}
    event(slack, bot, message)
    [answer] = wait_posts(slack, dm)
    assert calls_to(slack, "assistant.threads.setStatus", dm)
    assert answer.params["thread_ts"] == thread_ts and "FileZilla" in answer.params["text"]


@pytest.mark.parametrize(
    ("prompt", "says"),
    [("Read my FileZilla log", "message log"), ("Start a triage", "*Start triage*")],
)
def test_the_prompts_that_are_no_question_get_their_own_answer(
    slack: SlackStandIn, bot: BotProcess, prompt: str, says: str
) -> None:
    dm, thread_ts = open_tab(slack, bot)
    event(slack, bot, payloads.message_im(prompt, channel=dm, thread_ts=thread_ts))
    [answer] = wait_posts(slack, dm)
    assert answer.params["thread_ts"] == thread_ts
    assert says in all_text(answer.params)
    assert_sendable(answer.params)


@pytest.mark.parametrize("name", ["rubbish", "channel_ping", "user_mention", "control_chars", "paste_10k"])
def test_bad_input_in_the_tab_gets_one_safe_answer(slack: SlackStandIn, bot: BotProcess, name: str) -> None:
    dm, thread_ts = open_tab(slack, bot)
    event(slack, bot, payloads.message_im(BAD_INPUTS[name], channel=dm, thread_ts=thread_ts))
    [answer] = wait_posts(slack, dm)
    assert answer.status == 200 and answer.params["thread_ts"] == thread_ts
    assert_sendable(answer.params)


@pytest.mark.parametrize(
    "broken",
    [
        {"type": "assistant_thread_started"},
        {"type": "assistant_thread_started", "assistant_thread": "D1"},
        {"type": "assistant_thread_started", "assistant_thread": {"channel_id": "not a channel", "thread_ts": "1.2"}},
        {"type": "assistant_thread_started", "assistant_thread": {"channel_id": "D0BROKEN", "thread_ts": "soon"}},
    ],
    ids=["no thread", "thread not an object", "bad channel", "bad ts"],
)
def test_a_malformed_thread_start_is_acknowledged_and_ignored(
    slack: SlackStandIn, bot: BotProcess, broken: dict[str, Any]
) -> None:
    since = time.monotonic()
    event(slack, bot, broken | {"event_ts": payloads.new_ts()})
    dm, _ = open_tab(slack, bot)  # the next, well-formed one is answered: only that one
    assert [c.params["channel_id"] for c in slack.calls("assistant.threads.setSuggestedPrompts", since=since)] == [dm]


# ----- Workflow Builder steps -----


def run_step(slack: SlackStandIn, bot: BotProcess, callback_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Runs the step as a workflow would; how it ended (state, outputs or error)."""
    body, execution = slack.function_executed(callback_id, inputs)
    event(slack, bot, body)
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while (ended := slack.execution(execution))["state"] == "running":
        assert time.monotonic() < deadline, f"step {callback_id} never completed: the workflow would hang"
        time.sleep(0.05)
    return ended | {"id": execution, "token": body["bot_access_token"]}


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_explain_step_completes_with_the_code_and_the_answer_as_text(
    slack: SlackStandIn, bot: BotProcess, socket_bot: BotProcess, mode: str
) -> None:
    ended = run_step(slack, bot if mode == "http" else socket_bot, functions.EXPLAIN, {"text": "530 Login incorrect"})
    outputs = ended["outputs"]
    assert outputs["code"] == "FTP 530"
    assert outputs["title"] and outputs["summary"]
    assert outputs["answer"].startswith("FTP 530") and "What you can try" in outputs["answer"]
    [completed] = [
        c for c in slack.calls("functions.completeSuccess") if c.params["function_execution_id"] == ended["id"]
    ]
    assert completed.token == ended["token"], "a step is completed with its execution's token"


def test_diagnose_step_completes_with_protocol_failure_cause_and_findings(slack: SlackStandIn, bot: BotProcess) -> None:
    outputs = run_step(slack, bot, functions.DIAGNOSE, {"text": PASSIVE_LOG})["outputs"]
    assert outputs["protocol"] == "ftp"
    assert outputs["failing_command"] == "MLSD" and outputs["failing_code"] == "425"
    assert "passive-private-address" in outputs["finding_ids"]
    assert "10.0.0.5" in outputs["cause"]


@pytest.mark.parametrize(
    ("callback_id", "inputs", "error"),
    [
        (functions.EXPLAIN, {"text": ""}, steps_view.NO_TEXT),
        (functions.EXPLAIN, {}, steps_view.NO_TEXT),
        (functions.EXPLAIN, {"text": 425}, steps_view.NO_TEXT),
        (functions.EXPLAIN, {"text": BAD_INPUTS["rubbish"]}, steps_view.NOTHING_TO_EXPLAIN),
        (functions.DIAGNOSE, {"text": "   "}, steps_view.NO_TEXT),
        (functions.DIAGNOSE, {"text": "the weather is nice today"}, steps_view.NO_LOG),
        ("an_old_step", {"text": "425"}, steps_view.UNKNOWN_STEP),
    ],
    ids=["empty", "no text input", "a number", "nothing known", "blank log", "no log", "unknown step"],
)
def test_bad_input_completes_the_step_with_a_clear_error(
    slack: SlackStandIn, bot: BotProcess, callback_id: str, inputs: dict[str, Any], error: str
) -> None:
    ended = run_step(slack, bot, callback_id, inputs)
    assert ended["error"] == error and "outputs" not in ended


def test_a_redelivered_step_is_completed_once_and_a_429_is_waited_out(slack: SlackStandIn, bot: BotProcess) -> None:
    body, execution = slack.function_executed(functions.EXPLAIN, {"text": "425"})
    slack.fail_next("functions.completeSuccess", status=429, retry_after=1)
    event_id = payloads.new_event_id()
    event(slack, bot, body, event_id=event_id)
    event(slack, bot, body, event_id=event_id, retry_num=1, retry_reason="http_timeout")
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while slack.execution(execution)["state"] == "running":
        assert time.monotonic() < deadline, "the step was not completed after the 429"
        time.sleep(0.05)
    quiet()
    calls = [c for c in slack.calls("functions.completeSuccess") if c.params["function_execution_id"] == execution]
    assert [c.status for c in calls] == [429, 200], "one completion, after the 429 was waited out"
    assert all(c.token == body["bot_access_token"] for c in calls), "the run after the 429 kept the step's token"


def test_the_step_token_is_never_logged(slack: SlackStandIn, bot: BotProcess) -> None:
    ended = run_step(slack, bot, functions.EXPLAIN, {"text": "550"})
    logs = bot.logs()
    assert "functions.completeSuccess" in logs, "the DEBUG log of the Web API calls is missing: nothing was checked"
    assert ended["token"].rsplit("-", 1)[-1] not in logs


# ----- an emoji on a message -----


def react(slack: SlackStandIn, bot: BotProcess, channel: str, message: dict[str, Any], **kwargs: Any) -> None:
    reaction = kwargs.pop("reaction", "ftpcode")
    event(slack, bot, payloads.reaction_added(reaction, ts=message["ts"], channel=channel, **kwargs))


def test_the_emoji_explains_the_message_in_its_thread(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    message = slack.add_message(channel, "the upload stops with 425 Can't open data connection, any idea?")
    react(slack, bot, channel, message)
    [answer] = wait_posts(slack, channel)
    assert answer.params["thread_ts"] == message["ts"]
    assert_full_answer(answer.params, "ftp-425", ephemeral=False)
    [read] = calls_to(slack, "conversations.history", channel, key="channel")
    assert read.params["latest"] == message["ts"] and str(read.params["limit"]) == "1"


def test_a_second_reaction_does_not_answer_twice(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    message = slack.add_message(channel, "530 Login incorrect")
    react(slack, bot, channel, message, user="U1")
    wait_posts(slack, channel)
    react(slack, bot, channel, message, user="U7")  # someone else
    react(slack, bot, channel, message, user="U1", reaction="ftpcode::skin-tone-3")  # the first again
    quiet()
    assert len(posts(slack, channel)) == 1


def test_a_reply_in_a_thread_is_read_from_its_thread_and_answered_there(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    parent = slack.add_message(channel, "Uploads fail since this morning")
    reply = slack.add_message(channel, "WinSCP says: 553 File name not allowed", thread_ts=parent["ts"])
    react(slack, bot, channel, reply)
    [answer] = wait_posts(slack, channel)
    assert answer.params["thread_ts"] == parent["ts"]
    assert_full_answer(answer.params, "ftp-553", ephemeral=False)
    assert calls_to(slack, "conversations.replies", channel, key="channel")


def test_a_log_in_the_message_is_read(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    message = slack.add_message(channel, PASSIVE_LOG)
    react(slack, bot, channel, message)
    [answer] = wait_posts(slack, channel)
    assert answer.params["thread_ts"] == message["ts"]
    assert "I read your FileZilla log" in answer.params["text"] and "10.0.0.5" in all_text(answer.params)


def test_a_log_shared_as_a_file_in_the_message_is_read(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    shared = slack.register_file("filezilla.log", PASSIVE_LOG.encode())
    message = slack.add_message(channel, "here is my log", files=[shared])
    react(slack, bot, channel, message)
    [answer] = wait_posts(slack, channel)
    assert answer.params["thread_ts"] == message["ts"]
    assert "I read your FileZilla log" in answer.params["text"]


def test_a_message_with_nothing_to_explain_gets_a_private_note_only(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    message = slack.add_message(channel, BAD_INPUTS["channel_ping"].replace("425", "lunch at noon?"))
    react(slack, bot, channel, message, user="U9")
    note = slack.wait_for_call("chat.postEphemeral", lambda c: c.params.get("channel") == channel, ANSWER_TIMEOUT)
    assert note.params["user"] == "U9" and note.params["thread_ts"] == message["ts"]
    assert note.params["text"] == reaction_view.NOTHING_TO_EXPLAIN
    quiet()
    assert not posts(slack, channel)


def test_other_emoji_and_the_bots_own_answers_are_left_alone(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    message = slack.add_message(channel, "425 again")
    since = time.monotonic()
    react(slack, bot, channel, message, reaction="thumbsup")
    react(slack, bot, channel, message, reaction="mag")  # the socket bot's emoji, not this one's
    react(slack, bot, channel, message, item_user=payloads.BOT_USER_ID)
    react(slack, bot, channel, message, reaction="ftpcode")  # and then the right one, which is answered
    wait_posts(slack, channel)
    quiet()
    assert len(slack.calls("conversations.history", since=since)) == 1 and len(posts(slack, channel)) == 1


@pytest.mark.parametrize(
    "item",
    [
        None,
        {"type": "file", "file": "F1"},
        {"type": "message", "channel": "#general", "ts": "1.2"},
        {"type": "message", "channel": "C0OK", "ts": "yesterday"},
    ],
    ids=["no item", "a file", "bad channel", "bad ts"],
)
def test_a_malformed_reaction_is_acknowledged_and_ignored(
    slack: SlackStandIn, bot: BotProcess, item: dict[str, Any] | None
) -> None:
    channel = new_id("C")
    message = slack.add_message(channel, "426 Connection closed; transfer aborted")
    since = time.monotonic()
    event(slack, bot, payloads.reaction_added("ftpcode", ts=message["ts"], channel=channel) | {"item": item})
    react(slack, bot, channel, message)  # the next, well-formed one is answered: only that one
    wait_posts(slack, channel)
    assert [c.params["channel"] for c in slack.calls("conversations.history", since=since)] == [channel]


def test_a_channel_the_bot_is_not_in_gets_nothing(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    slack.register_channel(channel, is_member=False)
    message = slack.add_message(channel, "421 Too many connections")
    react(slack, bot, channel, message)
    read = slack.wait_for_call("conversations.history", lambda c: c.params.get("channel") == channel, ANSWER_TIMEOUT)
    assert read.response["error"] == "not_in_channel"
    quiet()
    assert not posts(slack, channel) and not posts(slack, channel, "chat.postEphemeral")


def test_the_configured_emoji_works_in_socket_mode(slack: SlackStandIn, socket_bot: BotProcess) -> None:
    channel = new_id("C")
    message = slack.add_message(channel, "Error: ECONNREFUSED")
    react(slack, socket_bot, channel, message, reaction="ftpcode")  # not this bot's emoji
    react(slack, socket_bot, channel, message, reaction="mag")
    [answer] = wait_posts(slack, channel)
    assert answer.params["thread_ts"] == message["ts"]
    assert "Winsock 10061" in answer.params["text"]
    quiet()
    assert len(posts(slack, channel)) == 1
