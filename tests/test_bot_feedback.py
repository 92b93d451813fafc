"""Feedback on answers, end to end: the bot as a process against the Slack stand-in, its SQLite file read
directly to check what was stored (and what was not).

Every answer ends with "Was this helpful?" and Block Kit's feedback buttons; a vote is counted once per user
and answer and shown in place; "No" opens the "what was missing?" modal at once, whose answer is stored and
can start a triage or hand the case to a human; forged votes change nothing.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.feedback import FeedbackKeys, Vote, read_vote
from bot.mrkdwn import literal
from bot.store import Store
from tests.slack_e2e import (
    ANSWER_TIMEOUT,
    QUIET_SECONDS,
    all_text,
    assert_full_answer,
    assert_sendable,
    new_id,
    posts,
    responses,
    wait_posts,
    wait_quiet,
    wait_response,
)
from tests.slack_limits import assert_block_within_limits
from tests.standin import BotProcess, SlackStandIn, payloads
from tests.standin.records import CallRecord
from tests.test_bot_triage import CHOICES_425, TREE, Driver, run_to_checklist, start_by_mention

ESCALATION_CHANNEL = "C0FEEDHELP"
ESCALATION_MENTION = "S0FEEDTEAM"
SECRET = "feedback-test-secret-0123456789abcdef"
KEYS = FeedbackKeys(SECRET.encode())
LOG = (
    "Status:\tConnecting to 192.0.2.44:21...\n"
    "Status:\tConnection established, waiting for welcome message...\n"
    "Response:\t220 FTP server ready\n"
    "Command:\tUSER alice\n"
    "Response:\t331 Password required\n"
    "Command:\tPASS hunter2\n"
    "Response:\t530 Login incorrect.\n"
    "Error:\tCritical error: Could not connect to server"
)


def read(value: str) -> Vote:
    """What a vote button carries, checked as the bot checks it."""
    vote = read_vote(KEYS, value)
    assert vote is not None, f"not signed by the bot: {value}"
    return vote


# ----- processes and the database -----


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "bot.sqlite3"


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, database: Path) -> Iterator[BotProcess]:
    env = {
        **slack.bot_env("http"),
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "DEBUG",
        "TRIAGE_ESCALATION_CHANNEL": ESCALATION_CHANNEL,
        "TRIAGE_ESCALATION_MENTION": ESCALATION_MENTION,
        "FTPCODE_FEEDBACK_SECRET": SECRET,
    }
    with BotProcess(env, mode="http", standin=slack, log_path=database.parent / "bot.log") as running:
        yield running


@pytest.fixture
def checked(bot: BotProcess) -> Iterator[BotProcess]:
    """The bot; and after the test, no traceback in what it logged meanwhile."""
    before = len(bot.logs())
    yield bot
    assert "Traceback" not in bot.logs()[before:], bot.log_tail()


def rows(database: Path, where: str = "1 = 1", params: tuple = ()) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(r) for r in connection.execute(f"SELECT * FROM feedback WHERE {where}", params)]


def wait_rows(database: Path, where: str, params: tuple = (), count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while len(found := rows(database, where, params)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(found)} of {count} rows where {where} {params}")
        time.sleep(0.05)
    return found


# ----- Slack's side -----


def command(slack: SlackStandIn, bot: BotProcess, text: str, user: str = "U1", channel: str = "C1") -> dict:
    delivery = slack.send_command(bot.events_url, text, user_id=user, channel_id=channel)
    assert delivery.status == 200, delivery.text
    if not delivery.body:
        return wait_response(slack, delivery.sent["response_url"]).params
    return delivery.json()


def event(slack: SlackStandIn, bot: BotProcess, payload: dict[str, Any]) -> None:
    assert slack.send_event(bot.events_url, payload).status == 200


def action(slack: SlackStandIn, bot: BotProcess, payload: dict[str, Any]) -> Any:
    delivery = slack.send_action(bot.events_url, payload)
    assert delivery.status == 200, delivery.text
    return delivery


def feedback_element(message: dict[str, Any]) -> dict[str, Any]:
    """The feedback buttons element that ends an answer (checked to be where it belongs)."""
    prompt, buttons = message["blocks"][-2:]
    assert prompt["type"] == "context" and prompt["elements"][0]["text"].startswith("Was this helpful?")
    assert buttons["type"] == "context_actions" and buttons["block_id"] == "feedback"
    [element] = buttons["elements"]
    assert element["type"] == "feedback_buttons"
    return element


def vote_click(
    slack: SlackStandIn,
    message: dict[str, Any],
    vote: str,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
) -> dict[str, Any]:
    """A click on 👍 ("up") or 👎 ("down") under `message`: a private answer when `ts` is None."""
    element = feedback_element(message)
    value = element["positive_button" if vote == "up" else "negative_button"]["value"]
    click = slack.block_actions(
        element["action_id"],
        value,
        user_id=user,
        channel_id=channel,
        message_ts=ts,
        block_id="feedback",
        action_type="feedback_buttons",
    )
    if ts is None:
        click["container"]["is_ephemeral"] = True
        click.pop("message")
    else:
        stored = slack.workspace.messages.get((channel, ts), {})
        click["message"].update(text=stored.get("text", ""), blocks=stored.get("blocks", message["blocks"]))
        if thread_ts:
            click["message"]["thread_ts"] = thread_ts
    return click


def wait_for_response(slack: SlackStandIn, response_url: str, containing: str) -> dict[str, Any]:
    """The post to `response_url` whose text contains `containing` (others may come before it)."""
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while time.monotonic() < deadline:
        for call in responses(slack, response_url):
            if containing in call.params.get("text", ""):
                return call.params
        time.sleep(0.05)
    raise TimeoutError(f"no answer containing {containing!r}: {[c.params for c in responses(slack, response_url)]}")


def modal_opened(slack: SlackStandIn, trigger_id: str) -> CallRecord:
    return slack.wait_for_call("views.open", lambda c: c.params.get("trigger_id") == trigger_id, ANSWER_TIMEOUT)


def submit_modal(
    slack: SlackStandIn, bot: BotProcess, view: dict[str, Any], user: str, comment: str | None, next_step: str | None
) -> Any:
    values: dict[str, Any] = {"comment": {"comment": {"type": "plain_text_input", "value": comment}}}
    if next_step is not None:
        values["next"] = {"next": {"type": "radio_buttons", "selected_option": {"value": next_step}}}
    submission = slack.view_submission(
        view["callback_id"], values, user_id=user, private_metadata=view["private_metadata"]
    )
    return action(slack, bot, submission)


def dm_answer(slack: SlackStandIn, bot: BotProcess, text: str, user: str = "U1") -> CallRecord:
    dm = new_id("D")
    event(slack, bot, payloads.message_im(text, channel=dm, user=user))
    [answer] = wait_posts(slack, dm)
    return answer


# ----- 1. every answer ends with the buttons -----


def test_every_kind_of_answer_ends_with_feedback_buttons(slack: SlackStandIn, checked: BotProcess) -> None:
    bot = checked
    answers = {"command": command(slack, bot, "425"), "command log": command(slack, bot, LOG)}
    answers["dm"] = dm_answer(slack, bot, "what is 530?").params
    channel = new_id("C")
    event(slack, bot, payloads.app_mention("421 too many connections", channel=channel))
    answers["mention"] = wait_posts(slack, channel)[0].params
    shortcut = slack.message_action("explain_message", "the server keeps saying 425 Can't open data connection")
    action(slack, bot, shortcut)
    answers["shortcut"] = wait_response(slack, shortcut["response_url"]).params
    dm = new_id("D")
    log_file = slack.register_file("filezilla.log", LOG.encode())
    event(slack, bot, payloads.message_im("", channel=dm, subtype="file_share") | {"files": [{"id": log_file["id"]}]})
    answers["file"] = wait_posts(slack, dm)[0].params
    for where, answer in answers.items():
        element = feedback_element(answer)
        raw = [element[side]["value"] for side in ("positive_button", "negative_button")]
        assert [read(value).vote for value in raw] == ["up", "down"], where
        assert "U1" not in json.dumps(raw), f"{where}: a button carries the user id"
        assert_sendable(answer)
    assert_full_answer(answers["command"], "ftp-425", ephemeral=True)
    kinds = {where: read(feedback_element(a)["positive_button"]["value"]).channel_type for where, a in answers.items()}
    assert kinds == {
        "command": "command",
        "command log": "command",
        "dm": "dm",
        "mention": "channel",
        "shortcut": "shortcut",
        "file": "dm",
    }


@pytest.mark.parametrize("text", ["help", "list 4xx", "zzqx wibble"])
def test_help_lists_and_nothing_found_have_no_feedback_buttons(
    slack: SlackStandIn, checked: BotProcess, text: str
) -> None:
    answer = command(slack, checked, text)
    assert "feedback" not in json.dumps(answer["blocks"])


# ----- 2. what is stored -----


def test_an_answer_is_stored_with_its_query_masked_and_cut_and_no_user_id(
    slack: SlackStandIn, checked: BotProcess, database: Path
) -> None:
    user = new_id("U")
    text = "530 when I log in with password=hunter2 " + "and then some " * 30
    answer = command(slack, checked, text, user=user)
    answer_id = read(feedback_element(answer)["positive_button"]["value"]).answer_id
    [row] = wait_rows(database, "answer_id = ?", (answer_id,))
    assert row["event"] == "asked" and row["subject"] == "ftp-530" and row["subject_kind"] == "entry"
    assert row["channel_type"] == "command" and row["team_id"] == payloads.TEAM_ID
    assert "hunter2" not in row["query"] and row["query"].startswith("530 when I log in with password=**** and")
    assert len(row["query"]) == 200
    assert row["user_hash"] == KEYS.user_hash(user) and re.fullmatch(r"[0-9a-f]{32}", row["user_hash"])
    with sqlite3.connect(database) as connection:
        dump = "\n".join(connection.iterdump())
    assert user not in dump, "a user id is stored"
    assert "hunter2" not in dump


def test_a_query_that_finds_nothing_is_stored_as_a_gap(
    slack: SlackStandIn, checked: BotProcess, database: Path
) -> None:
    user = new_id("U")
    command(slack, checked, "zzqx wibble secret=hunter2", user=user)
    [row] = wait_rows(database, "event = 'nothing' AND user_hash = ?", (KEYS.user_hash(user),))
    assert row["query"] == "zzqx wibble secret=****" and row["subject"] is None


def test_a_log_is_stored_as_its_format_and_failure_not_the_paste(
    slack: SlackStandIn, checked: BotProcess, database: Path
) -> None:
    user = new_id("U")
    command(slack, checked, LOG, user=user)
    [row] = wait_rows(database, "event = 'asked' AND user_hash = ?", (KEYS.user_hash(user),))
    assert row["subject_kind"] in ("finding", "entry") and row["subject"]
    assert row["query"].startswith("FileZilla log") and "530 Login incorrect" in row["query"]
    assert "alice" not in row["query"] and "192.0.2.44" not in row["query"]


# ----- 3. votes -----


def test_a_vote_in_a_dm_is_counted_and_shown_in_place(slack: SlackStandIn, checked: BotProcess, database: Path) -> None:
    user = new_id("U")
    answer = dm_answer(slack, checked, "425", user=user)
    dm, ts = answer.params["channel"], answer.response["ts"]
    action(slack, checked, vote_click(slack, answer.params, "up", user=user, channel=dm, ts=ts))
    [update] = [slack.wait_for_call("chat.update", lambda c: c.params.get("ts") == ts, ANSWER_TIMEOUT)]
    text = all_text(update.params)
    assert "You found this helpful" in text
    assert update.params["blocks"][-1]["type"] == "context", "the buttons became the choice"
    assert "feedback_buttons" not in json.dumps(update.params["blocks"])
    assert "Likely causes" in text, "the answer itself stays"
    [vote] = wait_rows(database, "event = 'vote' AND user_hash = ?", (KEYS.user_hash(user),))
    assert (vote["vote"], vote["subject"], vote["channel_type"], vote["team_id"]) == (
        "up",
        "ftp-425",
        "dm",
        payloads.TEAM_ID,
    )


def test_a_second_vote_by_the_same_user_changes_nothing_and_says_so(
    slack: SlackStandIn, checked: BotProcess, database: Path
) -> None:
    user = new_id("U")
    answer = command(slack, checked, "550", user=user)
    first = vote_click(slack, answer, "up", user=user)
    action(slack, checked, first)
    wait_response(slack, first["response_url"])
    for again in (vote_click(slack, answer, "down", user=user), vote_click(slack, answer, "up", user=user)):
        action(slack, checked, again)
        note = wait_response(slack, again["response_url"]).params
        assert "already voted" in note["text"] and note["replace_original"] is False
    time.sleep(QUIET_SECONDS)
    [vote] = rows(database, "event = 'vote' AND user_hash = ?", (KEYS.user_hash(user),))
    assert vote["vote"] == "up"


def test_a_private_answer_is_drawn_again_with_the_choice_in_place(slack: SlackStandIn, checked: BotProcess) -> None:
    user = new_id("U")
    answer = command(slack, checked, "425", user=user)
    click = vote_click(slack, answer, "up", user=user)
    action(slack, checked, click)
    redrawn = wait_response(slack, click["response_url"]).params
    assert redrawn["replace_original"] is True and redrawn["response_type"] == "ephemeral"
    assert "share_answer" in json.dumps(redrawn["blocks"]), "the answer, with its own buttons, is still there"
    assert redrawn["blocks"][-1]["elements"][0]["text"].startswith("👍 You found this helpful")
    assert "feedback_buttons" not in json.dumps(redrawn["blocks"])
    assert_sendable(redrawn)


def test_in_a_channel_everyone_votes_once_and_the_count_shows(
    slack: SlackStandIn, checked: BotProcess, database: Path
) -> None:
    channel = new_id("C")
    mention = payloads.app_mention("226 after the upload", channel=channel)
    event(slack, checked, mention)
    answer = wait_posts(slack, channel)[0]
    ts = answer.response["ts"]
    alice, bob = new_id("U"), new_id("U")
    action(slack, checked, vote_click(slack, answer.params, "up", alice, channel, ts, mention["ts"]))
    slack.wait_for_call("chat.update", lambda c: c.params.get("ts") == ts, ANSWER_TIMEOUT)
    since = time.monotonic()
    action(slack, checked, vote_click(slack, answer.params, "down", bob, channel, ts, mention["ts"]))
    update = slack.wait_for_call("chat.update", lambda c: c.params.get("ts") == ts, ANSWER_TIMEOUT, since=since)
    assert "👍 1 · 👎 1 so far" in all_text(update.params)
    assert update.params["blocks"][-1]["type"] == "context_actions", "the buttons stay for the others"
    answer_id = read(feedback_element(answer.params)["positive_button"]["value"]).answer_id
    votes = rows(database, "event = 'vote' AND answer_id = ?", (answer_id,))
    assert sorted(v["vote"] for v in votes) == ["down", "up"]


# ----- 4. "No": the modal, in one step -----


def test_no_opens_the_modal_at_once_with_the_next_steps(slack: SlackStandIn, checked: BotProcess) -> None:
    user = new_id("U")
    answer = command(slack, checked, "425", user=user)
    click = vote_click(slack, answer, "down", user=user)
    action(slack, checked, click)
    opened = modal_opened(slack, click["trigger_id"])
    assert opened.status == 200, opened.response
    view = opened.params["view"]
    assert view["type"] == "modal" and view["callback_id"] == "feedback_comment"
    text = json.dumps(view)
    assert '"block_id": "comment"' in text and '"optional": true' in text
    options = [o["value"] for b in view["blocks"] if b.get("block_id") == "next" for o in b["element"]["options"]]
    assert options == ["none", "triage", "human"]
    assert f"<#{ESCALATION_CHANNEL}>" in text
    redrawn = wait_response(slack, click["response_url"]).params
    assert "You said this did not help" in all_text(redrawn)
    assert "feedback_comment_open" in json.dumps(redrawn["blocks"]), "a way back to the form stays"


def test_the_modal_opens_while_the_queue_is_stuck_behind_slow_posts(slack: SlackStandIn, checked: BotProcess) -> None:
    """views.open does not wait in the work queue, where the click's trigger would expire (3 s)."""
    user = new_id("U")
    answer = command(slack, checked, "530", user=user)
    slack.slow_for("chat.postMessage", 8, 2.5)
    for _ in range(24):  # three rounds of the 8 workers, 2.5 s each: a queued views.open would come after 5 s
        event(slack, checked, payloads.message_im("425", channel=new_id("D")))
    click = vote_click(slack, answer, "down", user=user)
    action(slack, checked, click)
    opened = modal_opened(slack, click["trigger_id"])
    assert opened.status == 200 and opened.response["ok"] is True, opened.response
    wait_quiet(slack, quiet=1.0, timeout=60)


