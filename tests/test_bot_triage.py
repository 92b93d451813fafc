"""Triage in Slack, end to end: the real bot process against the stand-in, clicked and typed through.

The tree decides which question comes next; these tests answer by option id and check that the bot asks what
the engine (knowledge/triage) says, shows each choice in the question it answered, and keeps threads apart.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from knowledge.triage import TriageState, load_tree
from tests.slack_e2e import ANSWER_TIMEOUT
from tests.standin import BotProcess, SlackStandIn, payloads
from tests.standin.records import CallRecord
from tests.test_store import fresh_postgres_database, postgres_server_url

ESCALATION_CHANNEL = "C0ESCAL"
ESCALATION_MENTION = "S0HELPDESK"
TREE = load_tree()
# A person reads a question before typing the answer; the bot notes which message asked it just after posting.
READING_SECONDS = 0.2


# ----- reading what the bot posted -----


@dataclass
class Posted:
    """A message the bot posted with chat.postMessage, as it was posted."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]

    @classmethod
    def of(cls, call: CallRecord) -> Posted:
        return cls(
            call.params["channel"],
            call.response["ts"],
            call.params.get("thread_ts"),
            call.params.get("text", ""),
            call.params.get("blocks") or [],
        )

    def buttons(self) -> dict[str, dict[str, Any]]:
        """action_id -> button element."""
        return {
            e["action_id"]: e for b in self.blocks if b["type"] == "actions" for e in b["elements"] if "action_id" in e
        }

    def value(self, action_id: str) -> dict[str, str]:
        return json.loads(self.buttons()[action_id]["value"])

    @property
    def question_id(self) -> str:
        return self.value("triage_answer_0")["q"]

    def option_button(self, option_id: str) -> str:
        """The action_id of the button that answers `option_id`."""
        for action_id, element in self.buttons().items():
            if action_id.startswith("triage_answer_") and json.loads(element["value"])["o"] == option_id:
                return action_id
        raise AssertionError(f"no button for option {option_id!r} in {self.text!r}")


def posted(call: CallRecord) -> bool:
    """Slack took the message (not a post it refused with a 429 or an error, which the bot makes again)."""
    return call.status == 200 and bool(call.response.get("ok"))


def is_question(call: CallRecord) -> bool:
    return any(a.startswith("triage_answer_") for a in Posted.of(call).buttons())


def is_checklist(call: CallRecord) -> bool:
    return "triage_feedback_yes" in Posted.of(call).buttons()


def any_post(call: CallRecord) -> bool:
    return True


