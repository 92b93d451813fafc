"""CPU of one `/ftpcode 425` through Bolt in the bot's own process: this checkout against another revision.

Run: python bench/bench_answer_cpu.py [--against main] [--requests 1000] [--rounds 5]

What the feedback buttons and the record of each answer cost the acknowledgement, without the HTTP server and
the load generator, whose noise hides a difference of a few per cent on a busy 2-core machine (bench_ack.py
measures the whole path). Each side builds the app in a child process (`bot.app.build_app` with SQLite, the
Slack stand-in in that process for auth.test), warms up, then dispatches signed commands; the figure is the
process's CPU time (every thread: the recorder writing the answers' rows included) per dispatch. Sides
alternate, `--rounds` times; the best and the median of each are printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import print_table, write_results

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import hashlib, hmac, sys, tempfile, time, urllib.parse
sys.path.insert(0, sys.argv[1])
from bot.app import build_app
from bot.config import from_env
from bot.store import Store
from tests.standin import SlackStandIn
slack = SlackStandIn().start()
secret = slack.signing_secret
database = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
env = {"SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": slack.api_url,
       "DATABASE_URL": database}
config = from_env(env)
app = build_app(config, Store(config.database_url))
from slack_bolt.request import BoltRequest
def request():
    body = urllib.parse.urlencode({"command": "/ftpcode", "text": "425", "user_id": "U1", "team_id": "T1",
        "channel_id": "C1", "response_url": slack.new_response_url(), "trigger_id": "1.2.3"})
    ts = str(int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return BoltRequest(body=body, headers={"x-slack-request-timestamp": ts, "x-slack-signature": signature,
                                           "content-type": "application/x-www-form-urlencoded"})
requests = int(sys.argv[2])
for _ in range(300):
    assert app.dispatch(request()).status == 200
started = time.process_time()
for _ in range(requests):
    app.dispatch(request())
print((time.process_time() - started) / requests * 1e6)
app.worker.stop(0.5)
slack.stop()
"""


def one_run(tree: Path, requests: int) -> float:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(requests)], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", help="the git revision to compare with (default main)")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as before:
        archive = subprocess.run(["git", "archive", args.against], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        runs: dict[str, list[float]] = {args.against: [], "here": []}
        for _ in range(args.rounds):
            runs[args.against].append(one_run(Path(before), args.requests))
            runs["here"].append(one_run(ROOT, args.requests))
    rows = [[side, min(samples), statistics.median(samples)] for side, samples in runs.items()]
    base = min(runs[args.against])
    rows.append(["here / against (best)", min(runs["here"]) / base, ""])
    print(f"CPU per /ftpcode 425 dispatch (us), {args.requests} a run, {args.rounds} runs each, alternating")
    print_table(["side", "best", "median"], rows)
    write_results("answer_cpu", {"against": args.against, "requests": args.requests, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