def test_a_comment_of_40_kb_with_markup_is_stored_cut_and_handed_off_escaped(
    slack: SlackStandIn, checked: BotProcess, database: Path
) -> None:
    user = new_id("U")
    channel = new_id("C")
    mention = payloads.app_mention("550 Permission denied on upload", channel=channel, user=user)
    event(slack, checked, mention)
    answer = wait_posts(slack, channel)[0]
    click = vote_click(slack, answer.params, "down", user, channel, answer.response["ts"], mention["ts"])
    action(slack, checked, click)
    view = modal_opened(slack, click["trigger_id"]).params["view"]
    comment = ("<!channel> *bold* <@U123> my password=hunter2 " * 1000)[:40_000]
    submit_modal(slack, checked, view, user, comment, "human")
    handoff = slack.wait_for_call(
        "chat.postMessage",
        lambda c: c.params.get("channel") == ESCALATION_CHANNEL and f"<@{user}>" in c.params.get("text", ""),
        ANSWER_TIMEOUT,
    )
    text = all_text(handoff.params)
    assert f"<!subteam^{ESCALATION_MENTION}>" in text and f"<@{user}>" in text
    assert "&lt;!channel&gt;" in text and "hunter2" not in text
    assert "550 Permission denied on upload" in text and "Open the answer" in text
    for block in handoff.params["blocks"]:
        assert_block_within_limits(block)
    [vote] = wait_rows(database, "event = 'vote' AND user_hash = ? AND comment IS NOT NULL", (KEYS.user_hash(user),))
    missing = handoff.params["blocks"][1]["text"]["text"]
    assert missing == "*What was missing:* " + literal(vote["comment"], 2500), "the comment as stored, escaped"
    assert "*\u200bbold*\u200b" in missing, "shown as written, not made bold"
    assert "<!" not in missing and "<@" not in missing
    thanks = wait_for_response(slack, click["response_url"], "noted what was missing")
    assert f"passed it on to <#{ESCALATION_CHANNEL}>" in thanks["text"]
    assert vote["vote"] == "down" and len(vote["comment"]) == 1000 and "hunter2" not in vote["comment"]
    assert vote["comment"].startswith("<!channel> *bold*"), "stored as written; escaped where it is shown"
    wait_rows(database, "event = 'handoff' AND user_hash = ?", (KEYS.user_hash(user),))


