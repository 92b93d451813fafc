"""The Workflow Builder step "Start an FTP triage", end to end: the bot as a process against the Slack stand-in
runs the step as a workflow would (function_executed), asks in the channel, is answered by clicks, and the step
completes when the triage ends, with its outcome and outputs: resolved, handed off, abandoned, expired (when
someone comes back, and when nobody does), across a restart of the bot and a 429 on the completion. Bad input
completes the step at once with a clear error.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.listeners import functions
from bot.views import workflow_steps as steps_view
from tests.slack_e2e import ANSWER_TIMEOUT, QUIET_SECONDS, assert_sendable, bot_env, new_id
from tests.standin import BotProcess, SlackStandIn
from tests.test_bot_triage import CHOICES_425, TREE, Driver, Posted, answered_text, any_post, expected_path
from tests.test_bot_triage_restart import kill_hard
from tests.test_store import fresh_postgres_database, postgres_server_url

PATH_425 = expected_path("ftp-425", CHOICES_425)


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    tmp = tmp_path_factory.mktemp("bot-triage-step")
    env = bot_env(slack, "http", tmp) | {"TRIAGE_TTL_DAYS": "1"}
    with BotProcess(env, mode="http", standin=slack, log_path=tmp / "bot.log") as running:
        yield running


@pytest.fixture
def drive(slack: SlackStandIn, bot: BotProcess) -> Iterator[Driver]:
    logged_before = len(bot.logs())
    yield Driver(slack, bot)
    assert "Traceback" not in bot.logs()[logged_before:], bot.log_tail()


class Step:
    """One run of the step by a workflow: its execution, and the thread it asks in."""

    def __init__(self, drive: Driver, inputs: dict[str, Any]) -> None:
        self.drive = drive
        self.slack = drive.slack
        self.inputs = inputs
        self.body, self.execution = self.slack.function_executed(functions.TRIAGE, inputs)
        self.since = time.monotonic()
        drive.event(self.body)

    @property
    def token(self) -> str:
        return self.body["bot_access_token"]

    def opening(self) -> Posted:
        """The message in the channel that starts the triage."""
        channel = self.inputs["channel"]
        return self.drive.next_post(channel, None, self.since, any_post)

    def first_question(self) -> Posted:
        opening = self.opening()
        return self.drive.next_post(opening.channel, opening.ts, self.since)

    def state(self) -> dict[str, Any]:
        return self.slack.execution(self.execution)

    def ended(self, timeout: float = ANSWER_TIMEOUT) -> dict[str, Any]:
        """How the step ended, once it has; fails if it is still running after `timeout`."""
        deadline = time.monotonic() + timeout
        while (ended := self.state())["state"] == "running":
            assert time.monotonic() < deadline, "the step never completed: the workflow would hang"
            time.sleep(0.05)
        return ended

    def completions(self, method: str = "functions.completeSuccess") -> list[Any]:
        return [c for c in self.slack.calls(method) if c.params.get("function_execution_id") == self.execution]


def new_step(drive: Driver, **inputs: Any) -> Step:
    return Step(drive, {"user": new_id("U"), "channel": new_id("C"), "code": "425"} | inputs)


def answer_all(drive: Driver, question: Posted, user: str) -> Posted:
    """Clicks the 425 answers through every question; the checklist."""
    while "triage_feedback_yes" not in question.buttons():
        question = drive.answer_by_click(question, CHOICES_425[question.question_id], user)
    return question


def backdate(bot: BotProcess, channel: str, days: float = 2) -> None:
    """The channel's triage as if untouched for `days` (the bot runs with TRIAGE_TTL_DAYS=1)."""
    path = bot.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        changed = db.execute(
            "UPDATE triage_sessions SET updated_at = updated_at - ? WHERE channel_id = ?", (days * 86400, channel)
        ).rowcount
    assert changed == 1


def assert_answers_and_checklist(outputs: dict[str, Any]) -> None:
    """The answers given, a line each, and the checklist the engine made of them, numbered for each person."""
    assert outputs["answers"].splitlines() == [answered_text(q, CHOICES_425[q]) for q in PATH_425]
    state = TREE.start("ftp-425")
    for question_id in PATH_425:
        state = TREE.answer(state, question_id, CHOICES_425[question_id])
    expected = TREE.checklist(state)
    checklist = outputs["checklist"]
    assert checklist.startswith("You can try:\n1. ") and "\n\nAsk your server admin:\n1. " in checklist
    steps = [line.split(". ", 1)[1] for line in checklist.splitlines() if line[:1].isdigit()]
    assert steps == [s.text for s in (*expected.user_steps, *expected.admin_steps)] + list(expected.notes)


# ----- the whole way -----


