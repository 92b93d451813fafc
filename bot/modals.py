"""Opening a modal (views.open) right after a click, outside the work queue.

A modal needs the click's trigger_id, which Slack accepts for 3 seconds and once. That is work with a deadline,
not work to keep: a job that waits behind others, or runs again after a 429, would hold a dead trigger. So the
listener hands views.open to these few threads and acknowledges at once; a call that cannot start in time, or
that Slack refuses, is reported to `on_failure` (the listener queues a note with a button that opens the modal
again, from a fresh click).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger("bot.feedback")

TRIGGER_SECONDS = 3.0
MARGIN_SECONDS = 0.5  # views.open itself takes a moment: a trigger this close to expiry is not worth trying


class ModalOpener:
    def __init__(self, client: WebClient, threads: int = 4) -> None:
        self.client = client
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="modal")

    def open(self, trigger_id: str, view: dict[str, Any], received: float, on_failure: Callable[[str], None]) -> None:
        """Opens `view` with the trigger of a click received at `received` (time.monotonic())."""
        self._threads.submit(self._open, trigger_id, view, received, on_failure)

    def _open(self, trigger_id: str, view: dict[str, Any], received: float, on_failure: Callable[[str], None]) -> None:
        if time.monotonic() - received > TRIGGER_SECONDS - MARGIN_SECONDS:
            logger.warning("modal not opened: its trigger was about to expire")
            on_failure("expired_trigger_id")
            return
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc.response.status_code)
            logger.warning("views.open failed: %s", error)
            on_failure(error)
        except Exception as exc:  # the network: the user still gets the note
            logger.warning("views.open failed: %s", exc.__class__.__name__)
            on_failure(exc.__class__.__name__)

    def stop(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
