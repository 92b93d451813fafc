"""`/ftpcode test HOST[:PORT] [PROTOCOL]` with the bot as a real process (HTTP mode) against the Slack stand-in
and real servers on 127.0.0.1: a healthy pyftpdlib server, one that announces a private address in PASV, and
small socket servers that count connections, hold a session open, or greet with markup.

One bot serves the module, every test as its own user; the allow-list names each server's port, and one port
(the sentinel's) is left off it, so a probe that should not happen shows as a connection there.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from knowledge.triage import load_tree
from tests.ftpservers import PASSWORD, USER, Server, _pyftpdlib_server, _socket_server
from tests.probe_helpers import write_netrc
from tests.slack_e2e import (
    QUIET_SECONDS,
    all_text,
    assert_sendable,
    bot_env,
    button_value,
    new_id,
    responses,
    wait_posts,
    wait_quiet,
    wait_response,
)
from tests.standin import BotProcess, SlackStandIn
from tests.test_bot_config import assert_refused, run_bot, valid_http_env

pytestmark = pytest.mark.service("ftp")

PER_USER_HOUR = 3
NOT_LISTED = "is not on the list of servers I may test; ask your admin to add it to FTPCODE_PROBE_ALLOW."
STEP_TIME = re.compile(r"\(\d[\d,]* ms\)")


# ----- servers -----


@dataclass
class Counted:
    """A socket server's port, and how many connections it has accepted."""

    server: Server
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> None:
        with self.lock:
            self.connections += 1


@dataclass
class Held(Counted):
    """Accepts, and says nothing until the test releases it; then greets with markup and hangs up."""

    connected: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """pyftpdlib, plain FTP; the probe logs in as alice with the credentials file the bot is given."""
    yield from _pyftpdlib_server(tmp_path_factory.mktemp("healthy"), anonymous=True)


@pytest.fixture(scope="module")
def nat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """pyftpdlib announcing 10.0.0.5 in its PASV replies, as behind a NAT nobody told it about."""
    yield from _pyftpdlib_server(tmp_path_factory.mktemp("nat"), anonymous=True, masquerade="10.0.0.5")


def _counted(reply: bytes) -> Iterator[Counted]:
    counted: Counted | None = None

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        assert counted is not None
        counted.count()
        if reply:
            conn.sendall(reply)

    for server in _socket_server(serve):
        counted = Counted(server)
        yield counted


@pytest.fixture(scope="module")
def busy_server() -> Iterator[Counted]:
    """Greets with 421 and hangs up: the probe fails at the greeting, after one connection."""
    yield from _counted(b"421 Too many users, try later\r\n")


@pytest.fixture(scope="module")
def sentinel() -> Iterator[Counted]:
    """Not on the allow-list: no probe may ever connect here."""
    yield from _counted(b"")


@pytest.fixture(scope="module")
def held() -> Iterator[Held]:
    holder: Held | None = None

    def serve(conn: socket.socket, stop: threading.Event) -> None:
        assert holder is not None
        holder.count()
        holder.connected.set()
        holder.release.wait(30)
        conn.sendall(b"220 <!channel> <@U0123|bob> &amp; welcome\r\n")

    for server in _socket_server(serve):
        holder = Held(server)
        yield holder


# ----- the bot -----


def probe_env(slack: SlackStandIn, tmp: Path, allow: str) -> dict[str, str]:
    return bot_env(slack, "http", tmp) | {
        "FTPCODE_PROBE_ALLOW": allow,
        "FTPCODE_PROBE_PER_USER_HOUR": str(PER_USER_HOUR),
        "JOB_RETRY_BASE_SECONDS": "0.1",
    }


@pytest.fixture(scope="module")
def bot_dir(tmp_path_factory: pytest.TempPathFactory, healthy: Server) -> Path:
    tmp = tmp_path_factory.mktemp("bot-probe")
    write_netrc(tmp, f"127.0.0.1:{healthy.port}", USER, PASSWORD)
    return tmp


@pytest.fixture(scope="module")
def allow(healthy: Server, nat: Server, busy_server: Counted, held: Held) -> str:
    ports = [healthy.port, nat.port, busy_server.server.port, held.server.port]
    return ",".join(f"127.0.0.0/8:{port}" for port in ports)


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, bot_dir: Path, allow: str) -> Iterator[BotProcess]:
    env = probe_env(slack, bot_dir, allow) | {"FTPCODE_PROBE_CREDENTIALS": str(bot_dir / "probe.netrc")}
    with BotProcess(env, mode="http", standin=slack, log_path=bot_dir / "bot.log") as running:
        yield running


