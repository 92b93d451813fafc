"""`python -m bot` refuses a bad configuration at start-up: exit status 2 and one line naming the variable,
never the value of a token. Each run is a subprocess with a clean environment in an empty directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.standin import SlackStandIn
from tests.standin.process import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
BOT_TOKEN = "xoxb-100000000001-200000000002-c0nf1gB0tT0kenSecret01"
APP_TOKEN = "xapp-1-A0CONFIG-300000000003-c0nf1gAppT0kenSecret0000000001"
SIGNING_SECRET = "c0nf1g5ec7e7f00d5ca1ab1e5eed0123"
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, "c0nf1g", "hunter2")


# ----- helpers -----


def run_bot(env: dict[str, str], cwd: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """`python -m bot` with only `env` on top of what Python needs to start; never the runner's variables."""
    base = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO_ROOT), "HOME": str(cwd), "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def valid_http_env(tmp_path: Path) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": "http://127.0.0.1:9/api/",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }


def assert_refused(result: subprocess.CompletedProcess[str], *variables: str) -> None:
    """Exit status 2, and exactly one line of output, which names every one of `variables`."""
    output = result.stdout + result.stderr
    lines = [line for line in output.splitlines() if line.strip()]
    assert result.returncode == 2, f"exit status {result.returncode}:\n{output[-2000:]}"
    assert len(lines) == 1, f"expected one line, got:\n{output[-2000:]}"
    assert lines[0].startswith("ftpcode-bot: ")
    for name in variables:
        assert name in lines[0], f"{name} not named in {lines[0]!r}"
    for secret in SECRETS:
        assert secret not in output, f"a secret value ({secret[:8]}...) was printed"


# ----- one bad variable at a time -----


def test_missing_bot_token(tmp_path: Path) -> None:
    env = valid_http_env(tmp_path)
    del env["SLACK_BOT_TOKEN"]
    assert_refused(run_bot(env, tmp_path), "SLACK_BOT_TOKEN")


@pytest.mark.parametrize(
    "token",
    [
        "xoxp-100000000001-c0nf1gUserToken",  # a user token, not a bot token
        "xoxb-100000000001-c0nf1g$ecret!",
        "Bearer " + BOT_TOKEN,
        "c0nf1gJustSomeText",
        BOT_TOKEN + " " + BOT_TOKEN,
    ],
    ids=["user_token", "bad_characters", "bearer_prefix", "no_prefix", "two_tokens"],
)
def test_malformed_bot_token(tmp_path: Path, token: str) -> None:
    env = valid_http_env(tmp_path) | {"SLACK_BOT_TOKEN": token}
    assert_refused(run_bot(env, tmp_path), "SLACK_BOT_TOKEN")


def test_malformed_app_token(tmp_path: Path) -> None:
    env = valid_http_env(tmp_path) | {"SLACK_APP_TOKEN": BOT_TOKEN}  # the bot token pasted in the wrong place
    assert_refused(run_bot(env, tmp_path), "SLACK_APP_TOKEN")


def test_neither_app_token_nor_signing_secret(tmp_path: Path) -> None:
    env = valid_http_env(tmp_path)
    del env["SLACK_SIGNING_SECRET"]
    assert_refused(run_bot(env, tmp_path), "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")


def test_malformed_signing_secret(tmp_path: Path) -> None:
    env = valid_http_env(tmp_path) | {"SLACK_SIGNING_SECRET": "c0nf1g secret with spaces"}
    assert_refused(run_bot(env, tmp_path), "SLACK_SIGNING_SECRET")


@pytest.mark.parametrize("port", ["abc", "0", "70000", "-1", "80.5", "3000x", "²"])
def test_bad_port(tmp_path: Path, port: str) -> None:
    env = valid_http_env(tmp_path) | {"PORT": port}
    assert_refused(run_bot(env, tmp_path), "PORT")


