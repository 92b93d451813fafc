"""HTTP mode: our ASGI front (bot/http_front.py) under gunicorn's asyncio worker, with /slack/events beside
/healthz, /readyz and /metrics."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker

from bot import collector, metrics
from bot.config import Config
from bot.health import Health

if TYPE_CHECKING:
    from slack_bolt import App

logger = logging.getLogger("bot.http")


def asgi_app(app: App, health: Health, config: Config) -> Callable:
    # Bolt is imported in the worker, which builds the app: the gunicorn master stays small (it is measured too).
    from bot.http_front import SlackFront

    return SlackFront(app, health, config)


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
        app = self.app_factory()
        collector.resume()  # paused by init_process below
        return app


class AsgiWorkerAfterFork(Worker):
    """gunicorn's ASGI worker, imported in the worker process once it is forked.

    gunicorn's master makes each worker's object before it forks; given worker_class "asgi" it imports the ASGI worker,
    and asyncio with it, into the master, which never runs an event loop: 4.6 MB more RSS in the master, all of it
    counted again in the worker. The master keeps this stand-in (a plain gunicorn Worker: its heartbeat file, its
    pid), and the worker process runs the real one on the same heartbeat file.
    """

    def init_process(self) -> None:
        collector.pause()  # the master collects again before it forks: the worker's start runs without it too
        one_malloc_arena()
        _asgi_protocol()
        asgi_worker = _full_backlog_worker_class()
        worker = asgi_worker(self.age, self.ppid, self.sockets, self.app, self.timeout, self.cfg, self.log)
        worker.tmp.close()
        worker.__dict__.update(self.__dict__)  # pid, max_requests and the heartbeat file the master watches
        worker.init_process()


def _full_backlog_worker_class() -> type[Worker]:
    from gunicorn.workers.gasgi import ASGIWorker

    class FullBacklogAsgiWorker(ASGIWorker):
        """asyncio's create_server listens again on gunicorn's socket with its own backlog of 100, not the 2048
        gunicorn opened it with: new connections beyond 100 while the event loop is busy were dropped, and Slack
        saw them time out. The first heartbeat after the servers are made listens again with gunicorn's backlog."""

        _backlog_restored = False

        def notify(self) -> None:
            if self.servers and not self._backlog_restored:
                self._backlog_restored = True
                for listener in self.sockets:
                    listener.sock.listen(self.cfg.backlog)
            super().notify()

    return FullBacklogAsgiWorker


CHUNK_PREFIXES_SIZE = 16384  # the size of gunicorn's table, `range(16384)` in gunicorn/asgi/protocol.py


def _asgi_protocol() -> ModuleType:
    """gunicorn's ASGI protocol, imported without its table of 16,384 chunk-size prefixes (1.7 MB of objects).

    The table only speeds up chunked responses, and the bot's answers all carry a Content-Length; a size missing
    from it is formatted on the spot, the same bytes. It used to be emptied right after the import (the worker's
    RSS 1.2-1.9 MB smaller once the bot was loaded), but building it was most of the module's import and is on the
    worker's way to its first answer (bench/README.md). So the module runs with a `range` of its own that makes
    the table empty, removed once it has run; any other use of `range` gets the built-in's answer. Should gunicorn
    build the table some other way, it is emptied after the import, as before.
    """
    name = "gunicorn.asgi.protocol"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            raise ImportError(name)
        module = importlib.util.module_from_spec(spec)
        module.range = _range_without_chunk_prefixes  # type: ignore[attr-defined]
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        finally:
            del module.range  # type: ignore[attr-defined]
        sys.modules["gunicorn.asgi"].protocol = module  # type: ignore[attr-defined]
    if isinstance(getattr(module, "_CHUNK_PREFIXES", None), dict):
        module._CHUNK_PREFIXES = {}  # type: ignore[attr-defined]
    return module


def _range_without_chunk_prefixes(*args: int) -> range:
    return range(0) if args == (CHUNK_PREFIXES_SIZE,) else range(*args)


def one_malloc_arena() -> None:
    """Has glibc's malloc serve every thread from one arena, as MALLOC_ARENA_MAX=1 would; call before threads start.

    By default each thread that allocates may get an arena of its own, and memory freed in one stays there for
    that thread: Bolt's threads in a gunicorn worker each kept some (the worker's RSS after 1,500 commands at
    concurrency 20: 40.0 MB, 38.3 MB with one arena). The GIL lets one thread at a time run Python, so they
    seldom wait for the arena's lock. Without glibc (musl, macOS), nothing changes."""
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(-8, 1)  # M_ARENA_MAX, from glibc's malloc.h
    except (OSError, AttributeError):
        pass


def _worker_exited(_server, worker) -> None:
    metrics.process_exited(worker.pid)


def serve(app_factory: Callable[[], Callable], config: Config) -> None:
    options = {
        "bind": f"0.0.0.0:{config.port}",
        "workers": config.http_workers,
        # gunicorn's own asyncio worker: a connection waits on the event loop, not in a thread, until its request
        # has been read; bot/http_front.py then runs Bolt in a pool of HTTP_THREADS threads.
        "worker_class": AsgiWorkerAfterFork,
        "asgi_lifespan": "off",
        # By default a closed connection's state is kept 3 s for the app to notice: with Slack's one connection a
        # request, the worker grew from 32 to 60 MB over 4,000 commands at concurrency 20 (40 MB with 0).
        # Cancelling at once is safe here: the app holds nothing async, and Bolt's thread runs on.
        "asgi_disconnect_grace_period": 0,
        "keepalive": config.http_keepalive,
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
    logger.info("HTTP mode on port %s (%s worker(s), %s threads each for Bolt)", config.port, workers, threads)
    metrics.use_multiprocess_directory()  # before the workers fork: they write their samples there
    collector.resume()
    try:
        _Gunicorn(app_factory, options).run()
    finally:
        metrics.remove_multiprocess_directory()
