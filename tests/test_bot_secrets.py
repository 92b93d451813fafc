"""Secrets in the running bot: tokens read from files stay out of /proc/PID/environ, and no log record of any
logger, at any level, holds a token or a pasted password.

The process tests start `python -m bot` against the Slack stand-in; the logging tests run bot.logs in this
process with handlers added the way other code would add them.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import logs
from tests.slack_e2e import new_id, wait_posts
from tests.standin import BotProcess, SlackStandIn, payloads

LOGS = Path(__file__).parent / "logs"
PASSWORD = "hunter2"
SIGNING_SECRET = "c0nf1g5ec7e7f00d5ca1ab1e5eed0123"


# ----- helpers -----


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (gunicorn's workers in HTTP mode)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            todo.extend(int(child) for child in (task / "children").read_text().split())
    return found


def environ_of_tree(pid: int) -> str:
    """What any process of the same user can read: /proc/PID/environ of every process in the tree."""
    return "\n".join(Path(f"/proc/{p}/environ").read_bytes().decode("utf-8", "replace") for p in process_tree(pid))


def secrets_of(standin: SlackStandIn, mode: str) -> dict[str, str]:
    """The variables that hold a secret in `mode`, with their values."""
    values = {"SLACK_BOT_TOKEN": standin.bot_token}
    if mode == "socket":
        values["SLACK_APP_TOKEN"] = standin.app_token
    else:
        values["SLACK_SIGNING_SECRET"] = standin.signing_secret
    return values


def start_bot(standin: SlackStandIn, tmp_path: Path, mode: str, env: dict[str, str]) -> BotProcess:
    base = {"SLACK_API_URL": standin.api_url, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "DEBUG"}
    bot = BotProcess(base | env, mode=mode, standin=standin, log_path=tmp_path / "bot.log", cwd=tmp_path)  # type: ignore[arg-type]
    bot.env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return bot.start().wait_ready()


def pasted_filezilla_log() -> str:
    """A FileZilla log as users paste it, its PASS line unmasked, and a line of a client config under it."""
    log = (LOGS / "filezilla_passive_nat.log").read_text().replace("PASS ********", f"PASS {PASSWORD}")
    assert f"Command:\tPASS {PASSWORD}\n" in log
    return log + f"and my settings:\nhost=ftp.example.com\npassword={PASSWORD}\n"


# ----- tokens in files -----


@pytest.mark.parametrize("mode", ["socket", "http"])
def test_secrets_from_files_stay_out_of_proc_environ(standin: SlackStandIn, tmp_path: Path, mode: str) -> None:
    env = {}
    for name, value in secrets_of(standin, mode).items():
        path = tmp_path / name.lower()
        path.write_text(value + "\n")
        path.chmod(0o600)
        env[name + "_FILE"] = str(path)
    bot = start_bot(standin, tmp_path, mode, env)
    try:
        assert bot.pid is not None
        environ = environ_of_tree(bot.pid)
        assert "SLACK_BOT_TOKEN_FILE=" in environ, "the environment was not read: nothing was checked"
        for name, value in secrets_of(standin, mode).items():
            assert value not in environ, f"{name} is readable in /proc/PID/environ"
        standin.wait_for_call("auth.test", timeout=5)  # the bot token from the file was taken by Slack
    finally:
        bot.stop()
    assert "readable by group or others" not in bot.logs()


def test_secrets_from_the_environment_stay_readable_in_proc_environ(standin: SlackStandIn, tmp_path: Path) -> None:
    """What the README says of the plain variables: the bot cannot take them back out of /proc/PID/environ."""
    bot = start_bot(standin, tmp_path, "socket", secrets_of(standin, "socket"))
    try:
        assert bot.pid is not None
        environ = environ_of_tree(bot.pid)
        assert standin.bot_token in environ and standin.app_token in environ
    finally:
        bot.stop()


# ----- Socket Mode at DEBUG: slack_sdk logs every envelope as it arrives -----


def test_debug_envelope_logging_holds_no_password_and_no_token(standin: SlackStandIn, tmp_path: Path) -> None:
    bot = start_bot(standin, tmp_path, "socket", secrets_of(standin, "socket"))
    channel = new_id("D")
    text = "here is my log:\n```" + pasted_filezilla_log() + "```"
    envelope = standin.send_event_envelope(payloads.message_im(text, channel=channel))
    standin.wait_for_ack(envelope)
    wait_posts(standin, channel)
    bot.stop()

    log = bot.logs()
    assert "on_message invoked" in log and "Command:\\tPASS" in log, "slack_sdk's envelope line is missing"
    assert "\\npassword=****" in log
    assert PASSWORD not in log
    for secret in (standin.bot_token, standin.app_token):
        assert secret.split("-")[-1] not in log


# ----- every record of every logger, whatever handler -----


@pytest.fixture
def installed() -> Iterator[io.StringIO]:
    """bot.logs set up at DEBUG with its own handler on stderr, plus a handler added afterwards by other code
    (on slack_sdk's logger, as a library or a debugging session would); yields what that second handler wrote."""
    factory, root = logging.getLogRecordFactory(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.setup("DEBUG", "text", secrets=[SIGNING_SECRET])
    stream = io.StringIO()
    added = logging.StreamHandler(stream)
    added.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    sdk = logging.getLogger("slack_sdk.socket_mode.builtin.client")
    sdk.addHandler(added)
    try:
        yield stream
    finally:
        sdk.removeHandler(added)
        logging.setLogRecordFactory(factory)
        root.handlers[:], root.level = handlers, level


def envelope_line() -> str:
    """slack_sdk's DEBUG line for an envelope holding the pasted log: JSON, so tabs and newlines are escapes."""
    event = payloads.message_im("```" + pasted_filezilla_log() + "```")
    envelope = {"envelope_id": "e1", "type": "events_api", "payload": payloads.event_callback(event)}
    return f"on_message invoked: (message: {json.dumps(envelope)})"


def test_a_handler_added_later_gets_masked_records(installed: io.StringIO) -> None:
    sdk = logging.getLogger("slack_sdk.socket_mode.builtin.client")
    sdk.debug(envelope_line())
    sdk.info("headers: %s", {"Authorization": "Bearer xoxb-1-2-s3cretB0t", "X-Secret": SIGNING_SECRET})
    logging.getLogger("slack_bolt.App").warning("refresh token %s", "xoxe-1-My0ldRefr3sh")
    logging.getLogger("slack_bolt.App").warning("rotated %s", "xoxe.xoxp-1-R0tat3dUser")
    written = installed.getvalue()
    assert "on_message invoked" in written and "Bearer xoxb-" in written
    for secret in (PASSWORD, "s3cretB0t", SIGNING_SECRET, "My0ldRefr3sh", "R0tat3dUser"):
        assert secret not in written


def test_exception_text_stack_and_arguments_are_masked(installed: io.StringIO) -> None:
    sdk = logging.getLogger("slack_sdk.socket_mode.builtin.client")
    try:
        raise ValueError(json.dumps({"text": f"Command:\tPASS {PASSWORD}"}))
    except ValueError:
        sdk.exception("failed on %r", {"token": "xapp-1-A1-2-s3cretApp"}, stack_info=True)
    sdk.error("bad arguments %d", f"password={PASSWORD}")  # formatting fails: the arguments are not printed raw
    written = installed.getvalue()
    assert "Traceback" in written and "Stack (most recent call last)" in written
    assert PASSWORD not in written and "s3cretApp" not in written


def test_json_lines_carry_the_masked_exception(installed: io.StringIO) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("bot.test_json")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"login failed: PASS {PASSWORD}")
        except RuntimeError:
            logger.exception("listener failed")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "listener failed"
    assert "RuntimeError: login failed: PASS ****" in line["error"]
    assert PASSWORD not in stream.getvalue()
