"""Run the bot (or any app honouring its environment contract) as a real process."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Literal

from tests.standin.standin import SlackStandIn

REPO_ROOT = Path(__file__).resolve().parents[2]
# Variables of the bot's contract: never inherited from the test runner's environment.
CONTRACT_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN_FILE",
    "SLACK_APP_TOKEN_FILE",
    "SLACK_SIGNING_SECRET_FILE",
    "SLACK_API_URL",
    "PORT",
    "DATABASE_URL",
    "LOG_LEVEL",
    "FTPCODE_REACTION",
)
Mode = Literal["http", "socket"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class BotProcessError(RuntimeError):
    """The process exited or did not become ready; the message carries the tail of its log."""


class BotProcess:
    """A subprocess started with `command` (default `python -m bot`) and `env` on top of a clean base.

    HTTP mode: a free PORT is chosen unless env has one; "{port}" in `command` is replaced by it.
    Socket mode: readiness is a new Socket Mode connection on `standin`.
    """

    def __init__(
        self,
        env: dict[str, str],
        mode: Mode = "http",
        standin: SlackStandIn | None = None,
        command: list[str] | None = None,
        log_path: Path | None = None,
        cwd: Path = REPO_ROOT,
    ) -> None:
        if mode not in ("http", "socket"):
            raise ValueError(f"mode must be 'http' or 'socket', not {mode!r}")
        if mode == "socket" and standin is None:
            raise ValueError("socket mode needs the stand-in to see the connection")
        self.mode = mode
        self.standin = standin
        self.cwd = cwd
        self.port = int(env["PORT"]) if "PORT" in env else free_port()
        self.env = self._build_env(env)
        self.command = [part.replace("{port}", str(self.port)) for part in command or [sys.executable, "-m", "bot"]]
        self.log_path = log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"bot-{os.getpid()}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._connections_before_start = 0

    def _build_env(self, env: dict[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES}
        python_path = [str(self.cwd), *filter(None, [base.get("PYTHONPATH")])]
        base.update({"PYTHONPATH": os.pathsep.join(python_path), "PYTHONUNBUFFERED": "1"})
        if self.mode == "http":
            base["PORT"] = str(self.port)
        base.update(env)
        return base

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        """Where Slack posts events, commands and interactivity in HTTP mode."""
        return self.url + "/slack/events"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> BotProcess:
        if self.process is not None and self.process.poll() is None:
            raise BotProcessError("already running")
        if self.standin is not None:
            self._connections_before_start = self.standin.connections_opened
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in _reap
        self._log_file.write(f"--- start {' '.join(self.command)} ---\n".encode())
        self._log_file.flush()
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def wait_ready(self, timeout: float = 20) -> BotProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._fail_if_exited()
            if self._is_ready(min(1.0, max(0.05, deadline - time.monotonic()))):
                return self
            time.sleep(0.05)
        raise BotProcessError(f"not ready within {timeout} s\n{self.log_tail()}")

    def _is_ready(self, wait: float) -> bool:
        if self.mode == "socket":
            assert self.standin is not None
            try:
                self.standin.wait_for_connection(self._connections_before_start + 1, timeout=wait)
                return True
            except TimeoutError:
                return False
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=wait) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def _fail_if_exited(self) -> None:
        if self.process is None:
            raise BotProcessError("not started")
        code = self.process.poll()
        if code is not None:
            self._reap()
            raise BotProcessError(f"exited with {code}\n{self.log_tail()}")

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then wait; SIGKILL if it does not exit within `timeout`. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return self._reap()

    def kill(self) -> int | None:
        """SIGKILL to the whole process group (a gunicorn master and its workers): a crash, not a stop."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        return self._reap()

    def _reap(self) -> int | None:
        code = self.process.returncode if self.process else None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return code

    def restart(self, timeout: float = 20) -> BotProcess:
        self.stop()
        return self.start().wait_ready(timeout)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def __enter__(self) -> BotProcess:
        return self.start().wait_ready()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