class Driver:
    """Plays Slack's part for one bot process: delivers events and clicks, reads what came back."""

    def __init__(self, slack: SlackStandIn, bot: BotProcess) -> None:
        self.slack = slack
        self.bot = bot

    # -- delivering --

    def event(self, event: dict[str, Any]) -> None:
        if self.bot.mode == "http":
            assert self.slack.send_event(self.bot.events_url, event).status == 200
        else:
            self.slack.wait_for_ack(self.slack.send_event_envelope(event))

    def action(self, payload: dict[str, Any]) -> None:
        if self.bot.mode == "http":
            assert self.slack.send_action(self.bot.events_url, payload).status == 200
        else:
            self.slack.wait_for_ack(self.slack.send_action_envelope(payload))

    def mention(self, text: str, channel: str, user: str = "U1", thread_ts: str | None = None) -> str:
        """`@ftpcode text`; returns the thread the bot answers in."""
        event = payloads.app_mention(text, user=user, channel=channel, thread_ts=thread_ts)
        self.event(event)
        return thread_ts or event["ts"]

    def say(self, text: str, channel: str, thread_ts: str, user: str = "U1", im: bool = False) -> None:
        kind = "im" if im else "channel"
        self.event(payloads.message(text, user=user, channel=channel, channel_type=kind, thread_ts=thread_ts))

    def click(self, message: Posted, action_id: str, user: str = "U1", ephemeral: bool = False) -> tuple[float, str]:
        """Clicks a button of `message` as it is now in the stand-in; returns (when, response_url hook id)."""
        element = message.buttons()[action_id]
        payload = self.slack.block_actions(
            action_id, element["value"], user_id=user, channel_id=message.channel, message_ts=message.ts
        )
        stored = self.slack.workspace.messages.get((message.channel, message.ts), {})
        payload["message"].update(text=stored.get("text", message.text), blocks=stored.get("blocks", message.blocks))
        if message.thread_ts:
            payload["message"]["thread_ts"] = message.thread_ts
        payload["container"]["is_ephemeral"] = ephemeral
        when = time.monotonic()
        self.action(payload)
        return when, payload["response_url"].rsplit("/", 1)[-1]

    # -- reading --

    def next_post(
        self, channel: str, thread_ts: str | None, since: float, kind: Callable[[CallRecord], bool] = is_question
    ) -> Posted:
        def wanted(call: CallRecord) -> bool:
            in_thread = call.params.get("channel") == channel and call.params.get("thread_ts") == thread_ts
            return in_thread and posted(call) and kind(call)

        return Posted.of(self.slack.wait_for_call("chat.postMessage", wanted, since=since))

    def posts(self, channel: str, thread_ts: str, since: float | None = None) -> list[Posted]:
        return [
            Posted.of(c)
            for c in self.slack.calls("chat.postMessage", since)
            if c.params.get("channel") == channel and c.params.get("thread_ts") == thread_ts and posted(c)
        ]

    def note_for(self, hook_id: str) -> str:
        """The ephemeral text the bot sent back on a click's response_url."""
        call = self.slack.wait_for_call("response_url", lambda c: c.extra["hook_id"] == hook_id)
        assert call.params.get("response_type") == "ephemeral" and call.params.get("replace_original") is False
        return call.params["text"]

    def transcript(self, channel: str, thread_ts: str) -> list[str]:
        """The texts of the bot's messages in the thread as they read now (after updates), oldest first."""
        with self.slack.workspace._lock:
            messages = [dict(m) for (c, _), m in self.slack.workspace.messages.items() if c == channel]
        in_thread = [m for m in messages if m.get("thread_ts") == thread_ts]
        return [m["text"] for m in sorted(in_thread, key=lambda m: tuple(map(int, m["ts"].split("."))))]

    def updates_of(self, message: Posted) -> list[CallRecord]:
        """The chat.update calls on `message`, once there is at least one (the update follows the next post)."""
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while True:
            found = [
                c
                for c in self.slack.calls("chat.update")
                if (c.params["channel"], c.params["ts"]) == (message.channel, message.ts)
            ]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    # -- answering --

    def answer_by_click(self, question: Posted, option_id: str, user: str = "U1") -> Posted:
        """Clicks an option; returns what comes next (question or checklist), once the answer is shown too."""
        since, _ = self.click(question, question.option_button(option_id), user)
        return self.answered(question, since)

    def answer_by_typing(self, question: Posted, text: str, user: str = "U1", im: bool = False) -> Posted:
        time.sleep(READING_SECONDS)
        since = time.monotonic()
        assert question.thread_ts
        self.say(text, question.channel, question.thread_ts, user, im)
        return self.answered(question, since)

    def answered(self, question: Posted, since: float) -> Posted:
        """The next question or checklist; the bot posts it first, then turns `question` into a transcript line."""
        following = self.next_post(
            question.channel, question.thread_ts, since, lambda c: is_question(c) or is_checklist(c)
        )
        self.slack.wait_for_call(
            "chat.update",
            lambda c: (c.params["channel"], c.params["ts"]) == (question.channel, question.ts),
            since=since,
        )
        return following


def answered_text(question_id: str, option_id: str) -> str:
    """The text a question message shows once answered (bot/views/triage.answered_message)."""
    question = TREE.question(question_id)
    return f"{question.text} {question.option(option_id).label}"  # type: ignore[union-attr]


def expected_path(entry_id: str, choices: dict[str, str]) -> list[str]:
    """The question ids the engine asks for `entry_id` when answered with `choices` (question id -> option)."""
    state: TriageState = TREE.start(entry_id)
    asked = []
    while (question := TREE.current_question(state)) is not None:
        asked.append(question.id)
        state = TREE.answer(state, question.id, choices[question.id])
    return asked


