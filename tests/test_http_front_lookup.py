"""Which requests HTTP mode runs on its event loop (bot/http_front.py): an /ftpcode lookup only, decided by the
command's own routing (bot/listeners/commands.py `kind_of`); everything that may wait on the database, and every
body it would have to read at length, goes to the pool."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.http_front import LOOKUP_BODY_BYTES, _is_lookup_command
from bot.listeners.commands import kind_of
from tests.standin import payloads


def body(text: str, command: str = "/ftpcode") -> bytes:
    return urlencode(
        {**payloads.command_payload(text, response_url="https://hooks.example/1"), "command": command}
    ).encode()


@pytest.mark.parametrize(
    "text",
    [
        "425",
        "530 Login incorrect",
        "ECONNREFUSED",
        "",
        "help",
        "list 4xx",
        "  425  ",
        "*425*",
        "`530`",
        "forgetful",
        "🙂 ñ 425",
    ],
)
def test_lookups_run_on_the_loop(text: str) -> None:
    assert kind_of(text.strip()) == "lookup"
    assert _is_lookup_command(body(text))


@pytest.mark.parametrize(
    "text",
    [
        "forget me",
        "forget",
        "stats",
        "stats 30d",
        "test ftp.example.com",
        "```Status: Connecting to 203.0.113.5:21...\nResponse: 530 Login incorrect```",
        "Status:\tResolving\nCommand:\tUSER a\nResponse:\t331 x\nCommand:\tPASS ****\nResponse:\t530 no",
        "x " * 2100,  # long: a paste
    ],
)
def test_what_may_wait_on_the_database_goes_to_the_pool(text: str) -> None:
    assert not _is_lookup_command(body(text))


def test_other_requests_and_long_bodies_go_to_the_pool() -> None:
    assert not _is_lookup_command(body("425", command="/other"))
    assert not _is_lookup_command(b"payload=%7B%22type%22%3A%22block_actions%22%7D")
    assert not _is_lookup_command(b'{"type": "event_callback", "text": "command=%2Fftpcode"}')
    padded = body("425") + b"&padding=" + b"x" * LOOKUP_BODY_BYTES
    assert not _is_lookup_command(padded)
    assert not _is_lookup_command(body("425") + b"&command=%2Fftpcode")  # two commands: not the form Slack sends


@given(st.binary(max_size=600))
def test_any_body_is_decided_without_an_error(raw: bytes) -> None:
    assert _is_lookup_command(raw) in (True, False)
    assert _is_lookup_command(b"command=%2Fftpcode&text=" + raw) in (True, False)