@pytest.mark.parametrize(
    "url",
    [
        "mysql://bot:hunter2@db.example/ftpcode",
        "not a url",
        "sqlite:////proc/no-such-dir/ftpcode.sqlite3",  # well-formed, but its directory cannot be created
    ],
    ids=["other_database", "not_a_url", "unusable_path"],
)
def test_bad_database_url(tmp_path: Path, url: str) -> None:
    env = valid_http_env(tmp_path) | {"DATABASE_URL": url}
    assert_refused(run_bot(env, tmp_path), "DATABASE_URL")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOG_LEVEL", "LOUD"),
        ("SLACK_API_URL", "slack.com/api"),
        ("TRIAGE_ESCALATION_CHANNEL", "#helpdesk"),
        ("HTTP_MAX_BODY_BYTES", "1MB"),
        ("HTTP_MAX_BODY_BYTES", "100"),
        ("HTTP_BODY_TIMEOUT_SECONDS", "0"),
        ("HTTP_BODY_TIMEOUT_SECONDS", "60"),
        ("HTTP_KEEPALIVE_SECONDS", "-5"),
        ("FTPCODE_REACTION", "magnifying glass"),
        ("FTPCODE_REACTION", "🔍"),
        ("FEEDBACK_TTL_DAYS", "0"),
        ("FEEDBACK_TTL_DAYS", "half a year"),
        ("FTPCODE_ADMINS", "@alice"),
        ("FTPCODE_ADMINS", "U0ALICE;U0BOB"),
        ("FTPCODE_DIGEST_CHANNEL", "#ftp-stats"),
        ("FTPCODE_FEEDBACK_SECRET", "hunter2"),
    ],
)
def test_other_bad_values(tmp_path: Path, variable: str, value: str) -> None:
    assert_refused(run_bot(valid_http_env(tmp_path) | {variable: value}, tmp_path), variable)


def test_socket_mode_without_a_bot_token(tmp_path: Path) -> None:
    env = {"SLACK_APP_TOKEN": APP_TOKEN, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"}
    assert_refused(run_bot(env, tmp_path), "SLACK_BOT_TOKEN")


# ----- the .env file -----


def test_a_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=not-a-port\n")
    assert_refused(run_bot(valid_http_env(tmp_path), tmp_path), "PORT")


def test_a_dotenv_in_a_directory_above_the_working_one_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PORT=not-a-port\n")
    (tmp_path / "below" / "further").mkdir(parents=True)
    assert_refused(run_bot(valid_http_env(tmp_path), tmp_path / "below" / "further"), "PORT")


def test_the_environment_wins_over_the_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"SLACK_BOT_TOKEN={BOT_TOKEN}\n")
    env = valid_http_env(tmp_path) | {"SLACK_BOT_TOKEN": "xoxp-c0nf1gUserToken"}
    assert_refused(run_bot(env, tmp_path), "SLACK_BOT_TOKEN")


# ----- secrets in files (SLACK_*_FILE) -----


def secret_file(tmp_path: Path, content: str, mode: int = 0o600) -> Path:
    path = tmp_path / f"secret-{len(list(tmp_path.glob('secret-*')))}"
    path.write_text(content)
    path.chmod(mode)
    return path


def test_a_token_and_its_file_both_set(tmp_path: Path) -> None:
    env = valid_http_env(tmp_path) | {"SLACK_BOT_TOKEN_FILE": str(secret_file(tmp_path, BOT_TOKEN + "\n"))}
    assert_refused(run_bot(env, tmp_path), "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN_FILE")


@pytest.mark.parametrize("target", ["missing", "directory"])
def test_a_token_file_that_cannot_be_read(tmp_path: Path, target: str) -> None:
    path = tmp_path / "no-such-file" if target == "missing" else tmp_path
    env = valid_http_env(tmp_path)
    env["SLACK_BOT_TOKEN_FILE"] = str(path)
    del env["SLACK_BOT_TOKEN"]
    assert_refused(run_bot(env, tmp_path), "SLACK_BOT_TOKEN_FILE")


@pytest.mark.parametrize(
    ("variable", "content"),
    [
        ("SLACK_BOT_TOKEN_FILE", "xoxp-100000000001-c0nf1gUserToken\n"),
        ("SLACK_BOT_TOKEN_FILE", "\n"),
        ("SLACK_APP_TOKEN_FILE", BOT_TOKEN),
        ("SLACK_SIGNING_SECRET_FILE", "c0nf1g secret with spaces\n"),
    ],
    ids=["user_token", "empty", "bot_token_as_app_token", "bad_signing_secret"],
)
def test_a_bad_secret_in_a_file_is_named_by_its_variable(tmp_path: Path, variable: str, content: str) -> None:
    env = valid_http_env(tmp_path)
    env.pop(variable.removesuffix("_FILE"), None)
    env[variable] = str(secret_file(tmp_path, content))
    assert_refused(run_bot(env, tmp_path), variable)