# Answers for a 425 through passive mode behind NAT with vsftpd: every question of the tree is asked.
CHOICES_425 = {
    "protocol": "ftp",
    "client": "filezilla",
    "mode": "passive",
    "network": "nat",
    "server": "vsftpd",
    "passive-address": "private",
}


# ----- processes, shared by the module -----


def start_bot(slack: SlackStandIn, directory: Path, name: str, env: dict[str, str]) -> BotProcess:
    full_env = {
        **slack.bot_env("http"),
        "DATABASE_URL": f"sqlite:///{directory / f'{name}.sqlite3'}",
        "LOG_LEVEL": "DEBUG",
        **env,
    }
    return BotProcess(full_env, mode="http", standin=slack, log_path=directory / f"{name}.log").start().wait_ready(30)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("triage")


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, workdir: Path) -> Iterator[BotProcess]:
    """With an escalation channel and mention, and a one-day TTL."""
    env = {
        "TRIAGE_ESCALATION_CHANNEL": ESCALATION_CHANNEL,
        "TRIAGE_ESCALATION_MENTION": ESCALATION_MENTION,
        "TRIAGE_TTL_DAYS": "1",
    }
    process = start_bot(slack, workdir, "escalating", env)
    yield process
    process.stop()


@pytest.fixture
def drive(slack: SlackStandIn, bot: BotProcess) -> Iterator[Driver]:
    logged_before = len(bot.logs())
    yield Driver(slack, bot)
    assert "Traceback" not in bot.logs()[logged_before:], bot.log_tail()


def start_by_mention(drive: Driver, channel: str, user: str = "U1") -> Posted:
    since = time.monotonic()
    thread = drive.mention("getting 425 Can't open data connection on every upload", channel, user)
    return drive.next_post(channel, thread, since)


def start_from_command(drive: Driver, user: str, channel: str) -> Posted:
    """/ftpcode 425, then "Start triage" on its ephemeral answer: the first question, in a DM thread."""
    since = time.monotonic()
    delivery = drive.slack.send_command(drive.bot.events_url, "425", user_id=user, channel_id=channel)
    assert delivery.status == 200
    answer = delivery.json()  # the answer travels in the acknowledgement
    assert answer["response_type"] == "ephemeral"
    answer_message = Posted(channel, payloads.new_ts(), None, answer["text"], answer["blocks"])
    since, hook = drive.click(answer_message, "start_triage", user=user, ephemeral=True)
    assert "direct messages" in drive.note_for(hook)
    opened = drive.slack.wait_for_call("conversations.open", lambda c: c.params.get("users") == user, since=since)
    dm = opened.response["channel"]["id"]
    root = drive.next_post(dm, None, since, any_post)
    assert "425" in root.text
    return drive.next_post(dm, root.ts, since)


# ----- 1. buttons all the way -----


def test_a_triage_by_buttons_ends_in_the_checklist_and_thanks(drive: Driver) -> None:
    question = start_by_mention(drive, "C0BUTTONS")
    thread = question.thread_ts
    assert thread
    asked, questions = [], []
    while "triage_feedback_yes" not in question.buttons():
        asked.append(question.question_id)
        questions.append(question)
        question = drive.answer_by_click(question, CHOICES_425[question.question_id])
    checklist = question
    assert asked == expected_path("ftp-425", CHOICES_425)
    assert len(asked) >= 4

    for answered in questions:
        [update] = drive.updates_of(answered)
        assert update.params["text"] == answered_text(answered.question_id, CHOICES_425[answered.question_id])
        assert not any(b["type"] == "actions" for b in update.params["blocks"]), "the buttons must go"
        assert "<@U1>" in json.dumps(update.params["blocks"])

    since, _ = drive.click(checklist, "triage_feedback_yes")
    thanks = drive.next_post("C0BUTTONS", thread, since, any_post)
    assert "closed" in thanks.text.lower()
    [closed] = drive.updates_of(checklist)
    assert "triage_feedback" not in json.dumps(closed.params["blocks"])
    assert "Fixed, said <@U1>" in json.dumps(closed.params["blocks"])

    transcript = drive.transcript("C0BUTTONS", thread)
    answers = [answered_text(q, CHOICES_425[q]) for q in asked]
    # The thread: the answer to the mention, each question showing its choice, the checklist, the thanks.
    assert transcript[1 : 1 + len(answers)] == answers
    assert transcript[-2].startswith("Checklist: fixed")
    assert transcript[-1] == thanks.text
    assert len(transcript) == len(answers) + 3
    assert "425" in transcript[0]