def test_the_modal_can_start_a_triage_in_the_answers_thread(slack: SlackStandIn, checked: BotProcess) -> None:
    user = new_id("U")
    dm = new_id("D")
    event(slack, checked, payloads.message_im("426", channel=dm, user=user))
    [answer] = wait_posts(slack, dm)
    click = vote_click(slack, answer.params, "down", user, dm, answer.response["ts"])
    action(slack, checked, click)
    view = modal_opened(slack, click["trigger_id"]).params["view"]
    since = time.monotonic()
    submit_modal(slack, checked, view, user, "", "triage")
    question = slack.wait_for_call(
        "chat.postMessage",
        lambda c: c.params.get("channel") == dm and c.params.get("thread_ts") == answer.response["ts"],
        ANSWER_TIMEOUT,
        since=since,
    )
    assert "Triage for 426" in question.params["text"]


def test_a_modal_that_cannot_open_leaves_a_button_that_opens_it(slack: SlackStandIn, checked: BotProcess) -> None:
    user = new_id("U")
    answer = command(slack, checked, "421", user=user)
    slack.fail_next("views.open", status=200, error="expired_trigger_id")
    click = vote_click(slack, answer, "down", user=user)
    action(slack, checked, click)
    note = wait_for_response(slack, click["response_url"], "could not open the form")
    value = next(e["value"] for b in note["blocks"] if b["type"] == "actions" for e in b["elements"])
    again = slack.block_actions("feedback_comment_open", value, user_id=user)
    again["container"]["is_ephemeral"] = True
    action(slack, checked, again)
    assert modal_opened(slack, again["trigger_id"]).status == 200


