"""A bare Bolt app that only acknowledges: the baseline the bot is benchmarked against.

Configured from the bot's environment (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLACK_API_URL, PORT).
With BARE_APP_TRIAGE=1 (or --triage) it also answers triage clicks as simply as Bolt allows: acknowledges, then
makes the two Web API calls the bot makes for a click, through the stock WebClient: chat.postMessage of the clicked
message's blocks in its thread (the "next question"), then chat.update of the clicked message (bench/bench_triage.py).

HTTP mode, under gunicorn (POST /slack/events, GET /healthz):
    gunicorn -k gthread --threads 8 -w 1 -b 127.0.0.1:$PORT bench.bare_app:wsgi_app
    python bench/bare_app.py [--triage]            (execs the line above with $PORT)
Socket Mode:
    python bench/bare_app.py --socket [--triage] [--adapter builtin|websocket_client] [--ping-interval 10]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# The same thread counts as the bot (HTTP_THREADS, default 16: listener threads, and Socket Mode workers).
THREADS = int(os.environ.get("HTTP_THREADS") or 16)
TRIAGE_VARIABLE = "BARE_APP_TRIAGE"
ANSWERED = [{"type": "section", "text": {"type": "mrkdwn", "text": "Answered"}}]


def build_app() -> App:
    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ.get("SLACK_API_URL") or None)
    app = App(
        client=client,
        signing_secret=os.environ.get("SLACK_SIGNING_SECRET", ""),
        listener_executor=ThreadPoolExecutor(max_workers=THREADS),
    )

    @app.command("/ftpcode")
    def ack_command(ack: Ack) -> None:
        ack()

    @app.event("app_mention")
    def ignore_mention() -> None:
        pass

    @app.event("message")
    def ignore_message() -> None:
        pass

    if os.environ.get(TRIAGE_VARIABLE) == "1":
        app.action(re.compile(r"^triage_"))(answer_click)
    return app


def answer_click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    message = body["message"]
    channel = body["channel"]["id"]
    thread_ts = message.get("thread_ts") or message["ts"]
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message["text"], blocks=message["blocks"])
    client.chat_update(channel=channel, ts=message["ts"], text="Answered", blocks=ANSWERED)


def with_healthz(slack_app: WsgiApp) -> WsgiApp:
    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
            return [b"ok"]
        return slack_app(environ, start_response)

    return application


@cache
def _wsgi_app() -> WsgiApp:
    return with_healthz(SlackRequestHandler(build_app()))


def __getattr__(name: str) -> Any:
    # Built on first use, so importing this module needs no environment (gunicorn getattr()s it).
    if name == "wsgi_app":
        return _wsgi_app()
    raise AttributeError(name)


def run_socket_mode(adapter: str, ping_interval: float) -> None:
    app = build_app()
    if adapter == "websocket_client":
        from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler as WebsocketClientHandler

        handler: Any = WebsocketClientHandler(
            app, os.environ["SLACK_APP_TOKEN"], ping_interval=ping_interval, concurrency=THREADS
        )
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(
            app, os.environ["SLACK_APP_TOKEN"], ping_interval=ping_interval, concurrency=THREADS
        )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    handler.connect()
    stopped.wait()
    handler.close()


def run_gunicorn(threads: int) -> None:
    port = os.environ.get("PORT", "3000")
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", str(threads), "-w", "1"]
    command += ["-b", f"127.0.0.1:{port}", "bench.bare_app:wsgi_app"]
    os.execv(sys.executable, command)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", action="store_true", help="Socket Mode instead of HTTP under gunicorn")
    parser.add_argument("--adapter", choices=["builtin", "websocket_client"], default="builtin")
    parser.add_argument("--ping-interval", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--triage", action="store_true", help="also answer triage clicks with two Web API calls")
    args = parser.parse_args(argv)
    if args.triage:
        os.environ[TRIAGE_VARIABLE] = "1"
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING").upper())
    if args.socket:
        run_socket_mode(args.adapter, args.ping_interval)
    else:
        run_gunicorn(args.threads)


if __name__ == "__main__":
    main()