# ----- 2. typed answers -----


def test_a_triage_by_typed_answers_and_a_mention_in_the_thread(drive: Driver, slack: SlackStandIn) -> None:
    question = start_by_mention(drive, "C0TYPED")
    thread = question.thread_ts
    assert thread and question.question_id == "protocol"

    since = time.monotonic()
    drive.say("it is blue", "C0TYPED", thread)
    again = drive.next_post("C0TYPED", thread, since)
    assert again.text.startswith("I did not catch that")
    assert again.question_id == "protocol" and again.buttons().keys() == question.buttons().keys()

    second = drive.answer_by_typing(again, "plain ftp")
    assert second.question_id == "client"
    third = drive.answer_by_typing(second, "2")  # the second option: WinSCP
    assert third.question_id == "mode"
    # A mention in the thread arrives as app_mention and as a message event; it is answered once.
    time.sleep(READING_SECONDS)
    since = time.monotonic()
    mention = payloads.app_mention("passive", channel="C0TYPED", thread_ts=thread)
    drive.event(mention)
    drive.event(payloads.message(mention["text"], channel="C0TYPED", ts=mention["ts"], thread_ts=thread))
    fourth = drive.next_post("C0TYPED", thread, since)
    assert fourth.question_id == "network"
    time.sleep(0.3)
    assert [p.text for p in drive.posts("C0TYPED", thread, since)] == [fourth.text]
    # A typed answer turns the question message into a transcript line, as a click does.
    for asked, (question_id, option_id) in [(again, ("protocol", "ftp")), (third, ("mode", "passive"))]:
        [update] = drive.updates_of(asked)
        assert update.params["text"] == answered_text(question_id, option_id)
        assert not any(b["type"] == "actions" for b in update.params["blocks"]), "the buttons must go"

    transcript = drive.transcript("C0TYPED", thread)
    typed = [answered_text("protocol", "ftp"), answered_text("client", "winscp"), answered_text("mode", "passive")]
    assert [t for t in transcript if t in typed] == typed
    assert slack.calls("chat.postEphemeral", since) == []


# ----- 3. back and restart -----


def test_back_and_restart(drive: Driver) -> None:
    first = start_by_mention(drive, "C0BACK")
    thread = first.thread_ts
    assert thread
    assert "triage_control_back" not in first.buttons(), "nothing to go back to on the first question"
    second = drive.answer_by_click(first, "ftp")
    third = drive.answer_by_click(second, "curl")
    assert third.question_id == "mode"

    since, _ = drive.click(third, "triage_control_back")
    back = drive.next_post("C0BACK", thread, since)
    assert back.question_id == "client"
    [closed] = drive.updates_of(third)
    assert "went back" in closed.params["text"].lower()
    after_back = drive.answer_by_click(back, "lftp")
    assert after_back.question_id == "mode"

    since = time.monotonic()
    drive.say("back", "C0BACK", thread)
    assert drive.next_post("C0BACK", thread, since).question_id == "client"

    since = time.monotonic()
    drive.say("start over", "C0BACK", thread)
    restarted = drive.next_post("C0BACK", thread, since)
    assert restarted.question_id == "protocol"
    assert "question 1" in restarted.text

    since, _ = drive.click(restarted, "triage_control_restart")
    again = drive.next_post("C0BACK", thread, since)
    assert again.question_id == "protocol" and again.ts != restarted.ts
    assert "started over" in drive.updates_of(restarted)[0].params["text"].lower()
    assert drive.answer_by_click(again, "sftp").question_id != "mode", "SFTP has no passive mode to ask about"


# ----- 4. hand-off -----


def run_to_checklist(drive: Driver, channel: str, user: str = "U1") -> Posted:
    question = start_by_mention(drive, channel, user)
    while "triage_feedback_no" not in question.buttons():
        question = drive.answer_by_click(question, CHOICES_425[question.question_id], user)
    return question


