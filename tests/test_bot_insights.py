"""Insights end to end: `/ftpcode stats` for admins (and a polite no for others), the App Home's figures, and
the weekly digest posted once however many replicas run, with its chart or a word about the missing extra.

The figures are checked against the bot's SQLite file, counted here with SQL of the test's own.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import digest
from bot.insights import duration, percent, step_label, subject_label
from bot.store import Store
from bot.views.block_kit import Message
from tests.slack_e2e import (
    ANSWER_TIMEOUT,
    QUIET_SECONDS,
    all_text,
    new_id,
    posts,
    responses,
    wait_quiet,
    wait_response,
)
from tests.slack_limits import assert_within_slack_limits
from tests.standin import BotProcess, SlackStandIn, payloads
from tests.test_bot_feedback import SECRET, action, modal_opened, submit_modal, vote_click
from tests.test_bot_triage import Driver, run_to_checklist, start_by_mention

ADMIN = "U0ADMIN1"
DAY = 86400


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


def bot_env(slack: SlackStandIn, database: Path, **extra: str) -> dict[str, str]:
    return {
        **slack.bot_env("http"),
        "DATABASE_URL": f"sqlite:///{database}",
        "LOG_LEVEL": "DEBUG",
        "FTPCODE_FEEDBACK_SECRET": SECRET,
        "FTPCODE_ADMINS": f"U0OTHERADMIN,{ADMIN}",
        **extra,
    }


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("insights") / "bot.sqlite3"


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, database: Path) -> Iterator[BotProcess]:
    with BotProcess(bot_env(slack, database), mode="http", standin=slack, log_path=database.parent / "bot.log") as b:
        yield b


def command(slack: SlackStandIn, bot: BotProcess, text: str, user: str) -> Any:
    delivery = slack.send_command(bot.events_url, text, user_id=user)
    assert delivery.status == 200
    return delivery


# ----- the figures, counted here -----


def query(database: Path, sql: str, *params: Any) -> list[tuple]:
    with sqlite3.connect(database) as connection:
        return connection.execute(sql, params).fetchall()


def expected_rows(database: Path, days: int, now: float) -> dict[tuple[str, str], str]:
    """(figure, item) -> value, from the database by SQL written for this test."""
    since = now - days * DAY

    def count(where: str, *params: Any) -> int:
        return query(database, f"SELECT COUNT(*) FROM feedback WHERE at >= ? AND {where}", since, *params)[0][0]

    def by(column: str, where: str) -> dict[str, int]:
        sql = f"SELECT {column}, COUNT(*) FROM feedback WHERE at >= ? AND {where} GROUP BY {column}"
        return dict(query(database, sql, since))

    rows = {
        ("Answers given", "–"): count("event = 'asked'"),
        ("Votes", "👍 helpful"): count("event = 'vote' AND vote = 'up'"),
        ("Votes", "👎 not helpful"): count("event = 'vote' AND vote = 'down'"),
        ("Found nothing", "all queries"): count("event = 'nothing'"),
    }
    rows |= {("Asked most", subject_label(s)): n for s, n in by("subject", "event = 'asked'").items()}
    rows |= {("Voted not helpful", subject_label(s)): n for s, n in by("subject", "vote = 'down'").items()}
    rows |= {("Found nothing", q): n for q, n in by("query", "event = 'nothing'").items()}
    outcomes = by("outcome", "event = 'triage'")
    for outcome in ("started", "resolved", "handed_off", "abandoned", "expired"):
        rows[("Triages", outcome.replace("_", " "))] = outcomes.get(outcome, 0)
    rows |= {("Shown before a fix", step_label(s)): n for s, n in by("subject", "event = 'step'").items()}
    handoffs = count("event = 'handoff'")
    started, resolved, handed = outcomes.get("started", 0), outcomes.get("resolved", 0), outcomes.get("handed_off", 0)
    rows[("Resolution rate", "resolved / started")] = percent(resolved / started if started else None)
    ended = resolved + handed + handoffs
    rows[("Deflection rate", "resolved without a human")] = percent(resolved / ended if ended else None)
    seconds = [
        s
        for (s,) in query(
            database, "SELECT seconds FROM feedback WHERE at >= ? AND outcome = 'resolved' AND event = 'triage'", since
        )
    ]
    rows[("Median time to resolution", "–")] = duration(statistics.median(seconds) if seconds else None)
    return {key: str(value) for key, value in rows.items()}


def table_rows(message: dict[str, Any]) -> dict[tuple[str, str], str]:
    [table] = [b for b in message["blocks"] if b["type"] == "table"]
    header, *rows = [[cell["text"] for cell in row] for row in table["rows"]]
    assert header == ["Figure", "Item", "Count"]
    return {(figure, item): value for figure, item, value in rows}


# ----- a week of activity: some through Slack, some written straight into the database -----


@pytest.fixture(scope="module")
def activity(slack: SlackStandIn, bot: BotProcess, database: Path) -> float:
    users = [new_id("U") for _ in range(3)]
    for text, user in [("425", users[0]), ("425", users[1]), ("530", users[2]), ("zzqx wibble", users[0])]:
        command(slack, bot, text, user)
    answer = command(slack, bot, "550", users[1]).json()
    action(slack, bot, vote_click(slack, answer, "up", user=users[1]))
    answer = command(slack, bot, "421", users[2]).json()
    click = vote_click(slack, answer, "down", user=users[2])
    action(slack, bot, click)
    view = modal_opened(slack, click["trigger_id"]).params["view"]
    submit_modal(slack, bot, view, users[2], "<!channel> *never* said which port", "none")
    drive = Driver(slack, bot)
    fixed = run_to_checklist(drive, new_id("C"), users[0])
    drive.click(fixed, "triage_feedback_yes", users[0])
    stopped = start_by_mention(drive, new_id("C"), users[1])
    drive.click(stopped, "triage_control_stop", users[1])
    seeded = Store(f"sqlite:///{database}", feedback_secret=SECRET)
    now = time.time()
    row = {"user": "U0SEEDED", "team_id": "T1", "channel_type": "channel"}
    seeded.record_answers(
        [{**row, "event": "asked", "subject": "ftp-530", "query": "530", "at": now - 3 * DAY}] * 4
        + [{**row, "event": "asked", "subject": "ftp-530", "query": "530", "at": now - 8 * DAY}] * 5  # not in 7d
        + [{**row, "event": "nothing", "query": "what is a fnord", "at": now - 2 * DAY}] * 2
    )
    seeded.close()
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while not query(database, "SELECT 1 FROM feedback WHERE outcome = 'abandoned'") or not query(
        database, "SELECT 1 FROM feedback WHERE comment IS NOT NULL"
    ):
        assert time.monotonic() < deadline, "the activity did not reach the database"
        time.sleep(0.05)
    wait_quiet(slack, quiet=0.5)
    return now


# ----- /ftpcode stats -----


@pytest.mark.parametrize("period", ["7d", "30d", ""])
def test_stats_for_an_admin_agree_with_the_database_to_the_row(
    slack: SlackStandIn, bot: BotProcess, database: Path, activity: float, period: str
) -> None:
    delivery = command(slack, bot, f"stats {period}".strip(), ADMIN)
    days = int(period.rstrip("d") or 30)
    assert delivery.json()["text"] == f"Counting the last {days} days…"
    message = wait_response(slack, delivery.sent["response_url"]).params
    assert message["response_type"] == "ephemeral"
    assert_within_slack_limits(Message(message["text"], message["blocks"]))
    shown = table_rows(message)
    expected = expected_rows(database, days, time.time())
    assert shown == expected
    assert shown[("Asked most", "FTP 530")] == ("5" if days == 7 else "10")
    assert shown[("Triages", "resolved")] == "1" and shown[("Triages", "abandoned")] == "1"
    fixes = [value for (figure, _), value in shown.items() if figure == "Shown before a fix"]
    assert fixes and set(fixes) == {"1"}, "each step of the one fixed triage, once"
    comments = all_text(message)
    assert "&lt;!channel&gt; *\u200bnever*\u200b said which port" in comments and "<!channel>" not in comments


@pytest.mark.parametrize("text", ["stats banana", "stats 7d 30d", "stats 365d"])
def test_stats_with_a_bad_period_get_the_usage(slack: SlackStandIn, bot: BotProcess, text: str) -> None:
    answer = command(slack, bot, text, ADMIN).json()
    assert answer["text"].startswith("Usage: `/ftpcode stats [7d|30d|90d]`")


def test_stats_are_refused_politely_to_others(slack: SlackStandIn, bot: BotProcess) -> None:
    for text in ("stats", "stats 7d", "stats banana"):
        delivery = command(slack, bot, text, new_id("U"))
        assert "FTPCODE_ADMINS" in delivery.json()["text"]
        time.sleep(0.2)
        assert responses(slack, delivery.sent["response_url"]) == [], "no figures follow"


def test_the_app_home_shows_the_figures_to_admins_only(
    slack: SlackStandIn, bot: BotProcess, database: Path, activity: float
) -> None:
    for user, admin in ((ADMIN, True), (new_id("U"), False)):
        assert slack.send_event(bot.events_url, payloads.app_home_opened(user=user)).status == 200
        view = slack.wait_for_call("views.publish", lambda c, u=user: c.params.get("user_id") == u, ANSWER_TIMEOUT)
        assert view.status == 200, view.response
        text = all_text({"blocks": view.params["view"]["blocks"]})
        assert ("For admins: the last 30 days" in text) is admin
        assert "`/ftpcode 425`" in text
        if admin:
            answers = expected_rows(database, 30, time.time())[("Answers given", "–")]
            assert f"{answers} answers" in text


# ----- the weekly digest -----


def digest_posts(slack: SlackStandIn, channel: str) -> list[Any]:
    return [p for p in posts(slack, channel) if p.status == 200]


def test_the_digest_is_posted_once_with_two_replicas_and_a_restart(slack: SlackStandIn, tmp_path: Path) -> None:
    channel = new_id("C")
    database = tmp_path / "digest.sqlite3"
    seeded = Store(f"sqlite:///{database}", feedback_secret=SECRET)
    _, ended = digest.last_week(time.time())
    row = {"user": "U0SEEDED", "channel_type": "dm", "event": "asked", "query": "425"}
    seeded.record_answers(
        [{**row, "subject": "ftp-425", "at": ended - 2 * DAY}] * 3
        + [{**row, "subject": "ftp-530", "at": ended - 9 * DAY}] * 2
    )
    seeded.close()
    env = bot_env(slack, database, FTPCODE_DIGEST_CHANNEL=channel)
    replicas = [
        BotProcess(env, mode="http", standin=slack, log_path=tmp_path / f"replica{n}.log").start() for n in (1, 2)
    ]
    try:
        for replica in replicas:
            replica.wait_ready(30)
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while not slack.workspace.shared_files or not digest_posts(slack, channel):
            assert time.monotonic() < deadline, "no digest"
            time.sleep(0.05)
        replicas[0].restart()
        time.sleep(QUIET_SECONDS)
        [posted] = digest_posts(slack, channel)
        [chart] = [f for f in slack.workspace.shared_files if f["channel"] == channel]
    finally:
        for replica in replicas:
            replica.stop()
    assert chart["content"].startswith(b"\x89PNG") and chart["filename"] == "ftpcode-week.png"
    [table] = [b for b in posted.params["blocks"] if b["type"] == "table"]
    rows = {(r[0]["text"], r[1]["text"]): [c["text"] for c in r[2:]] for r in table["rows"]}
    assert rows[("Figure", "Item")] == ["This week", "Week before"]
    assert rows[("Answers given", "–")] == ["3", "2"]
    assert rows[("Asked most", "FTP 425")] == ["3", "0"]
    assert "This week against the week before" in all_text(posted.params)
    assert len(query(database, "SELECT claim_key FROM job_claims")) == 1


def test_without_the_digest_extra_the_digest_says_so(slack: SlackStandIn, tmp_path: Path) -> None:
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text(
        "import sys\n"
        "class NoMatplotlib:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'matplotlib' or name.startswith('matplotlib.'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, NoMatplotlib())\n"
    )
    channel = new_id("C")
    env = bot_env(slack, tmp_path / "bare.sqlite3", FTPCODE_DIGEST_CHANNEL=channel)
    process = BotProcess(env, mode="http", standin=slack, log_path=tmp_path / "bare.log")
    process.env["PYTHONPATH"] = f"{hide}:{process.env['PYTHONPATH']}"
    with process:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while not digest_posts(slack, channel):
            assert time.monotonic() < deadline, "no digest"
            time.sleep(0.05)
        time.sleep(QUIET_SECONDS)
    [posted] = digest_posts(slack, channel)
    assert "pip install 'ftpcode[digest]'" in all_text(posted.params)
    assert not [f for f in slack.workspace.shared_files if f["channel"] == channel]
    assert "the digest extra is missing" in process.logs()
    assert "Traceback" not in process.logs()


def test_nothing_above_left_a_traceback(bot: BotProcess) -> None:
    assert "Traceback" not in bot.logs()
