"""pytest fixtures: import them into tests/conftest.py.

from tests.standin.fixtures import bot_http, bot_socket, slack, standin  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.standin.process import BotProcess
from tests.standin.standin import SlackStandIn

BotFactory = Callable[..., BotProcess]


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    """One stand-in for a whole test module (each test reads only its own channels and response_urls)."""
    with SlackStandIn() as running:
        yield running


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


def _bot_factory(standin: SlackStandIn, tmp_path: Path, mode: str) -> tuple[BotFactory, list[BotProcess]]:
    started: list[BotProcess] = []

    def start(
        extra_env: dict[str, str] | None = None, command: list[str] | None = None, ready_timeout: float = 20
    ) -> BotProcess:
        index = len(started)
        env = {
            **standin.bot_env(mode),
            "DATABASE_URL": f"sqlite:///{tmp_path / f'bot-{mode}-{index}.db'}",
            "LOG_LEVEL": "DEBUG",
            **(extra_env or {}),
        }
        bot = BotProcess(
            env,
            mode=mode,  # type: ignore[arg-type]
            standin=standin,
            command=command,
            log_path=tmp_path / f"bot-{mode}-{index}.log",
        )
        started.append(bot)
        return bot.start().wait_ready(ready_timeout)

    return start, started


@pytest.fixture
def bot_http(standin: SlackStandIn, tmp_path: Path) -> Iterator[BotFactory]:
    """A factory: bot_http(extra_env=None, command=None) -> a started, ready BotProcess in HTTP mode."""
    start, started = _bot_factory(standin, tmp_path, "http")
    yield start
    for bot in started:
        bot.stop()


@pytest.fixture
def bot_socket(standin: SlackStandIn, tmp_path: Path) -> Iterator[BotFactory]:
    """A factory: bot_socket(extra_env=None, command=None) -> a started BotProcess connected in Socket Mode."""
    start, started = _bot_factory(standin, tmp_path, "socket")
    yield start
    for bot in started:
        bot.stop()