# ----- 5. forged and replayed -----


def test_a_forged_vote_changes_nothing_and_says_so(slack: SlackStandIn, checked: BotProcess, database: Path) -> None:
    user = new_id("U")
    answer = command(slack, checked, "425", user=user)
    genuine = feedback_element(answer)["negative_button"]["value"]
    before = len(rows(database, "event = 'vote'"))
    forgeries = [
        genuine.replace("|ftp-425|", "|ftp-530|", 1),  # another entry, old signature
        genuine.replace(read(genuine).answer_id, "AAAAAAAAAAAA"),  # another answer: a second vote on the same one
        genuine.rpartition("|")[0],  # no signature
        "not a value at all",
        KEYS.sign({"a": "x"}).replace("x", "y"),  # the signed JSON buttons carried before, edited
    ]
    for value in forgeries:
        click = slack.block_actions("answer_feedback", value, user_id=user, action_type="feedback_buttons")
        action(slack, checked, click)
        note = wait_response(slack, click["response_url"]).params
        assert "could not match that vote" in note["text"]
        assert not [c for c in slack.calls("views.open") if c.params.get("trigger_id") == click["trigger_id"]]
    forged_view = {"callback_id": "feedback_comment", "private_metadata": json.dumps({"a": "AAAAAAAAAA", "h": "x"})}
    delivery = submit_modal(slack, checked, forged_view, user, "<!channel> forged", "human")
    assert "nothing was saved" in delivery.text
    time.sleep(QUIET_SECONDS)
    assert len(rows(database, "event = 'vote'")) == before
    assert all("forged" not in all_text(p.params) for p in posts(slack, ESCALATION_CHANNEL))