def slash(slack: SlackStandIn, bot: BotProcess, text: str, user: str) -> tuple[dict[str, Any], str]:
    """Sends `/ftpcode {text}` as `user`: the acknowledgement's message, and the command's response_url."""
    delivery = slack.send_command(bot.events_url, text, user_id=user, channel_id=new_id("C"))
    assert delivery.status == 200, delivery.text
    ack = delivery.json()
    assert ack["response_type"] == "ephemeral"
    assert_sendable(ack)
    return ack, delivery.sent["response_url"]


def probe(slack: SlackStandIn, bot: BotProcess, target: str, user: str) -> dict[str, Any]:
    """`/ftpcode test {target}`: acknowledged with "Testing…", then answered on the response_url."""
    ack, url = slash(slack, bot, f"test {target}", user)
    assert ack["text"].startswith("Testing 127.0.0.1:") and "I will answer here" in ack["text"], ack
    answer = wait_response(slack, url, timeout=30).params
    assert answer["response_type"] == "ephemeral"
    assert_sendable(answer)
    return answer


def assert_nothing_more(slack: SlackStandIn, url: str) -> None:
    time.sleep(QUIET_SECONDS)
    assert not responses(slack, url), "the refusal in the ack was followed by a post"


# ----- a server probed, its answer -----


def test_a_healthy_server_is_probed_and_every_step_shown(slack: SlackStandIn, bot: BotProcess, healthy: Server) -> None:
    answer = probe(slack, bot, f"127.0.0.1:{healthy.port}", new_id("U"))
    text = all_text(answer)
    assert answer["blocks"][0]["text"]["text"].startswith(f"Probe of 127.0.0.1:{healthy.port}: every step passed")
    steps = [line for line in text.splitlines() if STEP_TIME.search(line)]
    titles = ["resolve", "connect", "greeting", "FEAT", "login", "PWD", "PASV", "EPSV", "data connection", "LIST"]
    for title in titles:
        assert any(f"*{title}*" in line for line in steps), f"no step {title} in {steps}"
    assert "logged in" in text and "LIST" in text and "It failed" not in text
    # The credentials file's user and password were used, and are shown nowhere.
    assert PASSWORD not in json.dumps(answer) and USER not in json.dumps(answer)
    wait_quiet(slack)
    assert PASSWORD not in bot.logs()


def test_a_private_passive_address_is_the_first_failure_and_explained(
    slack: SlackStandIn, bot: BotProcess, nat: Server
) -> None:
    answer = probe(slack, bot, f"127.0.0.1:{nat.port} ftp", new_id("U"))
    text = all_text(answer)
    assert answer["blocks"][0]["text"]["text"] == f"Probe of 127.0.0.1:{nat.port}: failed at PASV"
    assert "*It failed at PASV*" in text and "`PASV` → `227 Entering passive mode (10,0,0,5," in text
    assert "10.0.0.5" in text and "a private address" in text
    assert "Protocol: FTP, as asked." in text
    assert "show_answer_0" in {
        e["action_id"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]
    }


def test_start_triage_from_a_probe_skips_what_the_probe_learnt(
    slack: SlackStandIn, bot: BotProcess, nat: Server
) -> None:
    user = new_id("U")
    answer = probe(slack, bot, f"127.0.0.1:{nat.port}", user)
    value = button_value(answer, "start_triage")
    entry_id, prefill = json.loads(value)["e"], json.loads(value)["p"]
    assert prefill["passive-address"] == "private" and prefill["stage"] == "listing"

    click = slack.block_actions("start_triage", value, user_id=user)
    click["container"]["is_ephemeral"] = True
    click.pop("message")
    assert slack.send_action(bot.events_url, click).status == 200
    assert "direct messages" in wait_response(slack, click["response_url"]).params["text"]
    dm = slack.wait_for_call("conversations.open", lambda c: c.params.get("users") == user, timeout=10).response[
        "channel"
    ]["id"]
    root, question = wait_posts(slack, dm, 2)
    tree = load_tree()
    expected = tree.current_question(tree.start(entry_id, prefill))
    assert expected is not None and question.params["thread_ts"] == root.response["ts"]
    assert expected.text in all_text(question.params)
    assert expected.id not in prefill


# ----- refusals -----


