"""`/ftpcode 425` acknowledged: the bot against the bare Bolt app (bench/bare_app.py), HTTP and Socket Mode.

Run: python bench/bench_ack.py [--rounds 5] [--modes http,socket] [--requests-c5 1000] [--requests-c20 2000]
                              [--starts 3] [--against REV]

Every round starts each app afresh in each mode, the two apps in turn (bare first in odd rounds, the bot first in
even ones), and measures its start-up (process start to the first /healthz 200, or to the stand-in seeing the
Socket Mode connection open): the median of --starts starts of that app one after the other, each printed. The
last start then serves, in that one process: 200 warm-up commands, commands at concurrency 5 (below
saturation: what a user feels) and at concurrency 20 (two cores saturated), then the RSS of the process tree once
the bot's answers have all arrived, and the CPU the tree spent per command (/proc/PID/stat). Both apps talk to the
Slack stand-in in its own process. Each round is printed with the CPU model and the load average (the machine may
be shared), and kept in bench/results/bench_ack.json.

Targets (bot / bare): at concurrency 5, ack p50 <= 0.5x and p99 <= 0.7x; at concurrency 20, requests/s >= 1.0x
and p99 <= 1.0x; start-up <= 1.2x; RSS of the process tree <= 1.2x. Each must hold on the ratio of the medians
and in at least 4 rounds of 5 (80% of the rounds); the script prints a verdict for each.

--against REV adds the bot of that git revision (unpacked with git archive) to every round as "before", so a
change to the bot is measured before and after in the same run, against the same bare app.

--without-feedback adds the bot without feedback on its acknowledged answers (bench/bot_without_feedback.py: no
"Was this helpful?" buttons, no answer row) as "plain", and judges issue 13's target: the bot's ack p50 and p99 at
concurrency 5 <= 1.1x plain's (the buttons add no more than 10%), on the ratio of the medians and in 4 rounds of 5.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    ROOT,
    Target,
    byte_compile,
    checkout,
    command_request,
    cpu_model,
    http_app,
    http_load,
    latency_summary,
    load_average,
    prepare_database,
    print_table,
    rounds_needed,
    socket_app,
    standin_process,
    tree_cpu_seconds,
    tree_memory_mb,
    verdict,
    write_results,
)

APPS = ("bare", "bot")  # and "before", with --against
CONCURRENCIES = (5, 20)


TARGETS = (
    Target("c5_p50_ms", "ack p50, concurrency 5", 0.5),
    Target("c5_p99_ms", "ack p99, concurrency 5", 0.7),
    Target("c20_rps", "requests/s, concurrency 20", 1.0, at_least=True),
    Target("c20_p99_ms", "ack p99, concurrency 20", 1.0),
    Target("startup_s", "start-up", 1.2),
    Target("rss_mb", "RSS of the process tree", 1.2),
)
SHOWN = ("c5_p50_ms", "c5_p99_ms", "c20_p50_ms", "c20_p99_ms", "c20_rps", "startup_s", "rss_mb", "pss_mb")
SHOWN += ("c5_cpu_ms", "c20_cpu_ms")
# Issue 13: what the feedback buttons add, the bot against itself without them ("plain").
FEEDBACK_TARGETS = (
    Target("c5_p50_ms", "ack p50, concurrency 5", 1.1),
    Target("c5_p99_ms", "ack p99, concurrency 5", 1.1),
)
FEEDBACK_SHOWN = ("c5_p50_ms", "c5_p99_ms", "c20_p50_ms", "c20_p99_ms", "c5_cpu_ms", "c20_cpu_ms")


# ----- one app, one mode, one round -----


def load_http(app: Any, standin: Any, secret: str, count: int, concurrency: int) -> tuple[list[float], float, int]:
    urls = standin.response_urls(count)
    result = http_load(app.port, [command_request(secret, url) for url in urls], concurrency)
    if set(result.statuses) != {200}:
        raise RuntimeError(f"{app.name}: statuses {result.statuses}\n{app.log_tail()}")
    return result.latencies, result.wall_seconds, result.answered_in_ack


def load_socket(
    app: Any, standin: Any, count: int, concurrency: int, connection_id: int | None = None
) -> tuple[list[float], float, int]:
    """Commands over Socket Mode: on the connection `connection_id` (one of two apps connected), else the newest."""
    result = standin.socket_load(count, concurrency, connection_id=connection_id)
    if result["failures"]:
        raise RuntimeError(f"{app.name}: {result['failures']} commands not acknowledged\n{app.log_tail()}")
    return result["latencies"], result["wall_seconds"], result["answered_in_ack"]


def start_app(
    mode: str, which: str, index: int, standin: Any, settings: argparse.Namespace, workdir: Path
) -> tuple[Any, float]:
    """The app started, and its start-up: process start to the first /healthz 200, or to the stand-in seeing its
    Socket Mode connection open."""
    info = standin.info()
    root = settings.before_root if which == "before" else ROOT
    if mode == "http":
        app = http_app(which, info["http_env"], workdir, settings.database_url, root).start()
        ready = app.wait_healthz
    else:
        opened = standin.connections_opened()
        app = socket_app(which, info["socket_env"], workdir, settings.database_url, index, root).start()

        def ready() -> float:
            return standin.wait_for_connection(opened + 1, 30) - app.started_at

    try:
        return app, ready()
    except BaseException:
        app.stop()
        raise


def run_app(mode: str, which: str, index: int, standin: Any, settings: argparse.Namespace, workdir: Path) -> dict:
    info = standin.info()
    run: dict[str, Any] = {"app": which, "mode": mode, "round": index + 1, "load_before": load_average()}
    # One start is one sample of ~0.25 s that the machine's other work moves by 20-30%: the round's start-up is
    # the median of --starts starts of this app, one after the other; the last one runs the load.
    samples = []
    for _ in range(settings.starts - 1):
        app, seconds = start_app(mode, which, index, standin, settings, workdir)
        app.stop()
        samples.append(seconds)
    app, seconds = start_app(mode, which, index, standin, settings, workdir)
    samples.append(seconds)
    run["startup_s"] = statistics.median(samples)
    run["startup_samples_s"] = samples
    try:

        def load(count: int, concurrency: int) -> tuple[list[float], float, int]:
            if mode == "http":
                return load_http(app, standin, info["signing_secret"], count, concurrency)
            return load_socket(app, standin, count, concurrency)

        answered_before = standin.count("response_url")
        load(settings.warmup, 20)
        answered = 0
        for concurrency, count in zip(CONCURRENCIES, (settings.requests_c5, settings.requests_c20), strict=True):
            cpu_before = tree_cpu_seconds(app.pid)
            latencies, wall, in_ack = load(count, concurrency)
            cpu = tree_cpu_seconds(app.pid) - cpu_before
            answered += in_ack
            summary = latency_summary(latencies)
            for key in ("p50_ms", "p99_ms", "mean_ms", "max_ms"):
                run[f"c{concurrency}_{key}"] = summary[key]
            run[f"c{concurrency}_rps"] = len(latencies) / wall
            run[f"c{concurrency}_cpu_ms"] = cpu / count * 1000
        sent = settings.requests_c5 + settings.requests_c20
        if which != "bare":  # every answer, in its ack or (a pasted log) on its response_url
            posted = standin.wait_count("response_url", answered_before + sent - answered, 60) - answered_before
            run["answers"] = answered + posted
            if run["answers"] < sent:
                raise RuntimeError(f"bot answered {run['answers']} of {sent}\n{app.log_tail()}")
        run.update(tree_memory_mb(app.pid))
        app.check_alive()
    finally:
        app.stop()
    run["load_after"] = load_average()
    return run


def describe_run(run: dict[str, Any]) -> str:
    return (
        f"    {run['mode']:6} {run['app']:6}: c5 p50 {run['c5_p50_ms']:5.1f} p99 {run['c5_p99_ms']:5.1f} ms, "
        f"c20 p50 {run['c20_p50_ms']:5.1f} p99 {run['c20_p99_ms']:5.1f} ms {run['c20_rps']:5.0f}/s, "
        f"start {run['startup_s']:.3f} s ({', '.join(f'{t:.3f}' for t in run['startup_samples_s'])}), "
        f"RSS {run['rss_mb']:.1f} MB, "
        f"CPU/cmd c5 {run['c5_cpu_ms']:.2f} c20 {run['c20_cpu_ms']:.2f} ms, "
        f"load {run['load_before']:.1f}->{run['load_after']:.1f}"
    )


# ----- the verdicts -----


def judge(
    runs: list[dict[str, Any]],
    rounds: int,
    app: str = "bot",
    baseline: str = "bare",
    targets: tuple[Target, ...] = TARGETS,
    shown: tuple[str, ...] = SHOWN,
) -> dict[str, Any]:
    """`app` against `baseline` (the bare app), in the runs of one mode: per-round ratios, the ratio of the
    medians, and a verdict for every target."""
    by_round = {(r["round"], r["app"]): r for r in runs}
    ratios = [
        {key: by_round[(n, app)][key] / by_round[(n, baseline)][key] for key in shown} for n in range(1, rounds + 1)
    ]
    medians = {
        name: {key: statistics.median(r[key] for r in runs if r["app"] == name) for key in shown}
        for name in (baseline, app)
    }
    median_ratio = {key: medians[app][key] / medians[baseline][key] for key in shown}
    needed = rounds_needed(rounds)
    verdicts = {}
    for target in targets:
        in_rounds = sum(target.met(r[target.key]) for r in ratios)
        met = target.met(median_ratio[target.key]) and in_rounds >= needed
        verdicts[target.key] = {
            "target": target.describe(),
            "median_ratio": median_ratio[target.key],
            "rounds_met": in_rounds,
            "rounds_needed": needed,
            "met": met,
        }
    return {"round_ratios": ratios, "medians": medians, "median_ratios": median_ratio, "verdicts": verdicts}


def print_feedback_judged(mode: str, judged: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Issue 13's target: the bot / the bot without feedback on its answers ("plain"), round by round."""
    print(f"\n{mode}: bot / plain (the bot without the feedback buttons), round by round (load before plain, bot)")
    rows = []
    for n, ratios in enumerate(judged["round_ratios"], start=1):
        loads = "/".join(
            f"{r['load_before']:.1f}" for name in ("plain", "bot") for r in runs if r["round"] == n and r["app"] == name
        )
        marks = [
            f"{ratios[key]:.2f}{' x' if key in ('c5_p50_ms', 'c5_p99_ms') and ratios[key] > 1.1 else ''}"
            for key in FEEDBACK_SHOWN
        ]
        rows.append([str(n), loads, *marks])
    median = judged["median_ratios"]
    rows.append(["median", "", *(f"{median[key]:.2f}" for key in FEEDBACK_SHOWN)])
    print_table(["round", "load", *FEEDBACK_SHOWN], rows)
    medians = judged["medians"]
    print_table(
        ["metric", "plain", "bot", "bot/plain"],
        [[k, medians["plain"][k], medians["bot"][k], median[k]] for k in FEEDBACK_SHOWN],
    )
    print(f"\n{mode}: issue 13, what the feedback buttons add (median ratio, and rounds that met it)")
    print_verdicts(FEEDBACK_TARGETS, judged)


