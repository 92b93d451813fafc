"""Logs pasted or shared with the real bot process: read, explained, passwords kept out of everything it says.

Each test starts `python -m bot` (HTTP mode through the bot_http fixture, one case in Socket Mode) against the
Slack stand-in, sends what Slack would send (a mention or DM with Slack's escaping, a shared file, the message
shortcut, a button click) and checks what reached Slack's Web API and the response_urls.
"""

from __future__ import annotations

import json
import random
import shutil
import string
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from knowledge.logscan import scan
from knowledge.lookup import finder
from knowledge.triage import load_tree
from tests.ftpservers import FILE_NAME, Server
from tests.services import need_service
from tests.slack_e2e import all_text, new_id, wait_response
from tests.standin import BotProcess, CallRecord, SlackStandIn, payloads

LOGS = Path(__file__).parent / "logs"
TIMEOUT = 15
QUIET_SECONDS = 1.0
FILE_LIMIT = 5_000_000


# ----- helpers -----


def slack_escaped(text: str) -> str:
    """A paste as Slack delivers it in an event's text: &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fenced(log: str) -> str:
    return "```" + slack_escaped(log) + "```"


def slack_link(url: str) -> str:
    """Slack turns a URL in a message into <url|url>."""
    return f"<{url}|{url}>"


def buttons(params: dict[str, Any]) -> dict[str, str]:
    """action_id -> value of every button in the message."""
    return {
        e["action_id"]: e.get("value", "")
        for b in params.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


def wait_posts(slack: SlackStandIn, channel: str, count: int = 1, method: str = "chat.postMessage") -> list[CallRecord]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        found = [c for c in slack.calls(method) if c.params.get("channel") == channel]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(found)} of {count} {method} calls to {channel} within {TIMEOUT} s")
        time.sleep(0.02)


def settle(slack: SlackStandIn) -> None:
    """Until nothing reached the stand-in for QUIET_SECONDS: every answer to what was sent is in."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        last = max((c.t for c in slack.calls()), default=0.0)
        if time.monotonic() - last >= QUIET_SECONDS:
            return
        time.sleep(0.05)


def assert_ok(call: CallRecord) -> None:
    """Slack took the message (the stand-in checks block limits as Slack does)."""
    assert call.status == 200
    if call.method != "response_url":
        assert call.response.get("ok"), call.response
    assert (call.params.get("text") or "").strip(), "no text fallback"


def everything_said(slack: SlackStandIn) -> str:
    """Every Web API call and response_url body the bot sent, and what the stand-in answered, as one string."""
    return "\n".join(json.dumps([c.path, c.params, c.response], ensure_ascii=False) for c in slack.calls())


def dm_event(text: str, channel: str, **fields: Any) -> dict[str, Any]:
    return payloads.message_im(text, channel=channel) | fields


def file_share_event(channel: str, file_id: str, text: str = "") -> dict[str, Any]:
    ts = payloads.new_ts()
    return {
        "type": "message",
        "subtype": "file_share",
        "user": "U1",
        "text": text,
        "files": [{"id": file_id}],
        "upload": False,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "channel_type": "im",
    }


def first_question(slack: SlackStandIn, channel: str, thread_ts: str) -> str:
    """The id of the first triage question posted in the thread (its buttons' block is "q:<id>")."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        for call in slack.calls("chat.postMessage"):
            if call.params.get("channel") != channel or call.params.get("thread_ts") != thread_ts:
                continue
            for block in call.params.get("blocks") or []:
                if block.get("block_id", "").startswith("q:"):
                    return block["block_id"][2:]
        time.sleep(0.02)
    raise TimeoutError(f"no triage question in {channel} thread {thread_ts}")


# ----- the logs, as users paste them -----

# The greeting gets characters Slack escapes, to see them come back once escaped, not twice.
GREETING = "220 (vsFTPd 3.0.3) <Example & Co>"
FILEZILLA_NAT = (LOGS / "filezilla_passive_nat.log").read_text().replace("220 (vsFTPd 3.0.3)", GREETING)
FILEZILLA_TLS = (LOGS / "filezilla_tls_required_timestamps.log").read_text()
SECRET = "Zq9-s3cr3t!pw"


def filezilla_mention_text() -> str:
    """What a user writes: a question with the site's URL (password in it), then the log in a code block."""
    url = f"ftp://webadmin:{SECRET}@ftp.example.com"
    return f"<@{payloads.BOT_USER_ID}> listing hangs on {slack_link(url)} since the move, log:\n{fenced(FILEZILLA_NAT)}"