def test_a_server_not_on_the_list_is_refused_without_a_connection(
    slack: SlackStandIn, bot: BotProcess, sentinel: Counted
) -> None:
    user = new_id("U")
    # An address: refused in the acknowledgement itself.
    ack, url = slash(slack, bot, f"test 127.0.0.1:{sentinel.server.port}", user)
    assert ack["text"] == f"127.0.0.1:{sentinel.server.port} {NOT_LISTED}"
    assert "blocks" not in ack
    assert_nothing_more(slack, url)
    # A name the list does not name: resolved (localhost, 127.0.0.1), then refused on the response_url.
    ack, url = slash(slack, bot, f"test localhost:{sentinel.server.port}", user)
    assert ack["text"].startswith(f"Testing localhost:{sentinel.server.port}")
    assert wait_response(slack, url).params["text"] == f"localhost:{sentinel.server.port} {NOT_LISTED}"
    assert sentinel.connections == 0


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        pytest.param("test", "usage", id="nothing"),
        pytest.param("test <!channel>", "usage", id="channel-ping"),  # what Slack sends for @channel
        pytest.param("test " + "a" * 10_240, "usage", id="10kB-host"),
        pytest.param("test 127.0.0.1 gopher", "usage", id="unknown-protocol"),
        pytest.param("test a b c d", "usage", id="too-many-words"),
        pytest.param("test &lt;!channel&gt;", "I cannot read '&lt;!channel&gt;' as a server", id="typed-ping"),
        pytest.param("test <@U0123|bob>:21", "I cannot read ':21' as a server", id="mention"),
        pytest.param("test ftp://alice:hunter2@127.0.0.1", "Leave the user name and password out", id="password"),
        pytest.param("test 127.0.0.1:99999", "I cannot read '127.0.0.1:99999' as a server", id="bad-port"),
        pytest.param("test 💥 ünï", "usage", id="unicode-words"),
        # Full-width digits are 127.0.0.1 once normalised (IDNA), and that port is not listed.
        pytest.param("test １２７.０.０.１:{port}", "127.0.0.1:{port} " + NOT_LISTED, id="full-width-address"),
        pytest.param("test \u202etxt.exe", "I cannot read 'that' as a server", id="bidi-override"),
    ],
)
def test_hostile_input_gets_the_usage_or_one_line(
    slack: SlackStandIn, bot: BotProcess, sentinel: Counted, text: str, answer: str
) -> None:
    port = sentinel.server.port
    ack, url = slash(slack, bot, text.format(port=port), new_id("U"))
    answer = answer.format(port=port)
    if answer == "usage":
        assert ack["text"].startswith("Test a server: /ftpcode test HOST[:PORT] [ftp|ftpes|ftps|sftp]")
        assert "`/ftpcode test ftp.example.com`" in all_text(ack)
    else:
        assert ack["text"].startswith(answer) and "\n" not in ack["text"] and "blocks" not in ack, ack
    assert "hunter2" not in json.dumps(ack)
    assert_nothing_more(slack, url)
    assert sentinel.connections == 0


# ----- limits, and the ack never waits for the probe -----


def test_the_ack_comes_at_once_and_one_probe_at_a_time_per_user(
    slack: SlackStandIn, bot: BotProcess, held: Held, healthy: Server
) -> None:
    user = new_id("U")
    ack, url = slash(slack, bot, f"test 127.0.0.1:{held.server.port}", user)
    # Acknowledged while the server has not said a word: the probe cannot have finished.
    assert ack["text"] == f"Testing 127.0.0.1:{held.server.port}… I will answer here in a few seconds."
    assert held.connected.wait(10), "the probe never connected"
    assert not responses(slack, url)

    second, second_url = slash(slack, bot, f"test 127.0.0.1:{healthy.port}", user)
    assert second["text"].startswith("Testing")
    refused = wait_response(slack, second_url).params
    assert refused["text"] == "Your previous probe is still running; one at a time, please."
    assert not responses(slack, url)

    held.release.set()
    answer = wait_response(slack, url, timeout=30).params
    assert_sendable(answer)
    text = all_text(answer)
    # The server's greeting is shown as text: no ping, no mention.
    assert "220 &lt;!channel&gt; &lt;@U0123|bob&gt; &amp;amp; welcome" in text
    assert answer["blocks"][0]["text"]["text"] == f"Probe of 127.0.0.1:{held.server.port}: failed at FEAT"
    assert held.connections == 1