def test_hand_off_to_the_escalation_channel(drive: Driver, slack: SlackStandIn) -> None:
    checklist = run_to_checklist(drive, "C0HANDOFF", user="U7")
    thread = checklist.thread_ts
    since, _ = drive.click(checklist, "triage_feedback_no", user="U7")
    escalation = drive.next_post(ESCALATION_CHANNEL, None, since, any_post)
    told = drive.next_post("C0HANDOFF", thread, since, any_post)

    body = json.dumps(escalation.blocks)
    assert f"<!subteam^{ESCALATION_MENTION}>" in body and "<@U7>" in body
    permalink = slack.wait_for_call("chat.getPermalink", since=since)
    assert permalink.params["channel"] == "C0HANDOFF" and permalink.params["message_ts"] == thread
    assert permalink.response["permalink"] in body
    for question_id, option_id in CHOICES_425.items():
        assert TREE.question(question_id).option(option_id).label in escalation.text  # type: ignore[union-attr]
    assert f"<#{ESCALATION_CHANNEL}>" in told.text
    assert "Still broken, said <@U7>" in json.dumps(drive.updates_of(checklist)[0].params["blocks"])


def test_hand_off_without_an_escalation_channel_gives_the_summary_to_copy(slack: SlackStandIn, workdir: Path) -> None:
    plain = start_bot(slack, workdir, "plain", {})
    try:
        drive = Driver(slack, plain)
        checklist = run_to_checklist(drive, "C0COPY")
        since, _ = drive.click(checklist, "triage_feedback_no")
        summary = drive.next_post("C0COPY", checklist.thread_ts, since, any_post)
        assert summary.text.startswith("Time for a human")
        assert "Triage hand-off: code 425" in summary.text
        assert answered_text("server", "vsftpd").split("? ")[-1] in summary.text
        assert "```" in json.dumps(summary.blocks)
        time.sleep(0.3)
        assert slack.calls("chat.getPermalink", since) == []
        assert [c for c in slack.calls("chat.postMessage", since) if c.params["channel"] != "C0COPY"] == []
    finally:
        plain.stop()
    assert "Traceback" not in plain.logs()


# ----- 5. two at once -----


def test_two_triages_at_once_do_not_mix(drive: Driver) -> None:
    """U1 in a channel thread, U2 in a DM and U3 in another channel thread, their answers interleaved."""
    choices = {
        "U1": CHOICES_425,
        "U2": {"protocol": "ftps-explicit", "client": "curl", "mode": "active"},
        "U3": {"protocol": "ftps-implicit", "client": "lftp", "mode": "unsure"},
    }
    current = {
        "U1": start_by_mention(drive, "C0MIXA", user="U1"),
        "U2": start_from_command(drive, "U2", "C0MIXA"),
        "U3": start_by_mention(drive, "C0MIXB", user="U3"),
    }
    for _ in range(3):
        for user in ("U1", "U2", "U3"):
            question = current[user]
            if user == "U2":  # typed in the DM
                label = TREE.question(question.question_id).option(choices[user][question.question_id]).label  # type: ignore[union-attr]
                current[user] = drive.answer_by_typing(question, label, user, im=True)
            else:
                current[user] = drive.answer_by_click(question, choices[user][question.question_id], user)
    sessions = {current[u].value("triage_answer_0")["s"] for u in current}
    assert len(sessions) == 3
    for user, question in current.items():
        assert question.question_id == "network"
        assert question.thread_ts
        transcript = " ".join(drive.transcript(question.channel, question.thread_ts))
        for other, their in choices.items():
            shown = answered_text("client", their["client"]) in transcript
            assert shown == (other == user), (user, other, transcript)


# ----- 6. someone else -----


def session_row(bot: BotProcess, session_id: str) -> tuple[str, int]:
    path = bot.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return db.execute("SELECT user_id, version FROM triage_sessions WHERE id = ?", (session_id,)).fetchone()


