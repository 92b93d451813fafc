"""`ftpcode-bot`: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP mode under gunicorn."""

from __future__ import annotations

import logging
import os
import signal
import sys

from dotenv import find_dotenv, load_dotenv

from bot import logs
from bot.config import WHERE_BOT_TOKEN, Config, ConfigError, from_env

logger = logging.getLogger("bot")


def _build(config: Config):
    from bot.app import build_app
    from bot.store import Store

    return build_app(config, Store(config.database_url))


def open_database(url: str) -> str | None:
    """Creates or migrates the schema once (before gunicorn forks); why the database cannot be used, or None."""
    from bot.store import DatabaseError, Store

    try:
        Store(url).close()
    except (DatabaseError, OSError) as exc:
        # Never the URL itself: it may hold a password.
        return f"DATABASE_URL: the database cannot be opened ({exc.__class__.__name__}): check its path or server"
    return None


def check_slack(config: Config) -> str | None:
    """Asks Slack who the token belongs to, once, so a bad token or no route to Slack is one clear line."""
    from slack_sdk.errors import SlackApiError

    from bot.slack_client import web_client

    quiet = logging.getLogger("bot.startup")  # the one line returned says it all
    quiet.setLevel(logging.CRITICAL)
    client = web_client(config, logger=quiet)
    client.retry_handlers = []
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "refused")
        return f"SLACK_BOT_TOKEN was refused by Slack ({error}): {WHERE_BOT_TOKEN}"
    except OSError as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        return f"cannot reach the Slack Web API at {config.api_url} ({reason}): check the network or SLACK_API_URL"
    finally:
        client.close()  # now, not whenever it is collected: gunicorn forks its workers from this process
    return None


def run_http(config: Config) -> None:
    from bot.http_mode import serve, wsgi_app

    def factory():
        app = _build(config)
        return wsgi_app(app, lambda: {"ok": True, "mode": "http"})

    serve(factory, config)


def run_socket(config: Config) -> None:
    from bot.health import serve_in_background
    from bot.socket_mode import Connection

    connection = Connection(_build(config), config.app_token or "")
    signal.signal(signal.SIGTERM, lambda *_: connection.stop())
    signal.signal(signal.SIGINT, lambda *_: connection.stop())
    if config.port_given:
        serve_in_background(config.port, connection.health)
    logger.info("Socket Mode starting")
    connection.run_forever()


def main() -> int:
    # The .env of the directory the bot is started in, wherever the package is installed.
    load_dotenv(find_dotenv(usecwd=True), override=False)
    try:
        config = from_env()
    except ConfigError as exc:
        print(f"ftpcode-bot: {exc}", file=sys.stderr)
        return 2
    # Nothing started from here on needs the secrets in its environment; Config holds them.
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        os.environ.pop(name, None)
    logs.setup(config.log_level, config.log_format)
    problem = open_database(config.database_url) or check_slack(config)
    if problem:
        print(f"ftpcode-bot: {problem}", file=sys.stderr)
        return 2
    try:
        if config.socket_mode:
            run_socket(config)
        else:
            run_http(config)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