def test_forget_me_deletes_only_my_rows(slack: SlackStandIn, checked: BotProcess, database: Path) -> None:
    me, other = new_id("U"), new_id("U")
    for user in (me, other):
        answer = command(slack, checked, "425", user=user)
        action(slack, checked, vote_click(slack, answer, "up", user=user))
        command(slack, checked, "zzqx nothing", user=user)
    wait_rows(database, "user_hash = ?", (KEYS.user_hash(me),), count=3)
    wait_rows(database, "user_hash = ?", (KEYS.user_hash(other),), count=3)
    delivery = slack.send_command(checked.events_url, "forget me", user_id=me)
    assert "Deleting" in delivery.json()["text"]
    done = wait_response(slack, delivery.sent["response_url"]).params
    assert done["text"].startswith("Done: I deleted 3 records")
    assert rows(database, "user_hash = ?", (KEYS.user_hash(me),)) == []
    assert len(rows(database, "user_hash = ?", (KEYS.user_hash(other),))) == 3
    usage = slack.send_command(checked.events_url, "forget everyone", user_id=me).json()
    assert "forget me" in usage["text"]


# ----- 6. triage outcomes -----


def triage_rows(database: Path, triage_id: str, event: str = "triage") -> list[dict[str, Any]]:
    return rows(database, "triage_id = ? AND event = ?", (triage_id, event))


