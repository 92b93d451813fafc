"""HTTP mode: Bolt's WSGI adapter under gunicorn (threads), with /slack/events and /healthz."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gunicorn.app.base import BaseApplication

from bot import metrics
from bot.config import Config
from bot.health import Health, health_app

if TYPE_CHECKING:
    from slack_bolt import App

logger = logging.getLogger("bot.http")


def wsgi_app(app: App, health: Health) -> Callable:
    # Bolt is imported in the worker, which builds the app: the gunicorn master stays small (it is measured too).
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_bolt.request import BoltRequest

    class MeasuredRequestHandler(SlackRequestHandler):
        """Bolt's WSGI adapter, timing each request from reading its body to Bolt's answer (the ack)."""

        def dispatch(self, request):  # as SlackRequestHandler.dispatch, with the request kept for its kind
            started = time.perf_counter()
            body, query, headers = request.get_body(), request.query_string, request.get_headers()
            bolt_request = BoltRequest(body=body, query=query, headers=headers)
            response = self.app.dispatch(bolt_request)
            kind = metrics.request_kind(bolt_request.body)
            metrics.observe_request(kind, time.perf_counter() - started, response.status)
            return response

    return health_app(health, otherwise=MeasuredRequestHandler(app, path="/slack/events"))


class _Gunicorn(BaseApplication):
    """gunicorn run from our own entry point; `load()` runs in each worker, after the fork."""

    def __init__(self, app_factory: Callable[[], Callable], options: dict) -> None:
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable:
        return self.app_factory()


def _worker_exited(_server, worker) -> None:
    metrics.process_exited(worker.pid)


def serve(app_factory: Callable[[], Callable], config: Config) -> None:
    options = {
        "bind": f"0.0.0.0:{config.port}",
        "workers": config.http_workers,
        "worker_class": "gthread",
        "threads": config.http_threads,
        "backlog": 2048,
        "timeout": 30,
        "graceful_timeout": 10,
        "accesslog": None,
        "loglevel": config.log_level.lower(),
        # gunicorn 27 opens a control socket under $HOME by default, shared by every replica on a host.
        "control_socket_disable": True,
        "child_exit": _worker_exited,
    }
    workers, threads = config.http_workers, config.http_threads
    logger.info("HTTP mode on port %s (%s worker(s) x %s threads)", config.port, workers, threads)
    metrics.use_multiprocess_directory()  # before the workers fork: they write their samples there
    try:
        _Gunicorn(app_factory, options).run()
    finally:
        metrics.remove_multiprocess_directory()
