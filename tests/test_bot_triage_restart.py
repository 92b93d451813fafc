"""A triage survives the bot being killed (SIGKILL, no goodbye) and started again on the same database."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from tests.standin import BotProcess, SlackStandIn
from tests.test_bot_triage import CHOICES_425, TREE, Driver, answered_text, start_by_mention
from tests.test_bot_triage import expected_path as engine_path


def kill_hard(bot: BotProcess) -> None:
    """SIGKILL to the bot's whole process group (gunicorn's master and its workers), as an OOM kill would."""
    assert bot.pid is not None
    os.killpg(bot.pid, signal.SIGKILL)
    bot.kill()  # reaps it
    assert not bot.is_running()
    if bot.mode == "http":
        # Nothing of the old process group may still answer on the port (an orphaned worker would fake a restart).
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", bot.port), timeout=0.5).close()
            except OSError:
                break
            assert time.monotonic() < deadline, "the killed bot's port still accepts connections"
            time.sleep(0.05)


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_a_triage_carries_on_after_the_bot_is_killed_and_restarted(
    mode: str, request: pytest.FixtureRequest, standin: SlackStandIn
) -> None:
    start = request.getfixturevalue("bot_http" if mode == "http" else "bot_socket")
    bot: BotProcess = start({"TRIAGE_TTL_DAYS": "1"})
    drive = Driver(standin, bot)
    path = engine_path("ftp-425", CHOICES_425)

    first = start_by_mention(drive, "C0RESTART")
    channel, thread = first.channel, first.thread_ts
    assert thread
    second = drive.answer_by_click(first, CHOICES_425[first.question_id])
    third = drive.answer_by_typing(second, TREE.question(second.question_id).option(CHOICES_425["client"]).label)  # type: ignore[union-attr]
    assert [first.question_id, second.question_id, third.question_id] == path[:3]
    database = bot.env["DATABASE_URL"]
    connections_before = standin.connections_opened

    kill_hard(bot)
    bot.start().wait_ready(30)
    assert bot.logs().count("--- start ") == 2
    assert bot.env["DATABASE_URL"] == database
    if mode == "socket":
        assert standin.connections_opened == connections_before + 1

    # The button of the question asked before the kill answers it; then a typed answer takes the next one.
    fourth = drive.answer_by_click(third, CHOICES_425[third.question_id])
    assert fourth.question_id == path[3]
    assert "question 4" in fourth.text
    fifth = drive.answer_by_typing(fourth, TREE.question(fourth.question_id).option(CHOICES_425[path[3]]).label)  # type: ignore[union-attr]
    assert fifth.question_id == path[4]
    session = first.value("triage_answer_0")["s"]
    assert fifth.value("triage_answer_0")["s"] == session

    # A button answered before the kill is still known to be answered.
    since, hook = drive.click(second, second.option_button("curl"))
    assert "already answered" in drive.note_for(hook)

    question = fifth
    while "triage_feedback_yes" not in question.buttons():
        question = drive.answer_by_click(question, CHOICES_425[question.question_id])
    since, _ = drive.click(question, "triage_feedback_yes")
    drive.next_post(channel, thread, since, lambda c: "closed" in c.params.get("text", ""))

    shown = drive.transcript(channel, thread)
    answers = [answered_text(q, CHOICES_425[q]) for q in path]
    assert [t for t in shown if t in answers] == answers, "each question answered once, in order"
    questions_posted = [p for p in drive.posts(channel, thread) if "triage_answer_0" in p.buttons()]
    assert [p.question_id for p in questions_posted] == path, "no question asked twice across the restart"
    assert "Traceback" not in bot.logs()
