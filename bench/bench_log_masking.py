"""What masking secrets costs per log record: logging with bot.logs set up, against logging with no masking,
for this checkout and for an earlier revision, in the same run.

Run: python bench/bench_log_masking.py [--against main] [--records 2000] [--rounds 3]

The records are those of Socket Mode at DEBUG: slack_sdk's "on_message invoked" line for an envelope holding a
pasted FileZilla log (about 3 kB of JSON), once with a password in it and once without, and a short line such as
Bolt logs for every request. Each goes through logger.debug() to a text handler writing to /dev/null; µs per
record is the best of --rounds, each round --records records. Each checkout is measured in its own process
(the revision given by --against is unpacked with git archive into a temporary directory); rounds alternate.
Target: none; it shows what the masking costs where it runs most, at DEBUG.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benchlib import print_table, write_results  # noqa: E402

PASSWORD = "hunter2"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _records(tree: Path) -> dict[str, str]:
    from tests.standin import payloads

    log = (tree / "tests/logs/filezilla_passive_nat.log").read_text()
    with_password = log.replace("PASS ********", f"PASS {PASSWORD}") + f"host=ftp.example.com\npassword={PASSWORD}\n"

    def envelope(text: str) -> str:
        event = payloads.message_im("here is my log:\n```" + text + "```", channel="D0BENCH")
        body = {"envelope_id": "e1", "type": "events_api", "payload": payloads.event_callback(event)}
        return f"on_message invoked: (message: {json.dumps(body)})"

    return {
        "envelope, pasted password": envelope(with_password),
        "envelope, no secret": envelope(log),
        "short line": "Message processing started (type: events_api, envelope_id: 8397e31f-c2c8-90c9-258d78d30247)",
    }


def _per_record_us(line: str, records: int) -> float:
    import logging

    logger = logging.getLogger("slack_sdk.socket_mode.builtin.client")
    for _ in range(records // 10):  # warm-up
        logger.debug(line)
    started = time.perf_counter()
    for _ in range(records):
        logger.debug(line)
    return (time.perf_counter() - started) / records * 1e6


def measure(tree: Path, records: int) -> dict[str, dict[str, float]]:
    """In this process, with `tree` first on sys.path: µs per record without masking and with bot.logs."""
    import logging
    import os

    sys.path.insert(0, str(tree))
    from bot import logs

    lines = _records(tree)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    plain = logging.StreamHandler(devnull)
    plain.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [plain]
    root.setLevel("DEBUG")
    result = {name: {"plain": _per_record_us(line, records)} for name, line in lines.items()}
    logs.setup("DEBUG", "text")
    root.handlers[0].setStream(devnull)  # type: ignore[attr-defined]
    for name, line in lines.items():
        result[name]["masked"] = _per_record_us(line, records)
    return result


def _run(tree: Path, records: int) -> dict[str, dict[str, float]]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", str(tree), "--records", str(records)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tree,
    )
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", help="the git revision to compare with (default main)")
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.records)))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-log-masking-") as before:
        archive = subprocess.run(["git", "archive", args.against], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        runs: dict[str, list[dict[str, dict[str, float]]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            runs["before"].append(_run(Path(before), args.records))
            runs["after"].append(_run(ROOT, args.records))

    def best(which: str, record: str, kind: str) -> float:
        return min(run[record][kind] for run in runs[which])

    rows, results = [], {}
    for record in runs["after"][0]:
        figures = {
            "no masking": best("after", record, "plain"),
            f"{args.against}": best("before", record, "masked"),
            "this checkout": best("after", record, "masked"),
        }
        results[record] = figures
        rows.append([record, *(f"{value:.1f}" for value in figures.values())])
    print(f"µs per DEBUG record, best of {args.rounds} rounds of {args.records}")
    print_table(["record", "no masking", f"bot.logs at {args.against}", "bot.logs here"], rows)
    write_results("log_masking", {"against": args.against, "records": args.records, "results": results, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
