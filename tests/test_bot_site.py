"""Site notes in Slack, end to end: the bot refuses a broken folder at start-up in one line; with the example
folder (a copy) its notes show in an answer, a scan, a triage's checklist, and route a hand-off; an edit is
picked up without a restart (within RELOAD_SECONDS, or at once on SIGHUP), and a broken edit keeps the last
good notes while the error is logged."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.site_notes import RELOAD_SECONDS
from tests.slack_e2e import ANSWER_TIMEOUT, all_text, assert_sendable, new_id, wait_posts, wait_response
from tests.standin import BotProcess, SlackStandIn, payloads
from tests.test_bot_config import assert_refused, run_bot, valid_http_env
from tests.test_bot_triage import Driver, run_to_checklist

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "knowledge" / "site-example"
ESCALATION_CHANNEL = "C0ESCALSITE"
PASSIVE_NOTE = "Our FTP servers hand out passive ports 50000-50100 only"
PASSIVE_LOG = (
    "Status:\tConnecting to 203.0.113.10:21...\n"
    "Response:\t220 FTP ready\n"
    "Command:\tUSER alice\n"
    "Response:\t331 Password required\n"
    "Command:\tPASS hunter2\n"
    "Response:\t230 Logged in\n"
    "Command:\tPASV\n"
    "Response:\t227 Entering Passive Mode (10,0,0,5,195,80)\n"
    "Command:\tMLSD\n"
    "Error:\tConnection timed out after 20 seconds of inactivity\n"
    "Error:\tFailed to retrieve directory listing"
)


# ----- a broken folder stops start-up, in one line -----


def broken_folder(tmp_path: Path, how: str) -> Path:
    directory = tmp_path / how
    shutil.copytree(EXAMPLE, directory)
    logins = directory / "logins.toml"
    if how == "toml":
        logins.write_text(logins.read_text() + "\n[[entries]\ncode = 421\n")
    elif how == "field":
        logins.write_text(logins.read_text().replace('contact = "your team lead"', 'contakt = "your team lead"'))
    elif how == "code":
        logins.write_text(logins.read_text().replace('code = "530"', 'code = "531"'))
    elif how == "files":
        for n in range(10_000):
            (directory / f"x{n:05d}.toml").write_bytes(b"[[")
    return directory


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("toml", "logins.toml: not valid TOML"),
        ("field", "logins.toml: entry 2 (code 'sftp-3'): unknown field(s) contakt"),
        ("code", "logins.toml: entry 1 (code '531'): unknown code: no knowledge entry 'ftp-531'"),
        ("files", "more than 200 .toml files"),
    ],
)
def test_the_bot_refuses_to_start_on_a_broken_folder(tmp_path: Path, how: str, says: str) -> None:
    env = valid_http_env(tmp_path) | {"FTPCODE_SITE_DIR": str(broken_folder(tmp_path, how))}
    result = run_bot(env, tmp_path)
    assert_refused(result, "FTPCODE_SITE_DIR")
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_a_site_dir_that_is_not_a_folder_is_refused(tmp_path: Path) -> None:
    result = run_bot(valid_http_env(tmp_path) | {"FTPCODE_SITE_DIR": str(tmp_path / "nowhere")}, tmp_path)
    assert_refused(result, "FTPCODE_SITE_DIR")


# ----- the notes where people look -----


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("site") / "notes"
    shutil.copytree(EXAMPLE, directory)
    return directory


def start(slack: SlackStandIn, site: Path, workdir: Path, mode: str = "http") -> BotProcess:
    env = {
        **slack.bot_env(mode),
        "DATABASE_URL": f"sqlite:///{workdir / 'bot.sqlite3'}",
        "FTPCODE_SITE_DIR": str(site),
        "TRIAGE_ESCALATION_CHANNEL": ESCALATION_CHANNEL,
    }
    return BotProcess(env, mode=mode, standin=slack, log_path=workdir / "bot.log")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    with start(slack, site, tmp_path_factory.mktemp("site-bot")) as running:
        yield running


def answer(slack: SlackStandIn, bot: BotProcess, text: str) -> dict[str, Any]:
    delivery = slack.send_command(bot.events_url, text, user_id=new_id("U"))
    assert delivery.status == 200
    return delivery.json() if delivery.body else wait_response(slack, delivery.sent["response_url"]).params


def test_a_note_shows_under_the_answer_as_the_teams_own(slack: SlackStandIn, bot: BotProcess) -> None:
    shown = answer(slack, bot, "425")
    top = next(i for i, b in enumerate(shown["blocks"]) if b["type"] == "header")
    note = shown["blocks"][top + 2]["text"]["text"]
    assert note.startswith(f":office: *At Example Corp:* {PASSIVE_NOTE}")
    assert "Passive ports: 50000-50100" in note and "`ftps://ftp.example.com:21`" in note
    assert "<https://wiki.example.com/runbooks/ftp-passive-mode|Runbook>" in note
    assert "Connect to ftp.example.com (not its IP address)" in note
    assert_sendable(shown)
    assert "At Example Corp" not in all_text(answer(slack, bot, "550")), "no note, nothing added"


def test_notes_show_in_a_scan_of_a_log(slack: SlackStandIn, bot: BotProcess) -> None:
    text = all_text(answer(slack, bot, PASSIVE_LOG))
    assert "At Example Corp:* At Example Corp this means the server lost its pasv_address" in text
    assert PASSIVE_NOTE in text, "the note of the entry the log is about"


def test_notes_show_in_the_checklist_and_route_the_hand_off(slack: SlackStandIn, bot: BotProcess) -> None:
    drive = Driver(slack, bot)
    checklist = run_to_checklist(drive, new_id("C"), "U0SITE")
    text = "\n".join(str(b) for b in checklist.blocks)
    assert PASSIVE_NOTE in text
    assert "At Example Corp (ask your server admin, " in text and "ftp-servers repository" in text
    since, _ = drive.click(checklist, "triage_feedback_no", "U0SITE")
    handed = slack.wait_for_call("chat.postMessage", lambda c: "<@U0SITE>" in c.params.get("text", ""), since=since)
    assert handed.params["channel"] == "C0NETWORK1", "425's hand-off goes to the network team's channel"
    assert not [c for c in slack.calls("chat.postMessage", since) if c.params.get("channel") == ESCALATION_CHANNEL]


# ----- reloading -----


def wait_for_answer(slack: SlackStandIn, bot: BotProcess, text: str, containing: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if containing in all_text(answer(slack, bot, text)):
            return True
        time.sleep(0.5)
    return False


def test_an_edit_is_picked_up_without_a_restart(slack: SlackStandIn, bot: BotProcess, site: Path) -> None:
    passive = site / "passive.toml"
    passive.write_text(passive.read_text().replace("50000-50100 only", "50000-50200 only, since the move"))
    assert wait_for_answer(slack, bot, "425", "50000-50200 only, since the move", RELOAD_SECONDS * 2 + 5)
    assert "site notes reloaded for Example Corp" in bot.logs()


def test_a_broken_edit_keeps_the_last_good_notes(slack: SlackStandIn, bot: BotProcess, site: Path) -> None:
    logins = site / "logins.toml"
    good = logins.read_text()
    logins.write_text(good.replace("directory accounts", "directory accounts, NEW") + "\n[[entries]\n")
    deadline = time.monotonic() + RELOAD_SECONDS * 2 + 5
    while "site notes not reloaded" not in bot.logs():
        assert time.monotonic() < deadline, "the broken edit was not noticed"
        time.sleep(0.2)
    line = next(x for x in bot.logs().splitlines() if "site notes not reloaded" in x)
    assert "logins.toml: not valid TOML" in line and "Traceback" not in bot.logs()
    kept = all_text(answer(slack, bot, "530"))
    assert "FTP accounts are directory accounts: the password" in kept and "NEW" not in kept
    assert PASSIVE_NOTE[:30] in all_text(answer(slack, bot, "425")), "the other file's notes stay too"
    logins.write_text(good.replace("expires every 90 days", "expires every 60 days"))
    assert wait_for_answer(slack, bot, "530", "expires every 60 days", RELOAD_SECONDS * 2 + 5)


def same_size_edit(path: Path, old: str, new: str) -> None:
    """An edit that keeps the file's size and modification time: only SIGHUP can make the bot notice it."""
    assert len(old) == len(new)
    before = path.stat()
    path.write_text(path.read_text().replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_sighup_reloads_at_once_in_socket_mode(slack: SlackStandIn, tmp_path: Path) -> None:
    site = tmp_path / "notes"
    shutil.copytree(EXAMPLE, site)
    bot = start(slack, site, tmp_path, mode="socket")
    with bot:
        dm = new_id("D")
        same_size_edit(site / "logins.toml", "every 90 days", "every 45 days")
        time.sleep(1)
        assert bot.pid
        reloads = bot.logs().count("site notes reloaded")  # the start-up's load logs the same line
        os.kill(bot.pid, signal.SIGHUP)
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while bot.logs().count("site notes reloaded") == reloads:
            assert time.monotonic() < deadline, "SIGHUP did not reload the notes"
            time.sleep(0.1)
        slack.wait_for_ack(slack.send_event_envelope(payloads.message_im("530", channel=dm)))
        [posted] = wait_posts(slack, dm)
        assert "every 45 days" in all_text(posted.params)
        assert bot.is_running(), "SIGHUP must not stop the bot"


def test_sighup_in_http_mode_restarts_the_workers_on_the_new_notes(slack: SlackStandIn, tmp_path: Path) -> None:
    site = tmp_path / "notes"
    shutil.copytree(EXAMPLE, site)
    bot = start(slack, site, tmp_path)
    with bot:
        same_size_edit(site / "logins.toml", "every 90 days", "every 30 days")
        assert bot.pid
        os.kill(bot.pid, signal.SIGHUP)
        assert wait_for_answer(slack, bot, "530", "every 30 days", ANSWER_TIMEOUT)
        assert bot.is_running()


def test_nothing_above_left_a_traceback(bot: BotProcess) -> None:
    assert "Traceback" not in bot.logs()
