"""Builds the Bolt app and its workers: listeners acknowledge and queue, workers call Slack."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.middleware.authorization import SingleTeamAuthorization
from slack_sdk import WebClient
from slack_sdk.web import SlackResponse

from bot import digest, listeners, metrics
from bot.config import Config
from bot.housekeeping import PURGE_SECONDS, Housekeeping
from bot.middleware import ProvideWork, RefuseMalformed, TagLogs
from bot.site_notes import RELOAD_SECONDS, SITE
from bot.slack_client import web_client
from bot.store import DatabaseError, Store
from bot.worker import Worker

logger = logging.getLogger("bot")
SITE_CHORE = "site notes"

AuthTest = tuple[dict[str, Any], dict[str, str]]  # auth.test's answer and its HTTP headers (bot/__main__.py)


def build_app(config: Config, store: Store, auth_test: AuthTest | None = None) -> App:
    """The app, with its started Worker as `app.worker` (stop it before the process ends). Given the answer of an
    auth.test just made (`auth_test`), Bolt takes it rather than asking Slack again."""
    client = web_client(config)
    app = App(
        name="ftpcode",  # without a name, Bolt reads the caller's source files off the stack, at start-up
        client=client,
        signing_secret=config.signing_secret,
        # Listeners only answer from memory or queue work, so they run in the request's own thread and the
        # acknowledgement leaves as soon as they return, not at Bolt's next 10 ms poll for ack().
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="listener"),
        logger=logging.getLogger("bot.bolt"),
        raise_error_for_unhandled_request=True,
        token_verification_enabled=auth_test is None,
    )
    if auth_test is not None:
        _authorized_by(app, client, auth_test)
    worker = Worker(store, client, config, listeners.JOBS)
    reported: set[tuple[str, str]] = set()

    @app.error
    def on_error(error: Exception, body: dict) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # Acknowledge what we do not handle, or Slack redelivers it.
            return BoltResponse(status=200, body="")
        if isinstance(error, (*store.db.errors, DatabaseError)):
            metrics.database_error()
        kind = str(body.get("type") or body.get("command") or "request")[:40]
        # The traceback once per kind of failure: a bug hit by every request must not flood the log.
        first = (kind, error.__class__.__name__) not in reported
        reported.add((kind, error.__class__.__name__))
        logger.error("listener failed on %s: %s", kind, error.__class__.__name__, exc_info=error if first else None)
        return BoltResponse(status=200, body="")

    app.use(TagLogs())
    app.use(RefuseMalformed())
    app.use(ProvideWork(worker))
    listeners.register(app)
    app.worker = worker  # type: ignore[attr-defined]
    worker.start()
    chores = Housekeeping().every(PURGE_SECONDS, "feedback purge", lambda: purge_feedback(worker, config))
    chores.every(PURGE_SECONDS, "workflow triages expiry", lambda: expire_waited_on(worker, config))
    if config.digest_channel:
        digest.warn_without_chart(config)
        chores.every(digest.CHECK_SECONDS, "weekly digest", lambda: digest.queue_if_due(worker, config))
    if config.site_dir:
        # A gunicorn worker started by SIGHUP holds the master's notes from start-up: it reads the folder at once.
        SITE.ask_reload()
        chores.every(RELOAD_SECONDS, SITE_CHORE, SITE.reload)
    worker.on_stop.append(chores.start().stop)
    app.chores = chores  # type: ignore[attr-defined]
    return app


def _authorized_by(app: App, client: WebClient, auth_test: AuthTest) -> None:
    """Bolt's authorization of every request, from the answer of the start's own auth.test, as Bolt would have it
    from its auth.test: one round trip to Slack less before the first answer. Should Bolt keep it elsewhere one day,
    its authorization asks Slack at the first request instead (its behaviour without token verification)."""
    answer, headers = auth_test
    response = SlackResponse(
        client=client,
        http_verb="POST",
        api_url=client.base_url + "auth.test",
        req_args={},
        data=answer,
        headers=dict(headers),  # as slack_sdk keeps them: the names as Slack sent them
        status_code=200,
    )
    for middleware in app._middleware_list:  # Bolt's own list: it has no public way to give the answer
        if isinstance(middleware, SingleTeamAuthorization):
            middleware.auth_test_result = response


def purge_feedback(worker: Worker, config: Config) -> None:
    removed = worker.db(worker.store.purge_feedback, config.feedback_ttl_days * 86400)
    if removed:
        logger.info("%d feedback row(s) older than %d days deleted", removed, config.feedback_ttl_days)


def expire_waited_on(worker: Worker, config: Config) -> None:
    """Triages a workflow step waits on, untouched for TRIAGE_TTL_DAYS, expire here even if nobody comes back to
    them (others expire when someone does): the step is completed with the outcome "expired"."""
    expired = worker.db(worker.store.expire_triage, config.triage_ttl_days * 86400, True)
    if expired:
        logger.info("%d triage(s) a workflow step waited on expired", expired)
