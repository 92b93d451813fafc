"""Triage clicks: a button click to the next question being posted, the bot against a bare Bolt app that makes
the same two Web API calls for each click.

Run: python bench/bench_triage.py [--rounds 5] [--clicks-c5 300] [--clicks-c20 600] [--commands 1000]
                                  [--against REV]

HTTP mode, SQLite. Every round starts each app afresh, the two in turn (bare first in odd rounds), and times, per
click, from sending it to the arrival at the stand-in of the chat.postMessage that follows it in its thread:
- the bot: threads run triages one after another, each in a thread of its own: a signed block_actions
  `start_triage` (value "ftp-425"), then a click on the first option of every question the bot posts, until the
  checklist. Measured: the answer clicks (click -> next question);
- the bare app (bench/bare_app.py with BARE_APP_TRIAGE=1), which on each click acknowledges, then posts the
  clicked message's blocks in its thread and updates the clicked message, through slack_sdk's stock WebClient:
  threads click questions of the bot's (rendered by bot/views/triage.py) the same way, 4 a triage;
  and, first, its plain ack of `/ftpcode 425` at concurrency 5 (Bolt's 10 ms poll for ack()).
Each load runs at concurrency 5, then 20, after a warm-up. Beside the latencies: the CPU the process tree spent
per click (/proc/PID/stat, over the load), and the load average.

Targets: at concurrency 20, the bot's click -> next question p99 <= 1.2x the bare app's click -> post p99; at
concurrency 5, the bot's p99 <= the bare app's plain ack p99. Each on the ratio of the medians and in at least
4 rounds of 5. --against REV adds the bot of that git revision to every round, as "before".
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from benchlib import (
    ROOT,
    Target,
    action_request,
    byte_compile,
    checkout,
    command_request,
    cpu_model,
    http_app,
    http_load,
    latency_summary,
    load_average,
    post,
    prepare_database,
    print_table,
    rounds_needed,
    run_threads,
    standin_process,
    tree_cpu_seconds,
    verdict,
    write_results,
)

from bot.views import triage as triage_view
from knowledge.triage import load_tree
from tests.standin import payloads

POST_TIMEOUT = 30.0
CHANNEL = "C1"  # where payloads.block_actions puts every click
BARE_QUESTIONS_PER_TRIAGE = 4
TARGETS = (
    Target("c20", "click -> next question p99, concurrency 20 (/ bare click -> post p99)", 1.2),
    Target("c5", "click -> next question p99, concurrency 5 (/ bare plain ack p99)", 1.0),
)


def question_button(blocks: list[dict[str, Any]]) -> tuple[str, str, str] | None:
    """(block_id, action_id, value) of the first option of the question in `blocks`; None for a checklist."""
    for block in blocks:
        if block.get("type") == "actions" and str(block.get("block_id", "")).startswith("q:"):
            first = block["elements"][0]
            return block["block_id"], first["action_id"], first["value"]
    return None


def first_question() -> dict[str, Any]:
    """The first question of a 425 triage as the bot posts it: what the bare app's clicks are made on."""
    tree = load_tree()
    question = tree.current_question(tree.start("ftp-425"))
    assert question is not None
    message = triage_view.question_message(str(uuid.uuid4()), question, 1, "425", can_go_back=False)
    return {"blocks": message.blocks, "text": message.text}


class TriageDriver:
    """Clicks through triages from many threads; collects click-to-next-post times."""

    def __init__(self, standin: Any, port: int, secret: str, bare: bool) -> None:
        self.standin = standin
        self.port = port
        self.secret = secret
        self.bare = bare
        self.question = first_question() if bare else None
        self.lock = threading.Lock()
        self.answer_times: list[float] = []
        self.ack_times: list[float] = []
        self.clicks = 0
        self.questions_per_triage: list[int] = []
        self.errors: list[str] = []

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
            self.clicks += 1
        return posted["t"] - sent, posted

    def fail(self, problem: str) -> None:
        with self.lock:
            self.errors.append(problem)

    def answer(self, posted: dict[str, Any], root_ts: str, user_id: str, response_url: str) -> dict[str, Any]:
        block_id, action_id, value = question_button(posted["blocks"]) or ("", "", "")
        payload = payloads.block_actions(
            action_id=action_id,
            value=value,
            block_id=block_id,
            user_id=user_id,
            message_ts=posted["ts"],
            message_text=posted["text"],
            response_url=response_url,
        )
        payload["message"].update(thread_ts=root_ts, blocks=posted["blocks"])
        return payload

    def one_triage(self, user_id: str, response_url: str) -> None:
        root_ts = payloads.new_ts()
        if self.bare:  # the first click is on a question posted as the thread's root
            self.standin.seed_message(CHANNEL, root_ts, self.question["text"], self.question["blocks"])
            start = self.answer({**self.question, "ts": root_ts}, root_ts, user_id, response_url)
        else:
            start = payloads.block_actions(
                action_id="start_triage",
                value="ftp-425",
                user_id=user_id,
                message_ts=root_ts,
                response_url=response_url,
            )
        clicked = self.click(start, root_ts)
        questions = 0
        while clicked is not None and question_button(clicked[1]["blocks"]) is not None:
            if self.bare and questions == BARE_QUESTIONS_PER_TRIAGE:
                break
            questions += 1
            clicked = self.click(self.answer(clicked[1], root_ts, user_id, response_url), root_ts)
            if clicked is not None:
                with self.lock:
                    self.answer_times.append(clicked[0])
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


