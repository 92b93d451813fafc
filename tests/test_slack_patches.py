"""bot/slack_patches.py against the installed slack_sdk: every private part a patch relies on is still there, with
the parameters it had, and where one is not, the bot says so and runs on slack_sdk's own behaviour."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin import connection as builtin_connection

from bot import slack_patches, ws_frames
from bot.slack_patches import PATCHES, Private
from bot.socket_client import RefreshingSocketModeClient
from bot.socket_mode import Connection
from tests.standin import SlackStandIn


@pytest.fixture(autouse=True)
def checked_afresh() -> Iterator[None]:
    slack_patches.usable.cache_clear()
    yield
    slack_patches.usable.cache_clear()


def test_the_installed_slack_sdk_is_a_release_the_patches_were_written_for() -> None:
    assert slack_patches.written_for(slack_patches.installed_version()), slack_patches.installed_version()


@pytest.mark.parametrize("private", [p for patch in PATCHES for p in patch.relies_on], ids=str)
def test_what_a_patch_relies_on_is_still_in_slack_sdk_as_it_was(private: Private) -> None:
    assert private.problem() is None


def test_every_patch_applies_here() -> None:
    assert all(slack_patches.usable(patch) for patch in PATCHES)
    assert slack_patches.socket_mode_client_class() is RefreshingSocketModeClient


def test_a_changed_signature_leaves_slack_sdk_alone_and_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def changed(payload: bytes, opcode: int) -> bytes:
        return b""

    monkeypatch.setattr(builtin_connection, "_build_data_frame_for_sending", changed)
    with caplog.at_level(logging.WARNING, "bot.slack_patches"):
        assert not ws_frames.install()
        assert not ws_frames.install()
    assert builtin_connection._build_data_frame_for_sending is changed
    [warning] = caplog.messages  # once, however often it is asked
    assert "Socket Mode frame builder not applied" in warning
    assert "_build_data_frame_for_sending takes (payload, opcode), not (payload, opcode, fin" in warning


def test_a_method_gone_from_slack_sdk_keeps_its_socket_mode_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(SocketModeClient, "_on_message")
    assert slack_patches.problems(slack_patches.SOCKET_CLIENT) == [
        "slack_sdk.socket_mode.builtin.client.SocketModeClient._on_message is gone"
    ]
    assert slack_patches.socket_mode_client_class() is SocketModeClient


def test_an_attribute_no_longer_declared_is_noticed(monkeypatch: pytest.MonkeyPatch) -> None:
    annotations = dict(SocketModeClient.__annotations__)
    del annotations["current_session_state"]
    monkeypatch.setattr(SocketModeClient, "__annotations__", annotations)
    assert slack_patches.problems(slack_patches.SOCKET_CLIENT) == [
        "slack_sdk.socket_mode.builtin.client.SocketModeClient.current_session_state is no longer declared"
    ]


def test_another_slack_sdk_release_gets_no_patch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_patches, "installed_version", lambda: "3.49.0")
    assert [slack_patches.problems(patch)[0] for patch in PATCHES] == [
        "slack_sdk 3.49.0 is not one it was written for (3.47 to 3.48)"
    ] * len(PATCHES)

    class Client(WebClient):
        def _send_kept_alive(self, url: str, req: object) -> dict:
            raise AssertionError("patched")

    assert not slack_patches.apply_web_transport(Client)
    assert Client._perform_urllib_http_request_internal is WebClient._perform_urllib_http_request_internal
    assert not slack_patches.apply_frame_builder(ws_frames.build_frame)
    assert slack_patches.socket_mode_client_class() is SocketModeClient


def test_without_its_patches_the_bot_still_answers_over_socket_mode(
    standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_patches, "installed_version", lambda: "4.0.0")
    app = App(
        client=WebClient(token=standin.bot_token, base_url=standin.api_url),
        signing_secret="",
        token_verification_enabled=False,
    )

    @app.command("/ftpcode")
    def answer(ack) -> None:
        ack("looked up")

    connection = Connection(app, standin.app_token)
    assert type(connection.client) is SocketModeClient
    connection.handler.connect()
    try:
        standin.wait_for_connection(1)
        assert standin.wait_for_ack(standin.send_command_envelope("425"), 10)["payload"] == {"text": "looked up"}
    finally:
        connection.handler.close()