def print_judged(mode: str, app: str, judged: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    print(f"\n{mode}: {app} / bare, round by round (load: 1-minute average before the bare run, and the {app} run)")
    headers = ["round", "load", *(t.key for t in TARGETS), "c20_cpu_ms"]
    rows = []
    for n, ratios in enumerate(judged["round_ratios"], start=1):
        loads = "/".join(
            f"{r['load_before']:.1f}" for name in ("bare", app) for r in runs if r["round"] == n and r["app"] == name
        )
        marks = [f"{ratios[t.key]:.2f}{'' if t.met(ratios[t.key]) else ' x'}" for t in TARGETS]
        rows.append([str(n), loads, *marks, f"{ratios['c20_cpu_ms']:.2f}"])
    median = judged["median_ratios"]
    rows.append(["median", "", *(f"{median[t.key]:.2f}" for t in TARGETS), f"{median['c20_cpu_ms']:.2f}"])
    print_table(headers, rows)
    print(f"\n{mode}: medians")
    medians = judged["medians"]
    print_table(
        ["metric", "bare", app, f"{app}/bare"], [[k, medians["bare"][k], medians[app][k], median[k]] for k in SHOWN]
    )
    print(f"\n{mode}: verdicts for {app} (median ratio, and rounds that met it)")
    print_verdicts(TARGETS, judged)


def print_verdicts(targets: tuple[Target, ...], judged: dict[str, Any]) -> None:
    for target in targets:
        v = judged["verdicts"][target.key]
        print(
            f"  {target.label:28} {v['target']:8} median {v['median_ratio']:.2f}, "
            f"{v['rounds_met']}/{len(judged['round_ratios'])} rounds (need {v['rounds_needed']}): {verdict(v['met'])}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", default="http,socket")
    parser.add_argument("--requests-c5", type=int, default=1000, help="commands measured at concurrency 5")
    parser.add_argument("--requests-c20", type=int, default=2000, help="commands measured at concurrency 20")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--starts", type=int, default=3, help="starts of each app a round; start-up is their median")
    parser.add_argument("--against", help="also run the bot of this git revision, as 'before'")
    parser.add_argument(
        "--without-feedback", action="store_true", help="also run the bot without feedback buttons, as 'plain'"
    )
    settings = parser.parse_args()
    modes = settings.modes.split(",")
    apps = APPS + (("plain",) if settings.without_feedback else ()) + (("before",) if settings.against else ())
    cpu = cpu_model()
    started = time.monotonic()
    print(f"bench_ack on {cpu}: {settings.rounds} rounds, modes {', '.join(modes)}, apps {', '.join(apps)}", flush=True)
    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp,
        checkout(settings.against) as before_root,
        standin_process() as standin,
    ):
        workdir = Path(tmp)
        byte_compile(ROOT)
        settings.before_root = before_root
        settings.database_url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        prepare_database(settings.database_url)
        for index in range(settings.rounds):
            print(f"  round {index + 1} of {settings.rounds} on {cpu}, load {load_average():.2f}", flush=True)
            order = apps if index % 2 == 0 else apps[::-1]
            for mode in modes:
                for which in order:
                    run = run_app(mode, which, index, standin, settings, workdir)
                    run["cpu"] = cpu
                    runs.append(run)
                    print(describe_run(run), flush=True)
    del settings.before_root
    results: dict[str, Any] = {"settings": vars(settings), "cpu_model": cpu, "runs": runs}
    for mode in modes:
        of_mode = [r for r in runs if r["mode"] == mode]
        if settings.against:
            results[f"{mode}_before"] = judge(of_mode, settings.rounds, "before")
            print_judged(mode, "before", results[f"{mode}_before"], of_mode)
        results[mode] = judge(of_mode, settings.rounds)
        print_judged(mode, "bot", results[mode], of_mode)
        if settings.without_feedback:
            feedback = judge(of_mode, settings.rounds, "bot", "plain", FEEDBACK_TARGETS, FEEDBACK_SHOWN)
            results[f"{mode}_feedback"] = feedback
            print_feedback_judged(mode, feedback, of_mode)
    results["seconds"] = time.monotonic() - started
    path = write_results("bench_ack", results)
    print(f"\n{cpu}; {results['seconds']:.0f} s in all; results in {path}")
    return 0 if all(v["met"] for m in modes for v in results[m]["verdicts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