def test_another_user_is_refused_until_handed_over(drive: Driver, slack: SlackStandIn, bot: BotProcess) -> None:
    question = start_by_mention(drive, "C0OTHERS", user="U1")
    thread = question.thread_ts
    assert thread
    session_id = question.value("triage_answer_0")["s"]
    before = session_row(bot, session_id)

    since, hook = drive.click(question, question.option_button("ftp"), user="U9")
    note = drive.note_for(hook)
    assert "<@U1>" in note and "let someone else answer" in note.lower()
    since_typed = time.monotonic()
    drive.say("ftp", "C0OTHERS", thread, user="U9")
    ephemeral = slack.wait_for_call("chat.postEphemeral", since=since_typed)
    assert ephemeral.params["user"] == "U9" and "<@U1>" in ephemeral.params["text"]
    time.sleep(0.3)
    assert drive.posts("C0OTHERS", thread, since) == [] and slack.calls("chat.update", since) == []
    assert session_row(bot, session_id) == before

    since, hook = drive.click(question, "triage_control_handover", user="U1")
    note_posted = drive.next_post("C0OTHERS", thread, since, any_post)
    assert "anyone" in note_posted.text.lower()
    assert session_row(bot, session_id)[0] == ""
    nxt = drive.answer_by_click(question, "ftp", user="U9")
    assert nxt.question_id == "client"
    assert "<@U9>" in json.dumps(drive.updates_of(question)[0].params["blocks"])


def test_start_triage_by_someone_else_leaves_the_open_triage_as_it_is(
    drive: Driver, slack: SlackStandIn, bot: BotProcess
) -> None:
    """Start triage on the answer in another user's thread used to replace their session with one of the clicker's."""
    question = start_by_mention(drive, "C0TAKEOVER", user="U1")
    thread = question.thread_ts
    assert thread
    session_id = question.value("triage_answer_0")["s"]
    before = session_row(bot, session_id)
    answer = next(
        Posted.of(c)
        for c in slack.calls("chat.postMessage")
        if c.params.get("channel") == "C0TAKEOVER" and "start_triage" in Posted.of(c).buttons()
    )

    since, hook = drive.click(answer, "start_triage", user="U9")
    note = drive.note_for(hook)
    assert "<@U1>" in note and "start your own" in note.lower()
    time.sleep(0.3)
    assert drive.posts("C0TAKEOVER", thread, since) == []
    assert session_row(bot, session_id) == before
    assert drive.answer_by_click(question, "ftp", user="U1").question_id == "client"


def test_a_click_from_another_workspace_is_refused(drive: Driver, slack: SlackStandIn, bot: BotProcess) -> None:
    question = start_by_mention(drive, "C0TEAMS", user="U1")
    session_id = question.value("triage_answer_0")["s"]
    before = session_row(bot, session_id)
    element = question.buttons()[question.option_button("ftp")]
    payload = slack.block_actions(
        element["action_id"], element["value"], user_id="U1", channel_id="C0TEAMS", message_ts=question.ts
    )
    payload["team"] = {"id": "T0ELSEWHERE", "domain": "elsewhere"}
    since = time.monotonic()
    drive.action(payload)
    hook = payload["response_url"].rsplit("/", 1)[-1]
    assert "another workspace" in drive.note_for(hook)
    assert drive.posts("C0TEAMS", question.thread_ts or "", since) == []
    assert session_row(bot, session_id) == before


# ----- 7. stale and expired -----


def test_a_stale_click_is_refused_politely(drive: Driver, slack: SlackStandIn) -> None:
    first = start_by_mention(drive, "C0STALE")
    second = drive.answer_by_click(first, "ftp")
    since, hook = drive.click(first, first.option_button("sftp"))
    assert "already answered" in drive.note_for(hook)
    time.sleep(0.3)
    assert drive.posts("C0STALE", first.thread_ts or "", since) == []
    # The question still open is unaffected.
    assert drive.answer_by_click(second, "winscp").question_id == "mode"


def started_with_its_session(drive: Driver, bot: BotProcess, channel: str) -> tuple[Posted, str, str, str]:
    """A triage started by a mention: its first question, its thread, its session id and the bot's SQLite file."""
    question = start_by_mention(drive, channel)
    assert question.thread_ts
    path = bot.env["DATABASE_URL"].removeprefix("sqlite:///")
    return question, question.thread_ts, question.value("triage_answer_0")["s"], path


