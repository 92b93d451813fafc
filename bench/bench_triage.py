"""Triage at concurrency 20: a button click to the next question being posted, against the bare app's ack.

Run: python bench/bench_triage.py [--clicks 400] [--rounds 3] [--concurrency 20]

HTTP mode, SQLite. Each of 20 threads runs triages one after another, each in a thread of its own: a signed
block_actions `start_triage` (value "ftp-425") on a message with a fresh ts, then, for every question the bot
posts, a click on its first option (value and action_id from the posted blocks), until the checklist. The time
measured is from sending a click to the arrival at the stand-in of the chat.postMessage that follows it in
that thread (the next question, or the checklist). In the same run, alternating, the bare app is driven with
signed `/ftpcode 425` commands by 20 threads; its ack latency is the yardstick.
Target: p99 (click to next question) <= 1.2x the bare app's p99 ack latency.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import (
    action_request,
    command_request,
    http_app,
    http_load,
    latency_summary,
    post,
    prepare_database,
    print_table,
    run_threads,
    standin_process,
    verdict,
    write_results,
)

from tests.standin import payloads

TARGET_RATIO = 1.2
POST_TIMEOUT = 30.0


def question_button(blocks: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """(block_id, action_id, value) of the first option of the question in `blocks`; None for a checklist."""
    for block in blocks:
        if block.get("type") == "actions" and str(block.get("block_id", "")).startswith("q:"):
            first = block["elements"][0]
            return block["block_id"], first["action_id"], first["value"]
    return None


class TriageDriver:
    """Clicks through triages from many threads; collects click-to-next-post times."""

    def __init__(self, standin: Any, port: int, secret: str) -> None:
        self.standin = standin
        self.port = port
        self.secret = secret
        self.lock = threading.Lock()
        self.start_times: list[float] = []
        self.answer_times: list[float] = []
        self.ack_times: list[float] = []
        self.questions_per_triage: list[int] = []
        self.errors: list[str] = []
        self.remaining = 0

    def click(self, payload: dict[str, Any], thread_ts: str) -> tuple[float, dict[str, Any]] | None:
        body, headers = action_request(self.secret, payload)
        sent = time.monotonic()
        status, ack_seconds, _ = post(self.port, body, headers)
        if status != 200:
            self.fail(f"status {status}")
            return None
        posted = self.standin.next_post(thread_ts, POST_TIMEOUT)
        if posted is None:
            self.fail(f"no post in thread {thread_ts} within {POST_TIMEOUT} s")
            return None
        with self.lock:
            self.ack_times.append(ack_seconds)
        return posted["t"] - sent, posted

    def fail(self, problem: str) -> None:
        with self.lock:
            self.errors.append(problem)

    def one_triage(self, user_id: str, response_url: str) -> None:
        root_ts = payloads.new_ts()
        start = payloads.block_actions(
            action_id="start_triage",
            value="ftp-425",
            user_id=user_id,
            message_ts=root_ts,
            response_url=response_url,
        )
        clicked = self.click(start, root_ts)
        if clicked is None:
            return
        seconds, posted = clicked
        with self.lock:
            self.start_times.append(seconds)
        questions = 0
        while (button := question_button(posted["blocks"])) is not None:
            questions += 1
            block_id, action_id, value = button
            answer = payloads.block_actions(
                action_id=action_id,
                value=value,
                block_id=block_id,
                user_id=user_id,
                message_ts=posted["ts"],
                response_url=response_url,
            )
            answer["message"].update(thread_ts=root_ts, blocks=posted["blocks"])
            clicked = self.click(answer, root_ts)
            if clicked is None:
                return
            seconds, posted = clicked
            with self.lock:
                self.answer_times.append(seconds)
        with self.lock:
            self.questions_per_triage.append(questions)
        self.standin.forget_thread(root_ts)

    def run(self, clicks: int, concurrency: int) -> float:
        """Triages until about `clicks` answer clicks are measured; returns the wall time."""
        urls = iter(self.standin.response_urls(clicks + 100))
        users = itertools.count(1)

        def worker() -> None:
            user_id = f"U{next(users):04d}"
            while len(self.answer_times) < clicks and len(self.errors) < 10:
                with self.lock:
                    url = next(urls, None)
                if url is None:
                    return
                self.one_triage(user_id, url)

        started = time.monotonic()
        run_threads(worker, concurrency)
        return time.monotonic() - started


def run_bot(standin: Any, settings: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    info = standin.info()
    app = http_app("bot", info["http_env"], workdir, settings.database_url).start()
    try:
        app.wait_healthz()
        TriageDriver(standin, app.port, info["signing_secret"]).run(settings.concurrency, settings.concurrency)
        driver = TriageDriver(standin, app.port, info["signing_secret"])
        wall = driver.run(settings.clicks, settings.concurrency)
        app.check_alive()
    finally:
        app.stop()
    if driver.errors:
        raise RuntimeError(f"triage run failed: {driver.errors[:3]}\n{app.log_tail()}")
    return {
        "app": "bot",
        "click_to_next_question": latency_summary(driver.answer_times),
        "start_to_first_question": latency_summary(driver.start_times),
        "click_ack": latency_summary(driver.ack_times),
        "triages": len(driver.questions_per_triage),
        "questions_per_triage": statistics.median(driver.questions_per_triage),
        "clicks_per_s": (len(driver.answer_times) + len(driver.start_times)) / wall,
    }


def run_bare(standin: Any, settings: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    info = standin.info()
    app = http_app("bare", info["http_env"], workdir, settings.database_url).start()
    try:
        app.wait_healthz()
        urls = standin.response_urls(settings.warmup + settings.clicks)
        requests = [command_request(info["signing_secret"], url) for url in urls]
        http_load(app.port, requests[: settings.warmup], settings.concurrency)
        load = http_load(app.port, requests[settings.warmup :], settings.concurrency)
        app.check_alive()
    finally:
        app.stop()
    return {"app": "bare", "ack": latency_summary(load.latencies), "rps": load.rps, "statuses": load.statuses}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=400, help="answer clicks measured per bot run")
    parser.add_argument("--warmup", type=int, default=100, help="bare-app requests before measuring")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    settings = parser.parse_args()
    started = time.monotonic()
    bot_runs, bare_runs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-triage-") as tmp, standin_process() as standin:
        workdir = Path(tmp)
        settings.database_url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        prepare_database(settings.database_url)
        for round_number in range(settings.rounds):
            bare = run_bare(standin, settings, workdir)
            bare_runs.append(bare)
            bot = run_bot(standin, settings, workdir)
            bot_runs.append(bot)
            click = bot["click_to_next_question"]
            print(
                f"  round {round_number + 1}: bare ack p50 {bare['ack']['p50_ms']:.1f} / p99 "
                f"{bare['ack']['p99_ms']:.1f} ms; bot click->question p50 {click['p50_ms']:.1f} / p99 "
                f"{click['p99_ms']:.1f} ms over {click['n']} clicks in {bot['triages']} triages",
                flush=True,
            )

    def med(runs: list[dict[str, Any]], part: str, key: str) -> float:
        return statistics.median(r[part][key] for r in runs)

    rows = [
        ["bare app: ack of /ftpcode", med(bare_runs, "ack", "p50_ms"), med(bare_runs, "ack", "p99_ms")],
        [
            "bot: click -> next question posted",
            med(bot_runs, "click_to_next_question", "p50_ms"),
            med(bot_runs, "click_to_next_question", "p99_ms"),
        ],
        [
            "bot: start_triage -> first question",
            med(bot_runs, "start_to_first_question", "p50_ms"),
            med(bot_runs, "start_to_first_question", "p99_ms"),
        ],
        [
            "bot: ack of a triage click",
            med(bot_runs, "click_ack", "p50_ms"),
            med(bot_runs, "click_ack", "p99_ms"),
        ],
    ]
    ratio = med(bot_runs, "click_to_next_question", "p99_ms") / med(bare_runs, "ack", "p99_ms")
    met = ratio <= TARGET_RATIO
    print(f"\nconcurrency {settings.concurrency}, median of {settings.rounds} runs each")
    print_table(["latency", "p50 (ms)", "p99 (ms)"], rows)
    print(
        f"\nclick->question p99 / bare ack p99 = {ratio:.2f} (target <= {TARGET_RATIO}: {verdict(met)}); "
        f"{statistics.median(r['clicks_per_s'] for r in bot_runs):.0f} clicks/s; "
        f"{statistics.median(r['questions_per_triage'] for r in bot_runs):.0f} questions per triage"
    )
    seconds = time.monotonic() - started
    path = write_results(
        "bench_triage",
        {
            "settings": {k: v for k, v in vars(settings).items()},
            "ratio_p99": ratio,
            "target_ratio": TARGET_RATIO,
            "met": met,
            "bot_runs": bot_runs,
            "bare_runs": bare_runs,
            "seconds": seconds,
        },
    )
    print(f"{seconds:.0f} s in all; results in {path}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
