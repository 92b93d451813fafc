"""Shared by the benchmarks: statistics, tables, result files, process trees, apps under test, the stand-in.

The Slack stand-in runs in a process of its own (a multiprocessing manager), so the work it does for the
bot (response_url posts, chat.postMessage) does not take the load generator's GIL and skew its timings.
time.monotonic() is system-wide on Linux, so times taken there and here can be compared.
"""

from __future__ import annotations

import json
import math
import os
import queue
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.managers import BaseManager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.standin import payloads  # noqa: E402
from tests.standin.delivery import signature_headers  # noqa: E402
from tests.standin.process import CONTRACT_VARIABLES, free_port  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"


# ----- statistics and output -----


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99, mean and max in milliseconds."""
    return {
        "p50_ms": percentile(seconds, 50) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "mean_ms": statistics.fmean(seconds) * 1000,
        "max_ms": max(seconds) * 1000,
        "n": len(seconds),
    }


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


@dataclass(frozen=True)
class Target:
    """A ratio target: app / baseline <= limit, or >= limit for a throughput."""

    key: str
    label: str
    limit: float
    at_least: bool = False

    def met(self, ratio: float) -> bool:
        return ratio >= self.limit if self.at_least else ratio <= self.limit

    def describe(self) -> str:
        return f"{'>=' if self.at_least else '<='} {self.limit:g}x"


def rounds_needed(rounds: int) -> int:
    """How many rounds a target must hold in: 4 of 5, 80% of any other number."""
    return math.ceil(0.8 * rounds)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    data = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "cpus": os.cpu_count(), **data}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, with the number of CPUs this process may use."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Model")):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    return f"{model} ×{len(os.sched_getaffinity(0))}"


def load_average() -> float:
    """The 1-minute load average: how busy the (possibly shared) machine was."""
    return os.getloadavg()[0]


# ----- memory of a process tree -----


def tree_pids(root_pid: int) -> list[int]:
    """root_pid and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def tree_memory_mb(root_pid: int) -> dict[str, float]:
    """RSS and PSS summed over the tree (PSS shares pages between a forked master and its workers)."""
    rss = pss = 0
    for pid in tree_pids(root_pid):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                name, _, rest = line.partition(":")
                if name == "Rss":
                    rss += int(rest.split()[0])
                elif name == "Pss":
                    pss += int(rest.split()[0])
        except OSError:
            continue
    return {"rss_mb": rss / 1024, "pss_mb": pss / 1024}


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of every process in the tree, all their threads (/proc/PID/stat)."""
    ticks = 0
    for pid in tree_pids(root_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat(5)
    return ticks / os.sysconf("SC_CLK_TCK")


# ----- the apps under test -----


def app_env(extra: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """A clean environment for an app from the checkout at `root`: nothing of the bot's contract inherited."""
    env = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES}
    inherited = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != ROOT]
    env["PYTHONPATH"] = os.pathsep.join([str(root), *inherited])
    env.update(extra)
    return env


@dataclass
class AppProcess:
    """One app started as a process of its own (its own session, so it and its workers stop together)."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    cwd: Path = ROOT
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _log: Any = field(default=None, repr=False)

    def start(self) -> AppProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")

    def wait_healthz(self, timeout: float = 30, poll: float = 0.005) -> float:
        """Seconds from process start to the first 200 from /healthz, asked every `poll` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return time.monotonic() - self.started_at
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(poll)
        raise RuntimeError(f"{self.name} not ready in {timeout} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # the group this script created for it
                self.process.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text("utf-8", "replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def http_app(
    which: str,
    standin_env: dict[str, str],
    log_dir: Path,
    database_url: str,
    root: Path = ROOT,
    extra_env: dict[str, str] | None = None,
) -> AppProcess:
    """The bare app (`which` "bare": gunicorn -w 1 --threads 16), or else the bot of the checkout at `root`
    (`python -m bot`, 1 worker, 16 threads for Bolt; `bot_command`)."""
    port = free_port()
    env = app_env({**standin_env, "PORT": str(port), **(extra_env or {})}, root)
    if which == "bare":
        command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "16", "-w", "1"]
        command += ["-b", f"127.0.0.1:{port}", "bench.bare_app:wsgi_app"]
    else:
        env["DATABASE_URL"] = database_url
        command = bot_command(which)
    return AppProcess(which, command, env, log_dir / f"{which}-http-{port}.log", port=port, cwd=root)