def test_an_expired_triage_says_so_and_offers_to_start_again(
    drive: Driver, slack: SlackStandIn, bot: BotProcess
) -> None:
    question, thread, session_id, path = started_with_its_session(drive, bot, "C0EXPIRED")
    with sqlite3.connect(path) as db:  # TRIAGE_TTL_DAYS=1: two days idle is expired
        db.execute("UPDATE triage_sessions SET updated_at = updated_at - 2 * 86400 WHERE id = ?", (session_id,))

    since, hook = drive.click(question, question.option_button("ftp"))
    assert "expired" in drive.note_for(hook)
    offer = drive.next_post("C0EXPIRED", thread, since, lambda c: "start_triage" in Posted.of(c).buttons())
    assert "expired" in offer.text.lower()
    assert slack.calls("chat.update", since) == []
    assert session_row(bot, session_id) is None

    since = time.monotonic()
    drive.say("ftp", "C0EXPIRED", thread)  # the expired session no longer takes answers
    time.sleep(0.3)
    assert drive.posts("C0EXPIRED", thread, since) == []

    since, _ = drive.click(offer, "start_triage")
    fresh = drive.next_post("C0EXPIRED", thread, since)
    assert fresh.question_id == "protocol" and fresh.value("triage_answer_0")["s"] != session_id
    assert drive.answer_by_click(fresh, "ftp").question_id == "client"


