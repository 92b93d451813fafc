"""Secrets in the running bot: tokens read from files stay out of /proc/PID/environ.

The process tests start `python -m bot` against the Slack stand-in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standin import BotProcess, SlackStandIn

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