@pytest.mark.parametrize(("button", "outcome"), [("yes", "resolved"), ("no", "handed_off")])
def test_the_step_asks_in_the_channel_and_completes_when_the_triage_ends(
    drive: Driver, slack: SlackStandIn, button: str, outcome: str
) -> None:
    step = new_step(drive)
    user, channel = step.inputs["user"], step.inputs["channel"]
    opening = step.opening()
    assert opening.thread_ts is None, "the triage starts in the channel itself"
    assert opening.text.startswith(f"<@{user}>, a workflow asked me to help with FTP 425")
    assert_sendable({"text": opening.text, "blocks": opening.blocks})
    question = drive.next_post(channel, opening.ts, step.since)
    assert question.question_id == PATH_425[0]

    # Someone else in the channel may not answer for them.
    since, hook = drive.click(question, question.option_button("ftp"), user="U0SOMEONE")
    assert f"<@{user}>" in drive.note_for(hook)

    checklist = answer_all(drive, question, user)
    assert step.state() == {"state": "running", "token": step.token}, "completed before the triage ended"
    since, _ = drive.click(checklist, f"triage_feedback_{button}", user)
    drive.next_post(channel, opening.ts, since, any_post)  # the thanks, or the summary to hand on

    ended = step.ended()
    assert "error" not in ended, ended
    outputs = ended["outputs"]
    assert outputs["outcome"] == outcome
    assert outputs["code"] == "FTP 425"
    assert_answers_and_checklist(outputs)
    assert outputs["thread"] == {"channel_id": channel, "message_ts": opening.ts}
    [link] = [c for c in slack.calls("chat.getPermalink") if c.params.get("channel") == channel]
    assert link.params["message_ts"] == opening.ts and outputs["thread_link"] == link.response["permalink"]
    [completed] = step.completions()
    assert completed.token == step.token, "a step is completed with its execution's token"
    assert link.token == slack.bot_token, "everything else goes with the bot's own token"
    assert step.token.rsplit("-", 1)[-1] not in drive.bot.logs(), "the step's token is in the bot's log"


def test_stopping_the_triage_completes_the_step_as_abandoned(drive: Driver) -> None:
    step = new_step(drive, code="ECONNREFUSED")
    user = step.inputs["user"]
    first = step.first_question()
    since, _ = drive.click(first, "triage_control_stop", user)
    drive.next_post(first.channel, first.thread_ts, since, any_post)  # "Triage stopped."
    outputs = step.ended()["outputs"]
    assert outputs["outcome"] == "abandoned"
    assert outputs["code"] == "Winsock 10061"
    assert outputs["answers"] == "" and outputs["checklist"] == "", "nothing answered, no checklist shown"


def test_a_triage_someone_comes_back_to_after_it_expired_completes_the_step_as_expired(
    drive: Driver, bot: BotProcess
) -> None:
    step = new_step(drive)
    user, channel = step.inputs["user"], step.inputs["channel"]
    first = step.first_question()
    second = drive.answer_by_click(first, CHOICES_425[first.question_id], user)
    backdate(bot, channel)
    since, hook = drive.click(second, second.option_button(CHOICES_425[second.question_id]), user)
    assert "expired" in drive.note_for(hook)
    outputs = step.ended()["outputs"]
    assert outputs["outcome"] == "expired"
    assert outputs["answers"] == answered_text(first.question_id, CHOICES_425[first.question_id])
    assert outputs["checklist"] == ""
    time.sleep(QUIET_SECONDS)
    told = [p for p in drive.posts(channel, first.thread_ts or "", since) if "expired" in p.text]
    assert len(told) == 1, "the thread is told once"


# ----- bad input: completed at once with an error that says what to give -----


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        ({"code": ""}, steps_view.NO_CODE),
        ({"code": "   "}, steps_view.NO_CODE),
        ({"code": None}, steps_view.NO_CODE),
        ({"code": "qwzx plorb ;;; ]]]"}, steps_view.UNKNOWN_CODE),
        ({"user": ""}, steps_view.BAD_USER),
        ({"user": "alice"}, steps_view.BAD_USER),
        ({"user": "<@U0ALICE>"}, steps_view.BAD_USER),
        ({"user": 42}, steps_view.BAD_USER),
        ({"channel": ""}, steps_view.BAD_CHANNEL),
        ({"channel": "#general"}, steps_view.BAD_CHANNEL),
        ({"channel": "c0lower"}, steps_view.BAD_CHANNEL),
    ],
    ids=[
        "empty code",
        "blank code",
        "no code",
        "unknown code",
        "empty user",
        "user name",
        "user mention",
        "user number",
        "empty channel",
        "channel name",
        "lowercase channel",
    ],
)
def test_bad_input_completes_the_step_with_a_clear_error(
    drive: Driver, slack: SlackStandIn, inputs: dict[str, Any], error: str
) -> None:
    given = {"user": new_id("U"), "channel": new_id("C"), "code": "425"} | inputs
    step = Step(drive, {name: value for name, value in given.items() if value is not None})
    ended = step.ended()
    assert ended.get("error") == error and "outputs" not in ended
    time.sleep(QUIET_SECONDS)
    assert not [c for c in slack.calls("chat.postMessage", step.since) if c.params.get("channel") == given["channel"]]