def start_over_offer(drive: Driver, hook: str) -> dict[str, Any]:
    """The message only the clicking user sees after a click on a triage that is gone: its Start over button."""
    call = drive.slack.wait_for_call("response_url", lambda c: c.extra["hook_id"] == hook)
    assert call.params.get("response_type") == "ephemeral" and call.params.get("replace_original") is False
    [button] = [e for b in call.params.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Start over" and button["action_id"] == "start_triage"
    return {"text": call.params["text"], "button": button}


def click_in_ephemeral(drive: Driver, channel: str, action_id: str, value: str, user: str = "U1") -> float:
    """A click on a button of a message only the user sees: Slack sends it without the message (nor its thread)."""
    payload = drive.slack.block_actions(action_id, value, user_id=user, channel_id=channel)
    payload["container"]["is_ephemeral"] = True
    payload.pop("message")
    since = time.monotonic()
    drive.action(payload)
    return since


def test_a_click_on_a_triage_that_is_gone_offers_start_over_which_starts_it_again_in_its_thread(
    drive: Driver, slack: SlackStandIn, bot: BotProcess
) -> None:
    question, thread, session_id, path = started_with_its_session(drive, bot, "C0GONE")
    with sqlite3.connect(path) as db:  # cleared: expired and deleted by another thread's click, or a reset
        db.execute("DELETE FROM triage_sessions WHERE id = ?", (session_id,))

    since, hook = drive.click(question, question.option_button("ftp"))
    offer = start_over_offer(drive, hook)
    assert "no longer open" in offer["text"]
    assert drive.posts("C0GONE", thread, since) == [] and slack.calls("chat.update", since) == []

    since = click_in_ephemeral(drive, "C0GONE", "start_triage", offer["button"]["value"])
    fresh = drive.next_post("C0GONE", thread, since)
    assert fresh.question_id == "protocol" and fresh.value("triage_answer_0")["s"] != session_id
    assert drive.answer_by_click(fresh, "ftp").question_id == "client"


def test_a_triage_the_tree_cannot_follow_any_more_offers_start_over_on_a_click_and_in_the_thread(
    drive: Driver, slack: SlackStandIn, bot: BotProcess
) -> None:
    """A TriageError in the middle of a turn (here: a session asking a question the tree no longer has)."""
    question, thread, session_id, path = started_with_its_session(drive, bot, "C0OLDTREE")
    with sqlite3.connect(path) as db:
        [raw] = db.execute("SELECT state FROM triage_sessions WHERE id = ?", (session_id,)).fetchone()
        state = json.loads(raw)
        state.update(answers={"a-question-since-removed": "yes"}, asked=["a-question-since-removed"], prefilled={})
        db.execute("UPDATE triage_sessions SET state = ? WHERE id = ?", (json.dumps(state), session_id))

    since, hook = drive.click(question, question.option_button("ftp"))
    assert "could not follow" in start_over_offer(drive, hook)["text"]

    since = time.monotonic()
    drive.say("ftp", "C0OLDTREE", thread)  # a typed answer: Start over in the thread, where the triage runs
    offer = drive.next_post("C0OLDTREE", thread, since, lambda c: "start_triage" in Posted.of(c).buttons())
    assert "could not follow" in offer.text
    since, _ = drive.click(offer, "start_triage")
    fresh = drive.next_post("C0OLDTREE", thread, since)
    assert fresh.question_id == "protocol" and fresh.value("triage_answer_0")["s"] != session_id


# ----- 9. from /ftpcode's ephemeral answer into a DM -----


def test_start_triage_from_the_ephemeral_command_answer_runs_in_a_dm(drive: Driver, slack: SlackStandIn) -> None:
    since = time.monotonic()
    question = start_from_command(drive, "U5", "C0CMD")
    assert question.question_id == "protocol"
    assert question.channel.startswith("D") and question.thread_ts
    assert [c for c in slack.calls("chat.postMessage", since) if c.params["channel"] == "C0CMD"] == []
    assert [c.params["users"] for c in slack.calls("conversations.open", since)] == ["U5"]
    # It goes on in the DM, by typing in the thread there.
    assert drive.answer_by_typing(question, "ftp", user="U5", im=True).question_id == "client"


# ----- 10. connections kept alive -----


def test_a_triage_reuses_the_bots_web_api_connections(slack: SlackStandIn, workdir: Path) -> None:
    """slack_sdk alone opens a TCP connection per Web API call; the bot keeps one per listener thread."""
    since, connections_before = time.monotonic(), slack.http_connections_accepted
    process = start_bot(slack, workdir, "connections", {})
    try:
        drive = Driver(slack, process)
        checklist = run_to_checklist(drive, "C0CONNS")
        clicked, _ = drive.click(checklist, "triage_feedback_yes")
        drive.next_post("C0CONNS", checklist.thread_ts, clicked, any_post)
    finally:
        process.stop()
    calls = slack.calls(since=since)
    connections = slack.http_connections_accepted - connections_before
    assert "response_url" not in {c.method for c in calls}, "only Web API calls are counted here"
    assert len(calls) >= 15
    assert connections * 3 <= len(calls), f"{connections} TCP connections for {len(calls)} Web API calls"


# ----- the one code path, on PostgreSQL -----


def test_a_triage_on_postgresql(slack: SlackStandIn, workdir: Path) -> None:
    with fresh_postgres_database(postgres_server_url()) as url:
        process = start_bot(slack, workdir, "postgres", {"DATABASE_URL": url})
        try:
            drive = Driver(slack, process)
            question = start_by_mention(drive, "C0PG")
            second = drive.answer_by_click(question, "ftp")
            # A redelivered event is recognised in PostgreSQL's seen_events, and answered once.
            since = time.monotonic()
            typed = payloads.message("filezilla", channel="C0PG", thread_ts=question.thread_ts)
            body = payloads.event_callback(typed)
            for retry in (None, 1):
                delivered = slack.send_event(process.events_url, typed, event_id=body["event_id"], retry_num=retry)
                assert delivered.status == 200
            third = drive.next_post("C0PG", question.thread_ts, since)
            assert third.question_id == "mode"
            time.sleep(0.3)
            # Answered once: the next question posted once, and the typed answer shown in the question message.
            assert [p.ts for p in drive.posts("C0PG", question.thread_ts or "", since)] == [third.ts]
            assert len(drive.updates_of(second)) == 1
            assert second.question_id == "client"
            with psycopg.connect(url) as conn:
                rows = conn.execute("SELECT version FROM triage_sessions WHERE channel_id = 'C0PG'").fetchall()
            assert rows == [(3,)]  # created, then two answers saved, in PostgreSQL
        finally:
            process.stop()
        assert "Traceback" not in process.logs()
        assert "postgresql" in process.env["DATABASE_URL"]
