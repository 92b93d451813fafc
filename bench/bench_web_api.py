"""One Web API call's cost: the bot's KeepAliveWebClient against slack_sdk's WebClient (urlopen), same run;
and one response_url post (Bolt's respond()) with and without the bot's shared TLS context.

Run: python bench/bench_web_api.py [--calls 200] [--rounds 3]

Both clients call auth.test on a local server (tests/test_web_transport.py's), over plain HTTP and over HTTPS
with a self-signed certificate. The HTTPS clients are built with ssl=None, as the bot's are, so they load the
system's CA store: SSL_CERT_FILE names a copy of it with the test certificate added.
Measured per call: the calling thread's CPU (time.thread_time) and the wall time; medians of the rounds.
There is no network delay on loopback: against Slack every new connection also costs two or more round trips.
Target: none of its own; it shows what issue 4's triage click saves per Web API call.
"""

from __future__ import annotations

import argparse
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import print_table, write_results
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.web_transport import KeepAliveWebClient, tls_context_for
from tests.ftpservers import make_self_signed_cert
from tests.test_web_transport import serve


def per_call(call: Callable[[], object], calls: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call, after one call that opens the connection."""
    call()
    cpu, wall = time.thread_time(), time.perf_counter()
    for _ in range(calls):
        call()
    return (time.thread_time() - cpu) * 1000 / calls, (time.perf_counter() - wall) * 1000 / calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    settings = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-web-api-") as tmp:
        pem = make_self_signed_cert(Path(tmp))
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(pem)
        system_store = Path(ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile)
        bundle = Path(tmp) / "ca-bundle.pem"
        bundle.write_bytes(system_store.read_bytes() + b"\n" + pem.read_bytes())
        os.environ["SSL_CERT_FILE"] = str(bundle)
        for scheme, tls in (("http", None), ("https", server_tls)):
            for server in serve(tls):
                for _ in range(settings.rounds):
                    for name, kind in (("slack_sdk WebClient", WebClient), ("KeepAliveWebClient", KeepAliveWebClient)):
                        client = kind(token="xoxb-bench", base_url=server.api_url, retry_handlers=[])
                        results.setdefault(f"{scheme}: {name}", []).append(per_call(client.auth_test, settings.calls))
                    # Bolt's respond() posts to the response_url with a WebhookClient; the bot gives it a TLS context.
                    hook_url = server.api_url + "hook"
                    for name, context in (("no context", None), ("as the bot posts", tls_context_for(hook_url))):
                        hook = WebhookClient(hook_url, ssl=context)
                        results.setdefault(f"{scheme}: response_url, {name}", []).append(
                            per_call(lambda hook=hook: hook.send(text="ok"), settings.calls)
                        )
    rows = [
        [name, statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)]
        for name, runs in results.items()
    ]
    print(f"auth.test on 127.0.0.1, {settings.calls} calls, median of {settings.rounds} rounds")
    print(f"system CA store: {system_store} ({system_store.stat().st_size // 1024} kB)")
    print_table(["client", "CPU ms/call", "wall ms/call"], rows)
    path = write_results("bench_web_api", {"settings": vars(settings), "rows": rows})
    print(f"results in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
