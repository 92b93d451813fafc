"""The Web API client: kept-alive connections, and a quick retry of a connection that failed.

Nothing here sleeps on a 429 or retries a 5xx: the work queue does that off the request path, for as long as
Slack asks (bot/journal.py turns those answers into a later run of the job).
"""

from __future__ import annotations

import logging

from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.config import Config
from bot.web_transport import KeepAliveWebClient


def web_client(config: Config) -> KeepAliveWebClient:
    client = KeepAliveWebClient(
        token=config.bot_token,
        base_url=config.api_url,
        timeout=15,
        logger=logging.getLogger("bot.slack"),
    )
    client.retry_handlers = [ConnectionErrorRetryHandler(max_retry_count=1)]
    return client
