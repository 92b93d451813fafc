"""HTTP-mode delivery to the app: signed exactly as Slack signs, or deliberately not."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

SignatureMode = Literal["valid", "forged", "stale", "none"]
STALE_SECONDS = 10 * 60


@dataclass
class Delivery:
    """The app's answer. Unpacks as (status, headers, body); `sent` is the payload that was posted."""

    status: int
    headers: dict[str, str]
    body: bytes
    sent: Any = None
    elapsed: float = 0.0
    request_headers: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.headers, self.body))

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def signature_headers(signing_secret: str, body: bytes, mode: SignatureMode = "valid") -> dict[str, str]:
    if mode == "none":
        return {}
    now = int(time.time())
    timestamp = str(now - STALE_SECONDS if mode == "stale" else now)
    secret = signing_secret if mode != "forged" else signing_secret + "-forged"
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature or ""}


def post(
    url: str,
    body: bytes,
    content_type: str,
    signing_secret: str,
    signature: SignatureMode = "valid",
    extra_headers: dict[str, str] | None = None,
    timeout: float = 10,
) -> Delivery:
    parts = urlsplit(url)
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "Accept": "application/json,*/*",
        **signature_headers(signing_secret, body, signature),
        **(extra_headers or {}),
    }
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    started = time.monotonic()
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path or "/", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        elapsed = time.monotonic() - started
        return Delivery(
            status=response.status,
            headers={k.lower(): v for k, v in response.getheaders()},
            body=answer,
            elapsed=elapsed,
            request_headers=headers,
        )
    finally:
        connection.close()


def post_form(url: str, fields: dict[str, str], signing_secret: str, **kwargs: Any) -> Delivery:
    return post(url, urlencode(fields).encode(), "application/x-www-form-urlencoded", signing_secret, **kwargs)


def post_json(url: str, document: dict[str, Any], signing_secret: str, **kwargs: Any) -> Delivery:
    return post(url, json.dumps(document).encode(), "application/json", signing_secret, **kwargs)