def test_triage_outcomes_and_the_steps_before_fixed_are_stored(
    slack: SlackStandIn, checked: BotProcess, database: Path
) -> None:
    drive = Driver(slack, checked)
    user = new_id("U")
    fixed = run_to_checklist(drive, new_id("C"), user)
    triage_id = json.loads(fixed.buttons()["triage_feedback_yes"]["value"])["s"]
    drive.click(fixed, "triage_feedback_yes", user)
    wait_rows(database, "triage_id = ? AND outcome = 'resolved'", (triage_id,))
    outcomes = {r["outcome"]: r for r in triage_rows(database, triage_id)}
    assert set(outcomes) == {"started", "resolved"}
    assert outcomes["resolved"]["seconds"] >= 0 and outcomes["started"]["seconds"] is None
    assert {r["subject"] for r in outcomes.values()} == {"ftp-425"}
    assert all(r["user_hash"] == KEYS.user_hash(user) and r["channel_type"] == "channel" for r in outcomes.values())
    state = TREE.start("ftp-425")
    while (question := TREE.current_question(state)) is not None:
        state = TREE.answer(state, question.id, CHOICES_425[question.id])
    checklist = TREE.checklist(state)
    shown = {step.id for step in (*checklist.user_steps, *checklist.admin_steps)}
    assert {r["subject"] for r in triage_rows(database, triage_id, "step")} == shown

    broken = run_to_checklist(drive, new_id("C"), user)
    broken_id = json.loads(broken.buttons()["triage_feedback_no"]["value"])["s"]
    drive.click(broken, "triage_feedback_no", user)
    wait_rows(database, "triage_id = ? AND outcome = 'handed_off'", (broken_id,))
    assert triage_rows(database, broken_id, "step") == [], "steps count only before a fix"

    question = start_by_mention(drive, new_id("C"), user)
    stopped_id = json.loads(question.buttons()["triage_control_stop"]["value"])["s"]
    drive.click(question, "triage_control_stop", user)
    wait_rows(database, "triage_id = ? AND outcome = 'abandoned'", (stopped_id,))