def socket_app(
    which: str, standin_env: dict[str, str], log_dir: Path, database_url: str, index: int, root: Path = ROOT
) -> AppProcess:
    """The bare app in Socket Mode (`which` "bare": the built-in adapter, 1 s pings, as the bot), or else the
    bot of the checkout at `root`."""
    env = app_env(standin_env, root)
    if which == "bare":
        command = [sys.executable, "bench/bare_app.py", "--socket", "--adapter", "builtin"]
        command += ["--ping-interval", "1"]
    else:
        env["DATABASE_URL"] = database_url
        command = bot_command(which)
    return AppProcess(which, command, env, log_dir / f"{which}-socket-{index}.log", cwd=root)


def bot_command(which: str) -> list[str]:
    """`python -m bot`; for "plain", the bot without feedback on its acknowledged answers
    (bench/bot_without_feedback.py)."""
    if which == "plain":
        return [sys.executable, "bench/bot_without_feedback.py"]
    return [sys.executable, "-m", "bot"]


def byte_compile(root: Path) -> None:
    """Byte-compiles the apps' code under `root` (bot/, knowledge/, bench/), as pip does when it installs a package.

    Without it every start compiles each module from source again wherever PYTHONDONTWRITEBYTECODE is set (it is,
    on the machine these figures come from): 66 modules, 0.1-0.2 s of the bot's start, 1 of the bare app's.
    """
    folders = [str(root / name) for name in ("bot", "knowledge", "bench") if (root / name).is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True, stdout=subprocess.DEVNULL)


@contextmanager
def checkout(revision: str | None) -> Iterator[Path | None]:
    """The tree of a git revision, unpacked (git archive) into a temporary directory; None for None."""
    if revision is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bench-against-") as tmp:
        archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        byte_compile(Path(tmp))
        yield Path(tmp)


def prepare_database(database_url: str) -> None:
    """Creates the bot's schema once, so each start is a restart (as in production), not a first boot."""
    from bot.store import Store

    Store(database_url).close()


# ----- HTTP load -----


Request = tuple[bytes, dict[str, str]]


def command_request(signing_secret: str, response_url: str, text: str = "425") -> Request:
    """A signed /ftpcode slash command, as Slack posts it."""
    body = urlencode(payloads.command_payload(text, response_url=response_url)).encode()
    return body, form_headers(signing_secret, body)


def action_request(signing_secret: str, payload: dict[str, Any]) -> Request:
    """A signed interactivity payload (block_actions...), as Slack posts it."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, form_headers(signing_secret, body)


def form_headers(signing_secret: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **signature_headers(signing_secret, body),
    }


def post(port: int, body: bytes, headers: dict[str, str], timeout: float = 30) -> tuple[int, float, bool]:
    """POST /slack/events on a new connection (as Slack does); (status, seconds, whether the ack held a message)."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.monotonic()
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        return response.status, time.monotonic() - started, b'"blocks"' in answer
    finally:
        connection.close()


@dataclass
class LoadResult:
    latencies: list[float]
    statuses: dict[int, int]
    wall_seconds: float
    answered_in_ack: int = 0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall_seconds


def http_load(port: int, requests: list[Request], concurrency: int) -> LoadResult:
    """Posts every request with `concurrency` threads, each taking the next one as soon as it is done."""
    pending: queue.SimpleQueue[Request] = queue.SimpleQueue()
    for request in requests:
        pending.put(request)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    answered = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal answered
        while True:
            try:
                body, headers = pending.get_nowait()
            except queue.Empty:
                return
            status, seconds, in_ack = post(port, body, headers)
            with lock:
                latencies.append(seconds)
                statuses[status] = statuses.get(status, 0) + 1
                answered += in_ack

    started = time.monotonic()
    run_threads(worker, concurrency)
    return LoadResult(latencies, statuses, time.monotonic() - started, answered)


def run_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# ----- the stand-in, in its own process -----


