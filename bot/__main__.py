"""`ftpcode-bot`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP mode under gunicorn."""

from __future__ import annotations

from bot import collector

collector.pause()  # before the imports below: bot/collector.py

import atexit
import json
import logging
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bot import logs
from bot.config import WHERE_BOT_TOKEN, Config, ConfigError, from_env
from bot.secret_files import readable_by_others

if TYPE_CHECKING:
    from bot.app import AuthTest
    from bot.store import Store
    from bot.worker import Worker

logger = logging.getLogger("bot")

# A gunicorn worker started this soon after the master's auth.test gives Bolt that answer rather than asking Slack
# again; one started later (a restart) asks, so a token revoked since then still stops it.
CHECK_KEPT_SECONDS = 30.0


class StartupProblem(Exception):
    """Why the bot cannot start, in one line for the person starting it."""


def _build(config: Config, store: Store, auth_test: AuthTest | None = None):
    from bot.app import build_app

    app = build_app(config, store, auth_test)
    atexit.register(app.worker.stop)  # running jobs finish or go back to the queue for the next process
    return app


def open_store(config: Config) -> Store:
    """The store, its schema created or migrated; raises StartupProblem when the database cannot be used."""
    from bot.store import DatabaseError, Store

    try:
        return Store(config.database_url, config.database_timeout_seconds, config.feedback_secret)
    except DatabaseError as exc:  # its message never holds the URL, which may hold a password
        problem = str(exc)
    except OSError as exc:
        problem = exc.__class__.__name__
    raise StartupProblem(f"DATABASE_URL: the database cannot be opened ({problem}): check its path or server")


def load_site_notes(config: Config) -> None:
    """FTPCODE_SITE_DIR, read and checked whole; in HTTP mode here in the master, whose copy the workers inherit."""
    if not config.site_dir:
        return
    from bot.site_notes import SITE
    from knowledge.site import SiteError

    try:
        SITE.load(config.site_dir)
    except SiteError as exc:
        raise StartupProblem(f"FTPCODE_SITE_DIR: {exc}") from None


def check_slack(config: Config) -> AuthTest:
    """Asks Slack who the token belongs to, once, so a bad token or no route to Slack is one clear line
    (a StartupProblem). The answer and its headers, for Bolt (bot/app.py `build_app`).

    A plain urllib call: in HTTP mode this runs in the gunicorn master, which need not load slack_sdk (5 MB).
    """
    request = urllib.request.Request(
        config.api_url + "auth.test",
        data=b"",
        headers={"Authorization": f"Bearer {config.bot_token}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            answer = json.load(response)
            headers = dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        answer = {"ok": False, "error": f"HTTP {exc.code}"}
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise StartupProblem(
            f"cannot reach the Slack Web API at {config.api_url} ({reason}): check the network or SLACK_API_URL"
        ) from None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        error = answer.get("error", "refused") if isinstance(answer, dict) else "refused"
        raise StartupProblem(f"SLACK_BOT_TOKEN was refused by Slack ({error}): {WHERE_BOT_TOKEN}")
    return answer, headers


def watch_readiness(store: Store, worker: Worker, connected: Callable[[], bool] | None = None) -> None:
    """What /readyz checks: the database answers, the work queue moves and, in Socket Mode, the connection
    to Slack is open."""
    from bot import health, metrics

    def database() -> str | None:
        try:
            store.ping(health.CHECK_TIMEOUT_SECONDS)
        except store.db.errors as exc:
            metrics.database_error()
            return f"the database does not answer ({exc.__class__.__name__})"
        return None

    health.add_readiness_check("database", database)
    if connected is not None:
        health.add_readiness_check("slack", lambda: None if connected() else "not connected to Slack (Socket Mode)")
    health.add_readiness_check("queue", worker.stuck)


def run_http(config: Config, auth_test: AuthTest) -> None:
    from bot.http_mode import asgi_app, serve

    checked_at = time.monotonic()

    def factory():
        store = open_store(config)
        app = _build(config, store, auth_test if time.monotonic() - checked_at < CHECK_KEPT_SECONDS else None)
        watch_readiness(store, app.worker)
        return asgi_app(app, lambda: {"ok": True, "mode": "http"}, config)

    serve(factory, config)


def run_socket(config: Config, store: Store, auth_test: AuthTest) -> None:
    from bot import metrics
    from bot.app import SITE_CHORE
    from bot.health import serve_in_background
    from bot.site_notes import SITE
    from bot.socket_mode import Connection

    metrics.use_one_process()
    app = _build(config, store, auth_test)
    connection = Connection(app, config.app_token or "")
    signal.signal(signal.SIGTERM, lambda *_: connection.stop())
    signal.signal(signal.SIGINT, lambda *_: connection.stop())
    # HTTP mode leaves SIGHUP to gunicorn's master, which starts new workers: they read the site notes afresh.
    signal.signal(signal.SIGHUP, lambda *_: (SITE.ask_reload(), app.chores.soon(SITE_CHORE)))
    if config.port_given:
        watch_readiness(store, app.worker, connection.client.is_connected)
        serve_in_background(config.port, connection.health)
    logger.info("Socket Mode starting")
    collector.resume()
    try:
        connection.run_forever()
    finally:
        app.worker.stop()


def find_dotenv() -> str:
    """The .env of the directory the bot is started in or the nearest above it (python-dotenv's
    find_dotenv(usecwd=True)), "" when there is none: python-dotenv is imported only to read one (9 ms of start-up)."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / ".env").is_file():
            return str(folder / ".env")
    return ""


def main() -> int:
    # The .env of the directory the bot is started in, wherever the package is installed.
    dotenv_path = find_dotenv()
    if dotenv_path:
        from dotenv import load_dotenv

        load_dotenv(dotenv_path, override=False)
    try:
        config = from_env()
    except ConfigError as exc:
        print(f"ftpcode-bot: {exc}", file=sys.stderr)
        return 2
    # Keeps the secrets from processes started from here on. /proc/PID/environ of this process still shows
    # them: only the SLACK_*_FILE form keeps them out of it (README, Configuration).
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "FTPCODE_FEEDBACK_SECRET"):
        os.environ.pop(name, None)
    secrets = (config.bot_token, config.app_token, config.signing_secret, config.feedback_secret)
    logs.setup(config.log_level, config.log_format, secrets=secrets)
    for line in readable_by_others(dotenv_path, os.environ):
        logger.warning(line)
    try:
        load_site_notes(config)
    except StartupProblem as exc:
        print(f"ftpcode-bot: {exc}", file=sys.stderr)
        return 2
    store = None
    try:
        store = open_store(config)  # the schema is created or migrated here, once
        auth_test = check_slack(config)
    except StartupProblem as exc:
        if store is not None:
            store.close()
        print(f"ftpcode-bot: {exc}", file=sys.stderr)
        return 2
    try:
        if config.socket_mode:
            run_socket(config, store, auth_test)
        else:
            store.close()  # each gunicorn worker opens its own, after the fork
            run_http(config, auth_test)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