def run_app(which: str, index: int, standin: Any, settings: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    info = standin.info()
    secret = info["signing_secret"]
    run: dict[str, Any] = {"app": which, "round": index + 1, "load_before": load_average(), "cpu": settings.cpu}
    bare = which == "bare"
    root = settings.before_root if which == "before" else ROOT
    extra = {"BARE_APP_TRIAGE": "1"} if bare else {}
    app = http_app(which, info["http_env"], workdir, settings.database_url, root, extra).start()
    try:
        app.wait_healthz()
        if bare:
            urls = standin.response_urls(settings.commands + 100)
            http_load(app.port, [command_request(secret, url) for url in urls[:100]], 20)
            load = http_load(app.port, [command_request(secret, url) for url in urls[100:]], 5)
            run["plain_ack_c5"] = latency_summary(load.latencies)
        TriageDriver(standin, app.port, secret, bare).run(20, 20)  # warm-up
        for concurrency, clicks in ((5, settings.clicks_c5), (20, settings.clicks_c20)):
            driver = TriageDriver(standin, app.port, secret, bare)
            cpu_before = tree_cpu_seconds(app.pid)
            wall = driver.run(clicks, concurrency)
            cpu = tree_cpu_seconds(app.pid) - cpu_before
            if driver.errors:
                raise RuntimeError(f"{which}: triage run failed: {driver.errors[:3]}\n{app.log_tail()}")
            run[f"c{concurrency}"] = {
                "click_to_next_post": latency_summary(driver.answer_times),
                "click_ack": latency_summary(driver.ack_times),
                "clicks_per_s": driver.clicks / wall,
                "cpu_ms_per_click": cpu / driver.clicks * 1000,
                "questions_per_triage": statistics.median(driver.questions_per_triage),
            }
        app.check_alive()
    finally:
        app.stop()
    run["load_after"] = load_average()
    return run


def describe_run(run: dict[str, Any]) -> str:
    parts = []
    if "plain_ack_c5" in run:
        parts.append(f"plain ack c5 p50 {run['plain_ack_c5']['p50_ms']:.1f} p99 {run['plain_ack_c5']['p99_ms']:.1f} ms")
    for c in (5, 20):
        m = run[f"c{c}"]
        click = m["click_to_next_post"]
        parts.append(
            f"c{c} click->post p50 {click['p50_ms']:.1f} p99 {click['p99_ms']:.1f} ms, "
            f"{m['clicks_per_s']:.0f} clicks/s, CPU {m['cpu_ms_per_click']:.2f} ms/click"
        )
    return f"    {run['app']:6}: " + "; ".join(parts) + f"; load {run['load_before']:.1f}->{run['load_after']:.1f}"


def p99(run: dict[str, Any], concurrency: int) -> float:
    return run[f"c{concurrency}"]["click_to_next_post"]["p99_ms"]


def judge(runs: list[dict[str, Any]], rounds: int, app: str = "bot") -> dict[str, Any]:
    by_round = {(r["round"], r["app"]): r for r in runs}

    def ratios(bot: dict[str, Any], bare: dict[str, Any]) -> dict[str, float]:
        return {"c20": p99(bot, 20) / p99(bare, 20), "c5": p99(bot, 5) / bare["plain_ack_c5"]["p99_ms"]}

    per_round = [ratios(by_round[(n, app)], by_round[(n, "bare")]) for n in range(1, rounds + 1)]
    of = {name: [r for r in runs if r["app"] == name] for name in ("bare", app)}
    medians = {
        "bare_click_c20_p99_ms": statistics.median(p99(r, 20) for r in of["bare"]),
        "bare_plain_ack_c5_p99_ms": statistics.median(r["plain_ack_c5"]["p99_ms"] for r in of["bare"]),
        f"{app}_click_c20_p99_ms": statistics.median(p99(r, 20) for r in of[app]),
        f"{app}_click_c5_p99_ms": statistics.median(p99(r, 5) for r in of[app]),
    }
    for name in ("bare", app):
        for c in (5, 20):
            loads = [r[f"c{c}"] for r in of[name]]
            medians[f"{name}_cpu_ms_per_click_c{c}"] = statistics.median(m["cpu_ms_per_click"] for m in loads)
            medians[f"{name}_clicks_per_s_c{c}"] = statistics.median(m["clicks_per_s"] for m in loads)
    median_ratio = {
        "c20": medians[f"{app}_click_c20_p99_ms"] / medians["bare_click_c20_p99_ms"],
        "c5": medians[f"{app}_click_c5_p99_ms"] / medians["bare_plain_ack_c5_p99_ms"],
    }
    verdicts = {}
    for target in TARGETS:
        in_rounds = sum(target.met(r[target.key]) for r in per_round)
        verdicts[target.key] = {
            "target": target.describe(),
            "median_ratio": median_ratio[target.key],
            "rounds_met": in_rounds,
            "rounds_needed": rounds_needed(rounds),
            "met": target.met(median_ratio[target.key]) and in_rounds >= rounds_needed(rounds),
        }
    return {"round_ratios": per_round, "medians": medians, "median_ratios": median_ratio, "verdicts": verdicts}


def print_judged(app: str, judged: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    print(f"\n{app} / bare, round by round (p99 ratios; CPU per click at concurrency 20, bare and {app})")
    rows = []
    for n, ratios in enumerate(judged["round_ratios"], start=1):
        bare, bot = (next(r for r in runs if (r["round"], r["app"]) == (n, name)) for name in ("bare", app))
        marks = [f"{ratios[t.key]:.2f}{'' if t.met(ratios[t.key]) else ' x'}" for t in TARGETS]
        cpu = f"{bare['c20']['cpu_ms_per_click']:.2f} / {bot['c20']['cpu_ms_per_click']:.2f}"
        rows.append([str(n), f"{bare['load_before']:.1f}/{bot['load_before']:.1f}", *marks, cpu])
    median = judged["median_ratios"]
    rows.append(["median", "", *(f"{median[t.key]:.2f}" for t in TARGETS), ""])
    print_table(["round", "load", "c20 <= 1.2x", "c5 <= 1.0x", "CPU ms/click c20"], rows)
    print()
    print_table(["median", "ms, or clicks/s"], [[k, v] for k, v in judged["medians"].items()])
    print(f"\nverdicts for {app} (median ratio, and rounds that met it)")
    for target in TARGETS:
        v = judged["verdicts"][target.key]
        print(
            f"  {target.label:70} {v['target']:8} median {v['median_ratio']:.2f}, "
            f"{v['rounds_met']}/{len(judged['round_ratios'])} rounds (need {v['rounds_needed']}): {verdict(v['met'])}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clicks-c5", type=int, default=300, help="answer clicks measured at concurrency 5")
    parser.add_argument("--clicks-c20", type=int, default=600, help="answer clicks measured at concurrency 20")
    parser.add_argument("--commands", type=int, default=1000, help="bare app: /ftpcode at concurrency 5")
    parser.add_argument("--against", help="also run the bot of this git revision, as 'before'")
    settings = parser.parse_args()
    apps = ("bare", "bot") + (("before",) if settings.against else ())
    settings.cpu = cpu_model()
    started = time.monotonic()
    print(f"bench_triage on {settings.cpu}: {settings.rounds} rounds, apps {', '.join(apps)}", flush=True)
    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-triage-") as tmp,
        checkout(settings.against) as before_root,
        standin_process() as standin,
    ):
        workdir = Path(tmp)
        byte_compile(ROOT)
        settings.before_root = before_root
        settings.database_url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        prepare_database(settings.database_url)
        for index in range(settings.rounds):
            print(f"  round {index + 1} of {settings.rounds} on {settings.cpu}, load {load_average():.2f}", flush=True)
            for which in apps if index % 2 == 0 else apps[::-1]:
                run = run_app(which, index, standin, settings, workdir)
                runs.append(run)
                print(describe_run(run), flush=True)
    del settings.before_root
    results: dict[str, Any] = {"settings": vars(settings), "cpu_model": settings.cpu, "runs": runs}
    if settings.against:
        results["before"] = judge(runs, settings.rounds, "before")
        print_judged("before", results["before"], runs)
    results["bot"] = judge(runs, settings.rounds)
    print_judged("bot", results["bot"], runs)
    results["seconds"] = time.monotonic() - started
    path = write_results("bench_triage", results)
    print(f"\n{settings.cpu}; {results['seconds']:.0f} s in all; results in {path}")
    return 0 if all(v["met"] for v in results["bot"]["verdicts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