class StandInService:
    """Lives in the manager's process: the stand-in and what the benchmarks ask of it."""

    def __init__(self) -> None:
        from tests.standin.standin import SlackStandIn

        self.standin = SlackStandIn().start()
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._posts: dict[str, queue.SimpleQueue[dict[str, Any]]] = {}

        def add(record: Any) -> None:
            # Replaces the call log: no history is kept (runs are long), only counts and each thread's posts.
            with self._lock:
                self._counts[record.method] = self._counts.get(record.method, 0) + 1
                thread_ts = record.params.get("thread_ts") if record.method == "chat.postMessage" else None
                posts = self._posts.setdefault(thread_ts, queue.SimpleQueue()) if thread_ts else None
            if posts is not None:
                response = record.response if isinstance(record.response, dict) else {}
                blocks = record.params.get("blocks") or []
                text = record.params.get("text") or ""
                posts.put({"t": record.t, "ts": response.get("ts"), "blocks": blocks, "text": text})

        self.standin.log.add = add  # type: ignore[method-assign]

    def info(self) -> dict[str, Any]:
        return {
            "signing_secret": self.standin.signing_secret,
            "http_env": self.standin.bot_env("http"),
            "socket_env": self.standin.bot_env("socket"),
        }

    def response_urls(self, count: int) -> list[str]:
        return [self.standin.new_response_url() for _ in range(count)]

    def count(self, method: str) -> int:
        with self._lock:
            return self._counts.get(method, 0)

    def wait_count(self, method: str, at_least: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.count(method) < at_least:
            time.sleep(0.02)
        return self.count(method)

    def next_post(self, thread_ts: str, timeout: float) -> dict[str, Any] | None:
        """The next chat.postMessage in thread `thread_ts` ({t, ts, blocks, text}), or None after `timeout` s."""
        with self._lock:
            posts = self._posts.setdefault(thread_ts, queue.SimpleQueue())
        try:
            return posts.get(timeout=timeout)
        except queue.Empty:
            return None

    def seed_message(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """A message the app can update (chat.update), as if it had posted it; no Web API call is logged."""
        workspace = self.standin.workspace
        with workspace._lock:
            workspace.messages[(channel, ts)] = {"type": "message", "ts": ts, "text": text, "blocks": blocks}

    def forget_thread(self, thread_ts: str) -> None:
        with self._lock:
            self._posts.pop(thread_ts, None)

    def connections_opened(self) -> int:
        return self.standin.connections_opened

    def wait_for_connection(self, count: int, timeout: float) -> float:
        """time.monotonic() when the `count`-th Socket Mode connection was open (hello sent), as the stand-in
        noted it (not when this call's answer reached the caller)."""
        socket = self.standin.socket
        socket.wait_for_connection(count, timeout)
        with socket._lock:
            return max(connection.opened_at for connection in socket._connections)

    def newest_connection_id(self) -> int:
        """The id of the Socket Mode connection opened last: the app that has just connected."""
        return self.standin.socket.current_connection().id

    def socket_load(
        self, requests: int, concurrency: int, text: str = "425", connection_id: int | None = None
    ) -> dict[str, Any]:
        """Slash commands over Socket Mode at `concurrency`; latency = send to the ack's arrival. With
        `connection_id`, sent over that connection (one of two apps connected at once), else the newest."""
        socket = self.standin.socket
        socket.pinned = connection_id
        remaining = iter(range(requests))
        lock = threading.Lock()
        latencies: list[float] = []
        failures = answered = 0

        def worker() -> None:
            nonlocal failures, answered
            while True:
                with lock:
                    if next(remaining, None) is None:
                        return
                started = time.monotonic()
                envelope_id = self.standin.send_command_envelope(text)
                try:
                    self.standin.wait_for_ack(envelope_id, timeout=30)
                except TimeoutError:
                    with lock:
                        failures += 1
                    continue
                with socket._lock:
                    acked = socket.acks.pop(envelope_id)  # popped: the table would only grow
                with lock:
                    latencies.append(acked.t - started)
                    answered += "payload" in acked.message

        started = time.monotonic()
        try:
            run_threads(worker, concurrency)
        finally:
            socket.pinned = None
        wall = time.monotonic() - started
        socket.sent.clear()
        return {"latencies": latencies, "failures": failures, "wall_seconds": wall, "answered_in_ack": answered}


class _Manager(BaseManager):
    pass


_Manager.register("StandIn", StandInService)


@contextmanager
def standin_process() -> Iterator[Any]:
    """A proxy of StandInService running in a separate process; usable from many threads at once."""
    manager = _Manager(address=("127.0.0.1", 0))
    manager.start()
    try:
        yield manager.StandIn()  # type: ignore[attr-defined]
    finally:
        manager.shutdown()