def lines_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def test_secrets_in_files_with_a_trailing_newline_are_read(tmp_path: Path) -> None:
    """Both files are taken (start-up gets as far as the unreachable Web API), with no warning at mode 600."""
    env = valid_http_env(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        env[name + "_FILE"] = str(secret_file(tmp_path, env.pop(name) + "\n"))
    result = run_bot(env, tmp_path)
    assert_refused(result, "SLACK_API_URL")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=["644", "640", "604"])
def test_secret_files_readable_by_others_are_warned_about(tmp_path: Path, mode: int) -> None:
    """One warning line for each: the .env loaded and a token file; start-up goes on (here to the closed port)."""
    env = valid_http_env(tmp_path)
    (tmp_path / ".env").write_text(f"SLACK_SIGNING_SECRET={env.pop('SLACK_SIGNING_SECRET')}\n")
    (tmp_path / ".env").chmod(mode)
    token_file = secret_file(tmp_path, env.pop("SLACK_BOT_TOKEN"), mode)
    env["SLACK_BOT_TOKEN_FILE"] = str(token_file)
    result = run_bot(env, tmp_path)
    [dotenv_warning, file_warning, refusal] = lines_of(result)
    assert "WARNING" in dotenv_warning and f"{tmp_path / '.env'} is readable by group or others" in dotenv_warning
    assert f"{token_file} (SLACK_BOT_TOKEN_FILE) is readable by group or others" in file_warning
    assert f"mode {mode:04o}" in file_warning
    assert "cannot reach" in refusal and result.returncode == 2
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize(("mode", "warned"), [(0o640, False), (0o644, True)], ids=["640", "644"])
def test_a_file_read_through_its_group_is_warned_about_only_when_others_can_read_it(
    tmp_path: Path, mode: int, warned: bool
) -> None:
    """As a Kubernetes secret volume: owned by someone else (root there, another user here), group-readable."""
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    env = valid_http_env(tmp_path)
    token_file = secret_file(tmp_path, env.pop("SLACK_BOT_TOKEN"), mode)
    os.chown(token_file, 12345, os.getegid())
    env["SLACK_BOT_TOKEN_FILE"] = str(token_file)
    result = run_bot(env, tmp_path)
    assert ("is readable by group or others" in result.stderr) is warned
    assert "cannot reach" in lines_of(result)[-1]


def test_a_private_dotenv_gets_no_warning(tmp_path: Path) -> None:
    env = valid_http_env(tmp_path)
    (tmp_path / ".env").write_text(f"SLACK_SIGNING_SECRET={env.pop('SLACK_SIGNING_SECRET')}\n")
    (tmp_path / ".env").chmod(0o600)
    assert_refused(run_bot(env, tmp_path), "SLACK_API_URL")


# ----- Slack itself says no, or cannot be reached -----


def test_a_token_slack_refuses_stops_start_up_with_one_line(tmp_path: Path) -> None:
    with SlackStandIn() as slack:
        env = valid_http_env(tmp_path) | {"SLACK_API_URL": slack.api_url}
        result = run_bot(env, tmp_path)  # BOT_TOKEN is not the stand-in's token: auth.test says invalid_auth
    assert_refused(result, "SLACK_BOT_TOKEN")
    assert "invalid_auth" in result.stderr


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_no_route_to_slack_stops_start_up_with_one_line(tmp_path: Path, mode: str) -> None:
    env = valid_http_env(tmp_path)  # SLACK_API_URL points at a closed port
    if mode == "socket":
        env = env | {"SLACK_APP_TOKEN": APP_TOKEN}
    result = run_bot(env, tmp_path)
    assert_refused(result, "SLACK_API_URL")
    assert "cannot reach" in result.stderr


def test_a_postgresql_server_that_refuses_stops_start_up_with_one_line(tmp_path: Path) -> None:
    url = f"postgresql://bot:hunter2@127.0.0.1:{free_port()}/ftpcode"  # nothing listens there
    result = run_bot(valid_http_env(tmp_path) | {"DATABASE_URL": url}, tmp_path)
    assert_refused(result, "DATABASE_URL")
    assert "PostgreSQL" in result.stderr and "hunter2" not in result.stderr + result.stdout
