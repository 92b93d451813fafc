"""The Web API client: kept-alive connections, and Slack's retry handlers with rate-limit sleeps capped so no
listener thread hangs."""

from __future__ import annotations

import logging

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryState
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse

from bot.config import Config
from bot.web_transport import KeepAliveWebClient

MAX_RETRY_AFTER_SECONDS = 30


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out a 429's Retry-After, unless Slack asks for longer than a user would wait for an answer."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        for name, values in response.headers.items():
            if name.lower() == "retry-after" and values:
                try:
                    return int(values[0]) <= MAX_RETRY_AFTER_SECONDS
                except ValueError:
                    return False
        return True


def web_client(config: Config) -> KeepAliveWebClient:
    client = KeepAliveWebClient(
        token=config.bot_token,
        base_url=config.api_url,
        timeout=15,
        logger=logging.getLogger("bot.slack"),
    )
    client.retry_handlers = [
        ConnectionErrorRetryHandler(max_retry_count=2),
        CappedRateLimitRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=1),
    ]
    return client