def test_a_channel_the_bot_is_not_in_completes_the_step_with_an_error(drive: Driver, slack: SlackStandIn) -> None:
    channel = new_id("C")
    slack.register_channel(channel, is_member=False)
    step = new_step(drive, channel=channel)
    ended = step.ended()
    assert ended.get("error") == steps_view.REFUSED["not_in_channel"]
    [refused] = [c for c in slack.calls("chat.postMessage", step.since) if c.params.get("channel") == channel]
    assert refused.response["error"] == "not_in_channel"
    [completed] = step.completions("functions.completeError")
    assert completed.token == step.token


# ----- the queue's promises: a 429 on the completion, a restart mid-triage -----


def test_a_429_on_the_completion_is_waited_out_and_the_step_completed_once(drive: Driver, slack: SlackStandIn) -> None:
    step = new_step(drive)
    user = step.inputs["user"]
    checklist = answer_all(drive, step.first_question(), user)
    slack.fail_next("functions.completeSuccess", status=429, retry_after=1)
    drive.click(checklist, "triage_feedback_yes", user)
    assert step.ended()["outputs"]["outcome"] == "resolved"
    time.sleep(QUIET_SECONDS)
    assert [c.status for c in step.completions()] == [429, 200]
    assert all(c.token == step.token for c in step.completions()), "the run after the 429 kept the step's token"


@pytest.fixture
def restartable(standin: SlackStandIn, bot_http: Any) -> BotProcess:
    return bot_http({"TRIAGE_TTL_DAYS": "1"})


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_restart_of_the_bot_mid_triage_still_completes_the_step(
    standin: SlackStandIn, bot_http: Any, database: str
) -> None:
    with contextlib.ExitStack() as stack:
        env = {"TRIAGE_TTL_DAYS": "1"}
        if database == "postgresql":
            env["DATABASE_URL"] = stack.enter_context(fresh_postgres_database(postgres_server_url()))
        restartable = bot_http(env)
        stack.callback(restartable.stop)  # before the database is dropped
        restart_mid_triage(standin, restartable)


def restart_mid_triage(standin: SlackStandIn, restartable: BotProcess) -> None:
    drive = Driver(standin, restartable)
    step = new_step(drive)
    user = step.inputs["user"]
    first = step.first_question()
    second = drive.answer_by_click(first, CHOICES_425[first.question_id], user)

    kill_hard(restartable)
    restartable.start().wait_ready(30)

    checklist = answer_all(drive, second, user)
    drive.click(checklist, "triage_feedback_no", user)
    outputs = step.ended()["outputs"]
    assert outputs["outcome"] == "handed_off"
    assert_answers_and_checklist(outputs)
    assert len(step.completions()) == 1
    assert "Traceback" not in restartable.logs()


def test_a_completion_waiting_out_a_429_survives_the_bot_being_killed(standin: SlackStandIn, bot_http: Any) -> None:
    bot = bot_http({"JOB_LEASE_SECONDS": "2"})  # a job of a killed bot is taken up again within 2 s
    drive = Driver(standin, bot)
    step = new_step(drive)
    user = step.inputs["user"]
    checklist = answer_all(drive, step.first_question(), user)
    standin.fail_next("functions.completeSuccess", status=429, retry_after=3)
    drive.click(checklist, "triage_feedback_yes", user)
    standin.wait_for_call("functions.completeSuccess", lambda c: c.params["function_execution_id"] == step.execution)
    kill_hard(bot)
    bot.start().wait_ready(30)
    assert step.ended()["outputs"]["outcome"] == "resolved"
    time.sleep(QUIET_SECONDS)
    assert [c.status for c in step.completions()] == [429, 200]


def test_a_triage_nobody_comes_back_to_expires_and_completes_the_step(
    standin: SlackStandIn, restartable: BotProcess
) -> None:
    """The chore that expires the triages a step waits on runs at start-up (and hourly): a restart runs it now.
    A triage no step waits on is left to expire when someone comes back to it, as before."""
    drive = Driver(standin, restartable)
    step = new_step(drive)
    first = step.first_question()
    plain_thread = drive.mention("getting 425 on upload", "C0PLAIN", user="U1")
    plain = drive.next_post("C0PLAIN", plain_thread, step.since)
    restartable.stop()
    backdate(restartable, step.inputs["channel"])
    backdate(restartable, "C0PLAIN")
    since = time.monotonic()
    restartable.start().wait_ready(30)

    ended = step.ended()
    assert ended["outputs"]["outcome"] == "expired"
    assert ended["outputs"]["answers"] == ""
    told = drive.next_post(first.channel, first.thread_ts, since, lambda c: "expired" in c.params.get("text", ""))
    assert "start_triage" in told.buttons(), "the thread says so, with a button to start again"
    time.sleep(QUIET_SECONDS)
    assert len(step.completions()) == 1
    assert not drive.posts("C0PLAIN", plain_thread, since), "the chore told a thread no step waits on"
    since, hook = drive.click(plain, plain.option_button("ftp"))
    assert "expired" in drive.note_for(hook)
    assert "Traceback" not in restartable.logs()
