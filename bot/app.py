"""Builds the Bolt app: the Web API client (connections kept alive), redelivery filtering, the listeners."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltContext, BoltResponse, Respond
from slack_bolt.error import BoltUnhandledRequestError

from bot import listeners, metrics
from bot.config import Config
from bot.slack_client import web_client
from bot.store import DatabaseError, Store
from bot.web_transport import tls_context_for

logger = logging.getLogger("bot")


def build_app(config: Config, store: Store) -> App:
    client = web_client(config)
    app = App(
        name="ftpcode",  # without a name, Bolt reads the caller's source files off the stack: ~11 ms of start-up
        client=client,
        signing_secret=config.signing_secret,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=config.http_threads, thread_name_prefix="listener"),
        logger=logging.getLogger("bot.bolt"),
        raise_error_for_unhandled_request=True,
    )

    @app.error
    def on_error(error: Exception, body: dict) -> BoltResponse | None:
        if isinstance(error, BoltUnhandledRequestError):
            # Acknowledge what we do not handle, or Slack redelivers it.
            return BoltResponse(status=200, body="")
        if isinstance(error, (*store.db.errors, DatabaseError)):
            metrics.database_error()
        kind = body.get("type") or body.get("command") or "request"
        logger.error("listener failed on %s: %s", kind, error.__class__.__name__, exc_info=error)
        return None

    # One middleware, not two: Bolt runs its argument injection for each one on every request.
    @app.middleware
    def skip_redeliveries_then_provide_state(body: dict, context: BoltContext, next) -> BoltResponse | None:
        # Slack redelivers events it believes were missed, and Bolt does not filter them. The first delivery of
        # an event may itself be a retry (nothing was connected), so the key is the event, not the retry header.
        event_id = body.get("event_id")
        if event_id and not store.first_time(f"event:{event_id}"):
            logger.info("event %s was delivered before; skipped", event_id)
            return BoltResponse(status=200, body="")
        context["store"] = store
        context["config"] = config
        # Bolt gives each request a new plain WebClient, which would open a new connection for every call.
        context["client"] = client.sharing_connections(context.client)
        if context.response_url:
            # Bolt's own respond() posts through urlopen with no TLS context: a CA-store load for every post.
            url = context.response_url
            context["respond"] = Respond(response_url=url, proxy=client.proxy, ssl=tls_context_for(url))
        return next()

    listeners.register(app)
    return app