def test_the_per_user_limit_holds_across_two_bot_processes(
    slack: SlackStandIn, bot: BotProcess, bot_dir: Path, allow: str, busy_server: Counted
) -> None:
    """A second replica on the same database: the user's probes on either count against one limit."""
    user = new_id("U")
    other_dir = bot_dir / "replica"
    other_dir.mkdir()
    env = probe_env(slack, bot_dir, allow)  # the same DATABASE_URL
    with BotProcess(env, mode="http", standin=slack, log_path=other_dir / "bot.log") as replica:
        replicas = [bot, replica, bot]
        for n, serving in enumerate(replicas):
            answer = probe(slack, serving, f"127.0.0.1:{busy_server.server.port}", user)
            assert answer["blocks"][0]["text"]["text"].endswith("failed at greeting"), n
        before = busy_server.connections
        ack, url = slash(slack, replica, f"test 127.0.0.1:{busy_server.server.port}", user)
        assert ack["text"].startswith("Testing")
        refused = wait_response(slack, url).params
    assert refused["text"] == (
        f"You have run {PER_USER_HOUR} probes in the last hour, the most allowed; try again in 60 minutes."
    )
    assert busy_server.connections == before
    # Someone else still may.
    assert probe(slack, bot, f"127.0.0.1:{busy_server.server.port}", new_id("U"))["text"].startswith("Probe of")


def test_an_answer_posted_again_does_not_probe_again(
    slack: SlackStandIn, bot: BotProcess, busy_server: Counted
) -> None:
    """Slack answers the first post on the response_url with a 500: the job runs again and posts the answer
    it kept in its journal; the server sees one probe."""
    wait_quiet(slack)
    before = busy_server.connections
    slack.fail_next("response_url", status=500)
    ack, url = slash(slack, bot, f"test 127.0.0.1:{busy_server.server.port}", new_id("U"))
    assert ack["text"].startswith("Testing")
    deadline = time.monotonic() + 30
    while len(posted := responses(slack, url)) < 2:
        assert time.monotonic() < deadline, f"{len(posted)} posts on the response_url"
        time.sleep(0.05)
    assert [c.status for c in posted] == [500, 200]
    assert posted[0].params == posted[1].params
    assert busy_server.connections == before + 1
    time.sleep(QUIET_SECONDS)
    assert len(responses(slack, url)) == 2, "a third post"


def test_without_an_allow_list_the_probe_is_off(
    slack: SlackStandIn, tmp_path: Path, sentinel: Counted, healthy: Server
) -> None:
    env = bot_env(slack, "http", tmp_path) | {"FTPCODE_PROBE_ALLOW": ""}
    with BotProcess(env, mode="http", standin=slack, log_path=tmp_path / "bot.log") as off:
        ack, url = slash(slack, off, f"test 127.0.0.1:{healthy.port}", new_id("U"))
        assert ack["text"] == (
            "The server probe is off here: ask your admin to list the servers it may test in FTPCODE_PROBE_ALLOW."
        )
        assert_nothing_more(slack, url)


# ----- start-up: a bad FTPCODE_PROBE_* stops the bot with one line -----


def _loose_netrc(tmp_path: Path) -> str:
    path = write_netrc(tmp_path, "ftp.example.com", "probe", "hunter2")
    path.chmod(0o644)
    return str(path)


def _not_pem(tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\nhunter2\n-----END CERTIFICATE-----\n")
    return str(path)


def _broken_netrc(tmp_path: Path) -> str:
    path = tmp_path / "broken.netrc"
    path.write_text("machine ftp.example.com login probe password hunter2 port 21\n")  # no such token
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FTPCODE_PROBE_ALLOW", lambda _: "10.0.0.0/33"),
        ("FTPCODE_PROBE_ALLOW", lambda _: "ftp.example.com:0"),
        ("FTPCODE_PROBE_ALLOW", lambda _: "[2001:db8::/32"),
        ("FTPCODE_PROBE_PER_USER_HOUR", lambda _: "0"),
        ("FTPCODE_PROBE_PER_TARGET_HOUR", lambda _: "lots"),
        ("FTPCODE_PROBE_CREDENTIALS", lambda tmp: str(tmp / "missing.netrc")),
        ("FTPCODE_PROBE_CREDENTIALS", _loose_netrc),
        ("FTPCODE_PROBE_CREDENTIALS", _broken_netrc),
        ("FTPCODE_PROBE_CA_FILE", _not_pem),
    ],
    ids=[
        "cidr",
        "port-0",
        "bracket",
        "user-hour-0",
        "target-hour-word",
        "credentials-missing",
        "credentials-readable-by-all",
        "credentials-unparsable",
        "ca-not-pem",
    ],
)
def test_a_bad_probe_setting_stops_start_up_with_one_line(tmp_path: Path, variable: str, value: Any) -> None:
    env = valid_http_env(tmp_path) | {"FTPCODE_PROBE_ALLOW": "127.0.0.1", variable: value(tmp_path)}
    result = run_bot(env, tmp_path)
    assert_refused(result, variable)
    assert "hunter2" not in result.stdout + result.stderr