# ----- 7. FEEDBACK_TTL_DAYS -----


def test_rows_older_than_feedback_ttl_days_are_deleted(slack: SlackStandIn, tmp_path: Path) -> None:
    database = tmp_path / "ttl.sqlite3"
    seeded = Store(f"sqlite:///{database}", feedback_secret=SECRET)
    row = {"event": "asked", "user": "U0OLD", "channel_type": "dm", "subject": "ftp-425", "query": "425"}
    seeded.record_answers([{**row, "at": time.time() - 3 * 86400}, {**row, "at": time.time() - 86400}])
    seeded.close()
    env = {**slack.bot_env("http"), "DATABASE_URL": f"sqlite:///{database}", "FEEDBACK_TTL_DAYS": "2"}
    with BotProcess(env, mode="http", standin=slack, log_path=tmp_path / "bot.log"):
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while len(rows(database)) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    [kept] = rows(database)
    assert kept["at"] > time.time() - 2 * 86400


# ----- 8. the same in Socket Mode -----


def test_a_vote_and_the_modal_in_socket_mode(slack: SlackStandIn, tmp_path: Path) -> None:
    database = tmp_path / "socket.sqlite3"
    env = {**slack.bot_env("socket"), "DATABASE_URL": f"sqlite:///{database}", "FTPCODE_FEEDBACK_SECRET": SECRET}
    with BotProcess(env, mode="socket", standin=slack, log_path=tmp_path / "bot.log") as bot:
        user, dm = new_id("U"), new_id("D")
        slack.wait_for_ack(slack.send_event_envelope(payloads.message_im("530", channel=dm, user=user)))
        [answer] = wait_posts(slack, dm)
        click = vote_click(slack, answer.params, "down", user, dm, answer.response["ts"])
        slack.wait_for_ack(slack.send_action_envelope(click))
        view = modal_opened(slack, click["trigger_id"]).params["view"]
        values = {"comment": {"comment": {"type": "plain_text_input", "value": "which port?"}}}
        submission = slack.view_submission(
            view["callback_id"], values, user_id=user, private_metadata=view["private_metadata"]
        )
        slack.wait_for_ack(slack.send_action_envelope(submission))
        [vote] = wait_rows(database, "event = 'vote' AND comment IS NOT NULL")
        assert (vote["vote"], vote["comment"], vote["channel_type"]) == ("down", "which port?", "dm")
        update = slack.wait_for_call(
            "chat.update", lambda c: c.params.get("ts") == answer.response["ts"], ANSWER_TIMEOUT
        )
        assert "You said this did not help" in all_text(update.params)
        assert "Traceback" not in bot.logs()
