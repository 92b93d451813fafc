"""Scan throughput on a generated 10 MB log of FileZilla and curl -v sessions, against `grep -c Response`.

Run: python bench/bench_scan.py   (prints MB/s for scan(), best of 3, and for grep over the same file)
     python bench/bench_scan.py --against REV [--rounds 3]
        this checkout's scanner and REV's (unpacked with git archive), each in its own process, rounds
        alternating which goes first; MB/s by wall and by CPU time (time.process_time), best of 3 scans a
        round and best of the rounds, with each round's load average: on a shared machine wall time is noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TARGET_MB_S = 50.0
SIZE = 10 * 1024 * 1024

FILEZILLA = """{ts} Status:\tResolving address of ftp.example.com
{ts} Status:\tConnecting to 198.51.100.{h}:21...
{ts} Status:\tConnection established, waiting for welcome message...
{ts} Response:\t220 (vsFTPd 3.0.3)
{ts} Command:\tAUTH TLS
{ts} Response:\t234 Proceed with negotiation.
{ts} Status:\tInitializing TLS...
{ts} Status:\tTLS connection established.
{ts} Command:\tUSER alice
{ts} Response:\t331 Please specify the password.
{ts} Command:\tPASS ********
{ts} Response:\t230 Login successful.
{ts} Command:\tPBSZ 0
{ts} Response:\t200 PBSZ set to 0.
{ts} Command:\tPROT P
{ts} Response:\t200 PROT now Private.
{ts} Status:\tLogged in
{ts} Status:\tRetrieving directory listing of "/home/alice"...
{ts} Command:\tPWD
{ts} Response:\t257 "/home/alice" is the current directory
{ts} Command:\tPASV
{ts} Response:\t227 Entering Passive Mode (198,51,100,{h},195,{p}).
{ts} Command:\tMLSD
{ts} Response:\t150 Here comes the directory listing.
{ts} Response:\t226 Directory send OK.
{ts} Status:\tDirectory listing of "/home/alice" successful
{ts} Status:\tStarting upload of C:\\data\\report-{n}.csv
{ts} Command:\tPASV
{ts} Response:\t227 Entering Passive Mode (198,51,100,{h},195,{q}).
{ts} Command:\tSTOR report-{n}.csv
{ts} Response:\t150 Ok to send data.
{ts} Response:\t226 Transfer complete.
{ts} Status:\tFile transfer successful, transferred 48,213 bytes in 1 second
{ts} Status:\tDisconnected from server
"""
CURL = """*   Trying 198.51.100.{h}:21...
* Connected to ftp.example.com (198.51.100.{h}) port 21 (#0)
< 220 (vsFTPd 3.0.3)
> USER alice
< 331 Please specify the password.
> PASS hunter2-{n}
< 230 Login successful.
> PWD
< 257 "/home/alice" is the current directory
* Entry path is '/home/alice'
> EPSV
* Connect data stream passively
< 229 Entering Extended Passive Mode (|||{port}|)
*   Trying 198.51.100.{h}:{port}...
* Connected to ftp.example.com (198.51.100.{h}) port 21 (#0)
> TYPE I
< 200 Switching to Binary mode.
> SIZE report-{n}.csv
< 213 48213
> RETR report-{n}.csv
< 150 Opening BINARY mode data connection for report-{n}.csv (48213 bytes).
* Maxdownload = -1
{{ [48213 bytes data]
< 226 Transfer complete.
* Connection #0 to host ftp.example.com left intact
"""


def generate(template: str, size: int = SIZE, seed: int = 7) -> str:
    """`size` bytes of repeated sessions (a paste is one client's output, so one template per log)."""
    rng = random.Random(seed)
    parts: list[str] = []
    total = n = 0
    while total < size:
        n += 1
        ts = f"2024-05-01 10:{n // 60 % 60:02d}:{n % 60:02d} 4242 {n % 9 + 1}"
        h, p, q, port = (
            rng.randint(2, 250),
            rng.randint(0, 255),
            rng.randint(0, 255),
            rng.randint(40000, 50000),
        )
        block = template.format(ts=ts, h=h, p=p, q=q, n=n, port=port)
        parts.append(block)
        total += len(block)
    text = "".join(parts)
    return text[: text.rfind("\n", 0, size) + 1]


def best_of(runs: int, action) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def measure(name: str, template: str, tmp: Path) -> bool:
    from knowledge.logscan import MAX_SCAN_BYTES, scan
    from knowledge.logscan.scanner import scan_with_limit

    text = generate(template)
    mb = len(text.encode()) / 1e6
    path = tmp / f"{name}.log"
    path.write_text(text)
    whole = best_of(3, lambda: scan_with_limit(text, None))
    capped = best_of(3, lambda: scan(text))
    grep = shutil.which("grep")
    grep_time = None
    if grep:
        grep_time = best_of(3, lambda: subprocess.run([grep, "-c", "Response", str(path)], capture_output=True))
    result = scan_with_limit(text, None)
    total = result.exchanges_total if result.exchanges_total is not None else len(result.exchanges)
    print(
        f"{name}: {mb:.1f} MB, {text.count(chr(10)):,} lines, {total:,} exchanges "
        f"({len(result.exchanges):,} kept in the result)"
    )
    print(f"  scan, whole file (no size limit): {whole:.3f} s = {mb / whole:.1f} MB/s (best of 3)")
    capped_mb = min(mb, MAX_SCAN_BYTES / 1e6)
    print(
        f"  scan() cut at MAX_SCAN_BYTES ({MAX_SCAN_BYTES / 1e6:.1f} MB): "
        f"{capped:.3f} s = {capped_mb / capped:.1f} MB/s"
    )
    if grep_time:
        print(
            f"  grep -c Response, same file: {grep_time:.4f} s = {mb / grep_time:.0f} MB/s; "
            f"ratio scan/grep = {grep_time / whole:.3f} (grep {whole / grep_time:.0f}x faster)"
        )
    ok = mb / whole >= TARGET_MB_S
    print(f"  target {TARGET_MB_S:.0f} MB/s: {'met' if ok else 'missed'}")
    return ok


def times(tree: Path) -> dict[str, dict[str, float]]:
    """In this process, with `tree` first on sys.path: seconds (wall and CPU, best of 3) of a whole-file scan
    and of scan() for each log, and the MB each one reads."""
    sys.path.insert(0, str(tree))
    from knowledge.logscan import scan
    from knowledge.logscan.scanner import MAX_SCAN_BYTES, scan_with_limit  # (older trees have it here only)

    result = {}
    for name, template in (("filezilla", FILEZILLA), ("curl", CURL)):
        text = generate(template)
        mb = len(text.encode()) / 1e6
        figures = {"mb": mb, "capped_mb": min(mb, MAX_SCAN_BYTES / 1e6)}
        for kind, action in (("whole", partial(scan_with_limit, text, None)), ("scan", partial(scan, text))):
            walls, cpus = [], []
            for _ in range(3):
                wall, cpu = time.perf_counter(), time.process_time()
                action()
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            figures[f"{kind}_wall"], figures[f"{kind}_cpu"] = min(walls), min(cpus)
        result[name] = figures
    return result


def compare(against: str, rounds: int) -> int:
    from benchlib import byte_compile, checkout, cpu_model, print_table

    with checkout(against) as before:
        assert before is not None
        byte_compile(ROOT)  # as checkout() compiles the other tree: from source, this one ran ~8% slower
        trees = {against: before, "this checkout": ROOT}
        best: dict[str, dict[str, dict[str, float]]] = {}
        for round_ in range(rounds):
            order = list(trees) if round_ % 2 == 0 else list(trees)[::-1]
            for which in order:
                load = os.getloadavg()[0]
                done = subprocess.run(
                    [sys.executable, __file__, "--times", str(trees[which])],
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=trees[which],
                )
                figures = json.loads(done.stdout)
                print(f"round {round_ + 1}, {which} (load {load:.1f}): " + ", ".join(
                    f"{log} {f['mb'] / f['whole_cpu']:.1f} MB/s CPU" for log, f in figures.items()))  # fmt: skip
                for log, f in figures.items():
                    kept = best.setdefault(which, {}).setdefault(log, dict(f))
                    for key, value in f.items():
                        kept[key] = min(kept[key], value)
    print(f"{cpu_model()}; MB/s, best of {rounds} rounds of 3 scans (wall / CPU time)")
    rows = []
    for which, logs in best.items():
        for log, f in logs.items():
            rows.append([which, log] + [
                f"{f[mb] / f[f'{kind}_wall']:.1f} / {f[mb] / f[f'{kind}_cpu']:.1f}"
                for kind, mb in (("whole", "mb"), ("scan", "capped_mb"))])  # fmt: skip
    print_table(["scanner", "log", "whole file", "scan(), cut at MAX_SCAN_BYTES"], rows)
    mine = best["this checkout"]
    ok = all(f["mb"] / f["whole_cpu"] >= TARGET_MB_S for f in mine.values())
    print(f"target {TARGET_MB_S:.0f} MB/s (whole file, CPU time, this checkout): {'met' if ok else 'missed'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision whose scanner to measure beside this one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--times", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    if args.times:
        print(json.dumps(times(args.times)))
        return 0
    if args.against:
        return compare(args.against, args.rounds)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure("filezilla", FILEZILLA, Path(tmp)), measure("curl", CURL, Path(tmp))]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
