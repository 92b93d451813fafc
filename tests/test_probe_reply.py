"""bot/probe_view.py and bot/probe_job.py in-process: any probe result, however hostile the server's text,
renders within Slack's limits with nothing that pings or links; any `/ftpcode test …` text is a request, the
usage or a one-line refusal; and a job run again after a crash or a failed post never probes a second time.

The same paths run through the real process in tests/test_bot_probe.py."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import probe_job
from bot.jobs import Job
from bot.journal import Journal, RetryLater
from bot.views import probe as probe_view
from bot.worker import Work
from knowledge.lookup import finder
from knowledge.probe.allowlist import AllowList
from knowledge.probe.config import ProbeConfig
from knowledge.probe.model import STATUSES, STEP_TITLES, Finding, ProbeResult, Refused, Step
from tests.slack_limits import assert_within_slack_limits, text_strings
from tests.test_bot_rendering import HOSTILE_MARKUP

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SERVER_TEXT = st.one_of(
    st.sampled_from(HOSTILE_MARKUP),
    st.text(max_size=60),
    st.lists(st.sampled_from([*HOSTILE_MARKUP, "`", "*", "_", "~", "220 ", "\n", "&"]), max_size=200).map("".join),
)


def assert_no_markup(params: dict[str, Any]) -> None:
    for text in [params["text"], *text_strings(params.get("blocks") or [])]:
        for forbidden in ("<!", "<@", "<#", "<http", "<mailto"):
            assert forbidden not in text, f"{forbidden!r} in {text[:300]!r}"


steps = st.builds(
    Step,
    name=st.sampled_from(sorted(STEP_TITLES)),
    status=st.sampled_from(STATUSES),
    seconds=st.floats(min_value=0, max_value=30),
    detail=SERVER_TEXT,
    command=st.one_of(st.none(), SERVER_TEXT),
    reply=st.one_of(st.none(), SERVER_TEXT),
)
findings = st.builds(
    Finding,
    id=st.just("any"),
    summary=SERVER_TEXT,
    step=st.just("pasv"),
    entry_id=st.sampled_from(["ftp-227", "ftp-425", None]),
    severity=st.sampled_from(["fail", "warn"]),
)


@st.composite
def results(draw: st.DrawFn) -> ProbeResult:
    result = ProbeResult(
        draw(st.sampled_from(["127.0.0.1", "ftp.example.com", "2001:db8::1"])),
        draw(st.integers(1, 65535)),
        draw(st.sampled_from(["ftp", "ftpes", "ftps", "sftp"])),
        draw(SERVER_TEXT),
        draw(st.booleans()),
    )
    result.steps = draw(st.lists(steps, max_size=30))
    result.findings = draw(st.lists(findings, max_size=12))
    result.codes = draw(st.lists(st.sampled_from([e.id for e in finder().kb.entries[:40]]), max_size=6, unique=True))
    result.triage_prefill = {"protocol": "ftp", "passive-address": "private"}
    return result


@SETTINGS
@given(results())
def test_any_probe_result_renders_safely(result: ProbeResult) -> None:
    message = probe_view.probe_message(result)
    assert_within_slack_limits(message)
    assert_no_markup(message.kwargs())


@pytest.mark.parametrize("count", [1, 16, 60])
@pytest.mark.parametrize("char", ["<", "a"])
def test_the_longest_result_still_fits(count: int, char: str) -> None:
    """Every text at its longest, and `<` (escaped to four characters) everywhere."""
    result = ProbeResult("h" * 63 + ".example.com", 65535, "ftp", char * 5000, False)
    result.steps = [Step("pasv", "fail", 29.9, char * 5000, char * 5000, char * 5000) for _ in range(count)]
    result.findings = [Finding("any", char * 5000, "pasv", "ftp-227") for _ in range(20)]
    result.codes = ["ftp-227", "ftp-425", "ftp-530", "ftp-550"]
    message = probe_view.probe_message(result)
    assert_within_slack_limits(message)
    assert_no_markup(message.kwargs())


def test_a_failure_shows_its_step_reply_and_buttons() -> None:
    result = ProbeResult("127.0.0.1", 2121, "ftp", "FTP, as asked", False)
    result.steps = [
        Step("connect", "ok", 0.001, "connected to 127.0.0.1:2121"),
        Step("pasv", "fail", 0.0004, "227 Entering passive mode (10,0,0,5,4,1).", "PASV", "227 `x` <!here>"),
        Step("list", "skipped", 0.0, "not run"),
    ]
    result.findings = [Finding("pasv-private", "10.0.0.5 is a private address", "pasv", "ftp-227")]
    result.codes = ["ftp-227"]
    result.triage_prefill = {"passive-address": "private"}
    params = probe_view.probe_message(result).kwargs()
    texts = list(text_strings(params["blocks"]))
    assert params["blocks"][0]["text"]["text"] == "Probe of 127.0.0.1:2121: failed at PASV"
    assert "*It failed at PASV* (step 2 of 3)\n`PASV` → `227 'x' &lt;!here&gt;`" in texts
    assert any(":x: *PASV* (0 ms) `PASV` → 227 Entering passive mode" in t for t in texts)
    buttons = {e["action_id"]: e["value"] for b in params["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert json.loads(buttons["start_triage"]) == {"e": "ftp-227", "p": {"passive-address": "private"}}
    assert buttons["show_answer_0"] == "ftp-227"
    assert params["text"].startswith("Probe of 127.0.0.1:2121: failed at PASV. 10.0.0.5 is a private address")


# ----- the command's text -----


@SETTINGS
@given(st.one_of(st.text(max_size=400), st.lists(SERVER_TEXT, max_size=4).map(" ".join)))
def test_any_test_command_is_a_request_the_usage_or_one_line(rest: str) -> None:
    text = f"test {rest}"
    if not probe_job.is_test_command(text):
        assert "\n" in text or "```" in text
        return
    request = probe_job.parse(text)
    if request is None:
        return  # the usage
    assert len(request.target) <= probe_job.MAX_TARGET_CHARS
    config = ProbeConfig(allow=AllowList.parse("127.0.0.0/8:2121,.example.com"))
    try:
        the_plan = probe_job.screen(config, request)
    except Refused as refused:
        line = probe_view.one_line(refused.message)["text"]
        assert "\n" not in line and "<" not in line and len(line) <= 500
        return
    assert "<" not in probe_view.testing_text(the_plan.target)


@pytest.mark.parametrize(
    ("text", "is_test"),
    [
        ("test ftp.example.com", True),
        ("TEST ftp.example.com sftp", True),
        ("probe ftp.example.com", True),
        ("test", True),
        ("testing 123", False),
        ("425 test", False),
        ("test\nStatus: Connecting to 192.0.2.1:21...\nResponse: 220 ready", False),
        ("```test ftp.example.com```", False),
    ],
)
def test_what_counts_as_a_test_command(text: str, is_test: bool) -> None:
    assert probe_job.is_test_command(text) is is_test


# ----- the job: a probe at most once -----


def work_for(journal_so_far: dict[str, Any], answers: list[dict[str, Any]]) -> Work:
    job = Job("job-1", "probe", {"user": "U1", "team": "T1", "target": "127.0.0.1:2121", "protocol": None})
    job.journal.update(journal_so_far)
    config = SimpleNamespace(work_threads=8, probe=ProbeConfig(allow=AllowList.parse("127.0.0.0/8:2121")))
    return Work(
        job=job,
        client=None,  # type: ignore[arg-type]
        store=None,  # type: ignore[arg-type]
        config=config,  # type: ignore[arg-type]
        respond=lambda **message: answers.append(message),
        journal=Journal(job, lambda _job: None),
    )


@pytest.fixture
def no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the probe ran again")

    monkeypatch.setattr(probe_job, "run_probe", refuse)


def test_a_job_run_again_after_a_crash_mid_probe_does_not_probe_again(no_probe: None) -> None:
    answers: list[dict[str, Any]] = []
    probe_job.run(work_for({"0:probe_started": "an earlier run"}, answers))
    assert answers == [
        {"response_type": "ephemeral", "text": probe_view.one_line(
            "My test of 127.0.0.1:2121 was cut short when I restarted. Run /ftpcode test again."
        )["text"]}
    ]  # fmt: skip


def test_a_job_run_again_to_post_its_answer_posts_the_kept_one(no_probe: None) -> None:
    kept = {"text": "Probe of 127.0.0.1:2121: every step passed", "blocks": []}
    answers: list[dict[str, Any]] = []
    probe_job.run(work_for({"0:probe_started": "an earlier run", "1:probe": kept}, answers))
    assert answers == [{"response_type": "ephemeral", **kept}]


def test_a_probe_waits_in_the_queue_while_its_process_has_no_probe_slot(
    no_probe: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Probes hold at most half the workers: one more goes back to the queue, its journal untouched."""
    slots = threading.BoundedSemaphore(1)
    monkeypatch.setattr(probe_job, "_slots", slots)
    slots.acquire()  # another probe is running
    work = work_for({}, [])
    with pytest.raises(RetryLater):
        probe_job.run(work)
    assert work.job.journal == {}
