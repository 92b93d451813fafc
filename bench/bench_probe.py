"""A healthy server probed end to end on loopback, against a plain TCP connect and greeting read.

Run: python bench/bench_probe.py [--runs 15]

The servers run in a child process (pyftpdlib, anonymous access; for FTPES a certificate from a test CA the
probe trusts), so their work does not take this process's GIL. In one run, interleaved, N times each:
  baseline    socket.create_connection + read the 220 greeting, then close
  ftp         run_probe(..., "ftp"): resolve, connect, greeting, FEAT, login, PWD, PASV, EPSV, data
              connection, LIST, QUIT
  ftpes       run_probe(..., "ftpes"): the same with AUTH TLS, the certificate, PBSZ/PROT, LIST over TLS, and
              the second, plain connection that checks whether TLS is demanded
  sftp        run_probe(..., "sftp") against Debian's sshd, when it is installed (banner, key exchange, host
              key, auth methods), with its own baseline: connect + read the SSH banner
Median and max of each. Target: a healthy server probed end to end in under 1 s.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, print_table, verdict, write_results

from knowledge.probe import MemoryLimiter, ProbeConfig, run_probe
from knowledge.probe.allowlist import AllowList

TARGET_SECONDS = 1.0


def _serve(kind: str, ports: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    sys.path.insert(0, str(ROOT))
    import pytest  # noqa: F401 - tests.ftpservers imports it

    from tests import ftpservers

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        if kind == "ftpes":
            ca = ftpservers.make_ca(directory)
            cert = ftpservers.make_cert(directory, ca=ca, valid_until=datetime.timedelta(days=90))
            servers = ftpservers._pyftpdlib_server(directory, tls=True, certfile=cert, ca_file=ca.pem, anonymous=True)
        else:
            servers = ftpservers._pyftpdlib_server(directory, anonymous=True)
        server = next(servers)
        ports.put((server.port, str(server.ca_file) if server.ca_file else None))
        stop.wait()
        servers.close()


def _sshd(directory: Path) -> tuple[multiprocessing.Process | None, int | None]:
    import shutil
    import subprocess

    binary = shutil.which("sshd") or "/usr/sbin/sshd"
    if not Path(binary).exists() or not shutil.which("ssh-keygen"):
        return None, None
    key = directory / "host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = directory / "sshd_config"
    config.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile none\nUsePAM no\n"
                      "LogLevel ERROR\nSubsystem sftp internal-sftp\n")  # fmt: skip
    Path("/run/sshd").mkdir(exist_ok=True)
    proc = subprocess.Popen([binary, "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port  # type: ignore[return-value]
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return None, None


def baseline(port: int, first: bytes) -> float:
    """connect, read until the end of the first line (a 220 greeting or an SSH banner), close."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        data = b""
        while b"\n" not in data:
            data += sock.recv(4096)
    assert data.startswith(first), data[:40]
    return time.perf_counter() - started


def probe_once(port: int, protocol: str, ca_file: str | None) -> float:
    config = ProbeConfig(allow=AllowList.parse(f"127.0.0.1:{port}"), ca_file=ca_file)
    started = time.perf_counter()
    result = run_probe(f"127.0.0.1:{port}", protocol, user="bench", config=config, limiter=MemoryLimiter(10**6, 10**6))
    elapsed = time.perf_counter() - started
    failed = [s for s in result.steps if s.status == "fail"]
    assert not failed, failed
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    stop = multiprocessing.Event()
    queue: multiprocessing.Queue = multiprocessing.Queue()
    children = [
        multiprocessing.Process(target=_serve, args=(kind, queue, stop), daemon=True) for kind in ("ftp", "ftpes")
    ]
    ports = {}
    for kind, child in zip(("ftp", "ftpes"), children, strict=True):
        child.start()
        ports[kind] = queue.get(timeout=30)
    tmp = tempfile.TemporaryDirectory()
    sshd, ssh_port = _sshd(Path(tmp.name))
    times: dict[str, list[float]] = {k: [] for k in ("baseline", "ftp", "ftpes", "ssh baseline", "sftp")}
    try:
        for _ in range(2):  # warm-up: imports, the TLS contexts, paramiko
            probe_once(ports["ftp"][0], "ftp", None)
            probe_once(ports["ftpes"][0], "ftpes", ports["ftpes"][1])
            if ssh_port:
                probe_once(ssh_port, "sftp", None)
        for _ in range(runs):
            times["baseline"].append(baseline(ports["ftp"][0], b"220"))
            times["ftp"].append(probe_once(ports["ftp"][0], "ftp", None))
            times["ftpes"].append(probe_once(ports["ftpes"][0], "ftpes", ports["ftpes"][1]))
            if ssh_port:
                times["ssh baseline"].append(baseline(ssh_port, b"SSH-"))
                times["sftp"].append(probe_once(ssh_port, "sftp", None))
    finally:
        stop.set()
        for child in children:
            child.join(timeout=5)
        if sshd is not None:
            sshd.terminate()
            sshd.wait(timeout=5)
        tmp.cleanup()
    rows = []
    summary = {}
    for name, values in times.items():
        if not values:
            continue
        median, worst = statistics.median(values), max(values)
        summary[name] = {"median_s": median, "max_s": worst, "n": len(values)}
        rows.append([name, median * 1000, worst * 1000, len(values)])
    print(f"bench_probe: {runs} runs each, interleaved, servers in child processes, loopback")
    print_table(["what", "median ms", "max ms", "n"], rows)
    worst_median = max(summary[k]["median_s"] for k in ("ftp", "ftpes", "sftp") if k in summary)
    ok = worst_median < TARGET_SECONDS
    print(f"target: a healthy server probed end to end in < {TARGET_SECONDS:g} s: {verdict(ok)}"
          f" (slowest median {worst_median * 1000:.0f} ms)")  # fmt: skip
    path = write_results("bench_probe", {"runs": runs, "results": summary, "target_s": TARGET_SECONDS, "met": ok})
    print(f"written: {path.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