def curl_log(password: str) -> str:
    """curl -v as a user runs it, the password in the URL and on the PASS line (curl prints it)."""
    return (
        f"$ curl -v ftp://kim:{password}@ftp.example.com/reports/\n"
        "*   Trying 192.0.2.80:21...\n"
        "* Connected to ftp.example.com (192.0.2.80) port 21 (#0)\n"
        "< 220 Welcome & good morning\n"
        "> USER kim\n"
        "< 331 Password required for kim\n"
        f"> PASS {password}\n"
        "< 530 Login incorrect.\n"
        "* Access denied: 530\n"
        "* Closing connection 0\n"
        "curl: (67) Access denied: 530\n"
    )


# ----- 1. a FileZilla log pasted in a mention -----


def test_filezilla_paste_in_mention_is_explained_in_the_thread(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    channel = new_id("C")
    event = payloads.app_mention("", channel=channel) | {"text": filezilla_mention_text()}
    assert standin.send_event(bot.events_url, event).status == 200

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    assert reply.params.get("thread_ts") == event["ts"]
    text = all_text(reply.params)
    header = reply.params["blocks"][0]["text"]["text"]
    assert "FileZilla" in header and "FTP" in header
    # The first failing step: the command, what came back, and the stage.
    assert "`LIST`" in text and "Connection timed out after 20 seconds" in text
    assert "data connection" in text
    # The diagnosis: a private address in the passive reply, fixed on the server's NAT settings.
    assert "10.0.0.5" in text and "private address" in text and "pasv_address" in text
    assert f"server greeting: {GREETING.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}" in text
    entry = finder().kb.by_id["ftp-425"]
    assert entry.title in text
    triage = json.loads(buttons(reply.params)["start_triage"])
    assert triage["e"] == "ftp-425"
    assert triage["p"]["protocol"] == "ftp" and triage["p"]["mode"] == "passive"
    settle(standin)
    assert SECRET not in everything_said(standin)
    assert SECRET not in bot.logs()
    # A log offers a triage by button; it does not start one unasked.
    assert len(wait_posts(standin, channel)) == 1


# ----- 2. a curl -v log in a DM: the password goes nowhere -----


def test_curl_paste_in_dm_never_repeats_the_password(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    password = "hunter2"
    channel = new_id("D")
    text = f"curl fails, why?\n{fenced(curl_log(password))}"
    text = text.replace(
        f"ftp://kim:{password}@ftp.example.com/reports/", slack_link(f"ftp://kim:{password}@ftp.example.com/reports/")
    )
    assert standin.send_event(bot.events_url, dm_event(text, channel)).status == 200

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    assert reply.params.get("thread_ts") is None
    said = all_text(reply.params)
    assert "curl" in reply.params["blocks"][0]["text"]["text"]
    assert "PASS ****" in said and "530" in said and "login" in said.lower()

    # The same paste through the message shortcut answers on a response_url: nothing there either.
    action = standin.message_action("explain_message", text, channel_id=channel)
    standin.send_action(bot.events_url, action)
    assert_ok(wait_response(standin, action["response_url"]))
    settle(standin)
    assert password not in everything_said(standin)
    assert password not in bot.logs()


# ----- 3. files shared with the bot -----


def test_shared_text_file_is_scanned(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    channel = new_id("D")
    log = (LOGS / "winscp_ftp_active_timeout.log").read_bytes()
    shared = standin.register_file("winscp.log", log)
    standin.send_event(bot.events_url, file_share_event(channel, shared["id"], "what is wrong here?"))

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    text = all_text(reply.params)
    assert "WinSCP" in reply.params["blocks"][0]["text"]["text"]
    assert "`MLSD`" in text and "425" in text and "passive mode" in text
    assert [c.params["file"] for c in standin.calls("files.download")] == [shared["id"]]
    [download] = standin.calls("files.download")
    assert download.status == 200 and download.token == standin.bot_token


def test_file_over_the_limit_is_refused_without_download(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    channel = new_id("D")
    big = standin.register_file("huge.log", b"Command:\tLIST\n" * (FILE_LIMIT // 14 + 1000))
    assert FILE_LIMIT < big["size"] < 5 * 1024 * 1024  # over 5 MB, under what the scanner itself reads
    standin.send_event(bot.events_url, file_share_event(channel, big["id"]))

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    text = all_text(reply.params)
    assert "huge.log" in text and "5.01 MB" in text and "over the 5 MB" in text
    settle(standin)
    assert standin.calls("files.download") == []


def test_image_file_is_refused(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    channel = new_id("D")
    image = standin.register_file("screenshot.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "image/png")
    standin.send_event(bot.events_url, file_share_event(channel, image["id"]))

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    assert "screenshot.png" in reply.params["text"] and "text" in reply.params["text"]
    settle(standin)
    assert standin.calls("files.download") == []


# ----- 4. the message shortcut -----


def test_explain_message_on_a_log_answers_privately(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    action = standin.message_action("explain_message", fenced(FILEZILLA_TLS))
    assert standin.send_action(bot.events_url, action).status == 200

    answer = wait_response(standin, action["response_url"])
    assert_ok(answer)
    assert answer.params["response_type"] == "ephemeral"
    expected = scan(FILEZILLA_TLS)
    assert expected.failure is not None
    text = all_text(answer.params)
    assert "FileZilla" in answer.params["blocks"][0]["text"]["text"]
    assert expected.failure.text[:40] in text
    assert finder().kb.by_id[expected.codes[0]].title in text
    assert standin.calls("chat.postMessage") == []


def test_explain_message_on_a_sentence_answers_the_code(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    action = standin.message_action("explain_message", "we got 550 again")
    standin.send_action(bot.events_url, action)

    answer = wait_response(standin, action["response_url"])
    assert_ok(answer)
    assert answer.params["response_type"] == "ephemeral"
    entry = finder().kb.by_id["ftp-550"]
    assert "550" in answer.params["blocks"][0]["text"]["text"]
    assert entry.title in all_text(answer.params)


# ----- 5. Start triage from a scan -----


def test_start_triage_from_a_scan_skips_what_the_log_answered(bot_http, standin: SlackStandIn) -> None:
    bot: BotProcess = bot_http()
    channel = new_id("C")
    event = payloads.app_mention("", channel=channel) | {"text": filezilla_mention_text()}
    standin.send_event(bot.events_url, event)
    [reply] = wait_posts(standin, channel)
    value = buttons(reply.params)["start_triage"]

    click = standin.block_actions("start_triage", value, channel_id=channel, message_ts=reply.response["ts"])
    click["message"] |= {"thread_ts": event["ts"], "blocks": reply.params["blocks"]}
    assert standin.send_action(bot.events_url, click).status == 200
    asked = first_question(standin, channel, event["ts"])

    prefill = json.loads(value)["p"]
    assert {"protocol", "mode", "client"} <= prefill.keys()
    tree = load_tree()
    state = tree.start("ftp-425", prefill)
    expected = tree.current_question(state)
    assert asked == (expected.id if expected else None)
    assert asked not in prefill
    assert asked != tree.current_question(tree.start("ftp-425")).id  # without the log it would ask more


def test_a_client_message_the_knowledge_base_lists_starts_an_informed_triage(bot_http, standin: SlackStandIn) -> None:
    """A real FileZilla log whose passive data connection timed out: no reply code in it, but FileZilla's own
    message has an entry, so the answer explains it and offers a triage that knows the mode and stage."""
    bot: BotProcess = bot_http()
    channel = new_id("D")
    log = (LOGS / "wild" / "filezilla_docker_pureftpd_pasv_timeout.log").read_text()
    standin.send_event(bot.events_url, dm_event(fenced(log), channel))
    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    entry = finder().kb.by_id["client-filezilla-connection-timed-out-20s"]
    assert entry.title in all_text(reply.params) and entry.title in reply.params["text"]
    found = buttons(reply.params)
    assert found["show_answer_0"] == entry.id
    [explain] = [e for b in reply.params["blocks"] if b["type"] == "actions" for e in b["elements"][1:]]
    assert explain["text"]["text"] == f"Explain FileZilla: {entry.title}"  # not just "Explain FileZilla"
    entry_id, prefill = json.loads(found["start_triage"])["e"], json.loads(found["start_triage"])["p"]
    assert entry_id == entry.id and prefill["mode"] == "passive" and prefill["client"] == "filezilla"

    click = standin.block_actions("start_triage", found["start_triage"], channel_id=channel,
                                  message_ts=reply.response["ts"])  # fmt: skip
    click["message"] |= {"blocks": reply.params["blocks"]}
    assert standin.send_action(bot.events_url, click).status == 200
    tree = load_tree()
    expected = tree.current_question(tree.start(entry.id, prefill))
    assert first_question(standin, channel, reply.response["ts"]) == (expected.id if expected else None)


def test_start_triage_from_a_private_answer_runs_in_a_dm(bot_http, standin: SlackStandIn) -> None:
    """The shortcut's answer is ephemeral: its Start triage opens the triage in the user's DM, prefilled."""
    bot: BotProcess = bot_http()
    action = standin.message_action("explain_message", fenced(FILEZILLA_TLS))
    standin.send_action(bot.events_url, action)
    value = buttons(wait_response(standin, action["response_url"]).params)["start_triage"]

    click = standin.block_actions("start_triage", value)
    click["container"]["is_ephemeral"] = True
    click.pop("message")
    standin.send_action(bot.events_url, click)
    note = wait_response(standin, click["response_url"])
    assert "direct messages" in note.params["text"]
    dm = standin.wait_for_call("conversations.open", timeout=TIMEOUT).response["channel"]["id"]
    [root, *_] = wait_posts(standin, dm)
    entry_id, prefill = json.loads(value)["e"], json.loads(value)["p"]
    tree = load_tree()
    expected = tree.current_question(tree.start(entry_id, prefill))
    assert first_question(standin, dm, root.response["ts"]) == (expected.id if expected else None)
    assert prefill["protocol"] == "ftp" and prefill["stage"] == "login"


# ----- 6. rubbish -----


NOT_A_LOG = "I could not find FTP commands, replies or client errors in that text."
# Letters, digits, punctuation, blanks: what a wrong file or a memory dump pasted as text looks like.
_NOISE = string.ascii_letters + string.digits + string.punctuation + " \t"
RANDOM_200K = "\n".join("".join(random.Random(n).choices(_NOISE, k=199)) for n in range(1000))


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        pytest.param("asdf qwer ;;; ]]] zzz", "Nothing found.", id="rubbish"),
        pytest.param("```" + "nothing to see here\n" * 50 + "```", NOT_A_LOG, id="fenced-prose"),
        # 200 kB hold many three-digit numbers; none of them is "the" code of the paste.
        pytest.param(RANDOM_200K, NOT_A_LOG, id="random-200k"),
    ],
)
def test_rubbish_in_a_dm_gets_a_friendly_answer(bot_http, standin: SlackStandIn, text: str, answer: str) -> None:
    bot: BotProcess = bot_http()
    channel = new_id("D")
    standin.send_event(bot.events_url, dm_event(text, channel))

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    assert reply.params["text"].startswith(answer)
    assert len(all_text(reply.params)) < 4000
    settle(standin)
    assert len(wait_posts(standin, channel)) == 1
    assert "Traceback" not in bot.logs()
    assert bot.is_running()


def test_a_code_in_a_code_block_is_answered_as_that_code(bot_http, standin: SlackStandIn) -> None:
    """One line in a code block is no log, but its code is the question."""
    bot: BotProcess = bot_http()
    channel = new_id("D")
    standin.send_event(bot.events_url, dm_event(fenced("Error: 530 Login incorrect"), channel))

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    assert reply.params["blocks"][0]["text"]["text"] == f"FTP 530: {finder().kb.by_id['ftp-530'].title}"


# ----- Socket Mode -----


@pytest.mark.parametrize(
    "log_level",
    [
        "INFO",
        "DEBUG",
    ],
)
def test_paste_in_a_mention_over_socket_mode(bot_socket, standin: SlackStandIn, log_level: str) -> None:
    bot: BotProcess = bot_socket(extra_env={"LOG_LEVEL": log_level})
    channel = new_id("C")
    event = payloads.app_mention("", channel=channel) | {"text": filezilla_mention_text()}
    envelope = standin.send_event_envelope(event)
    standin.wait_for_ack(envelope)

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    assert reply.params.get("thread_ts") == event["ts"]
    assert "private address" in all_text(reply.params)
    settle(standin)
    assert SECRET not in everything_said(standin)
    assert SECRET not in bot.logs()


# ----- the CLI renders the same scan -----


def test_cli_scan_puts_the_failure_and_its_cause_first() -> None:
    import io

    from knowledge.cli import main

    out = io.StringIO()
    assert main(["scan", str(LOGS / "winscp_ftp_active_timeout.log"), "--no-color"], out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "WinSCP log (FTP)"
    assert lines[2] == "It failed at the data connection (line 35)"
    assert lines[3] == "  • MLSD → 425 Unable to build data connection: Connection timed out"  # the code once
    assert lines[5] == "Why" and lines.index("What happened") > 5


# ----- a real client's log -----


@pytest.mark.service("ftp")
def test_real_curl_log_against_a_nat_server(bot_http, standin: SlackStandIn, nat_ftp_server: Server) -> None:
    need_service(shutil.which("curl") is not None, "curl is not installed")
    done = subprocess.run(
        ["curl", "-v", "--disable-epsv", "--no-ftp-skip-pasv-ip", "--max-time", "20", "-o", "/dev/null",
         nat_ftp_server.url(FILE_NAME)],
        capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    log = done.stderr.decode("utf-8", "replace")
    assert nat_ftp_server.password in log  # curl -v prints the PASS line as sent
    bot: BotProcess = bot_http()
    channel = new_id("D")
    standin.send_event(bot.events_url, dm_event(f"curl says:\n{fenced(log)}", channel))

    [reply] = wait_posts(standin, channel)
    assert_ok(reply)
    text = all_text(reply.params)
    assert "curl" in reply.params["blocks"][0]["text"]["text"]
    assert "10.0.0.5" in text and "private address" in text
    settle(standin)
    assert nat_ftp_server.password not in everything_said(standin)
    assert nat_ftp_server.password not in bot.logs()
