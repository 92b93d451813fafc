"""The weekly digest to FTPCODE_DIGEST_CHANNEL: last week's figures against the week before, and a chart.

Weeks run Monday 00:00 to Monday 00:00 UTC. Every replica looks every few minutes (bot/housekeeping.py) whether
last week's digest was queued; queuing it claims a row keyed by the week in the database (job_claims, in the
same transaction as the job), so however many replicas look, one job is queued, and its journal makes the post
happen once. The chart needs the `digest` extra (matplotlib), imported by bot/digest_chart.py only when a
digest is drawn: without it the digest says how to get the chart.
"""

from __future__ import annotations

import datetime
import logging
import time
import urllib.request
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot import digest_chart
from bot.journal import RetryLater
from bot.views import insights as insights_view
from bot.web_transport import tls_context_for

if TYPE_CHECKING:
    from bot.config import Config
    from bot.worker import Work, Worker

logger = logging.getLogger("bot.digest")

CHECK_SECONDS = 600.0
WEEK = 7 * 86400
NO_CHART = "No chart: the digest extra is not installed (pip install 'ftpcode[digest]', which adds matplotlib)."


def last_week(now: float) -> tuple[str, float]:
    """The key of the last full week (Monday to Monday, UTC) and when it ended."""
    today = datetime.datetime.fromtimestamp(now, datetime.UTC).date()
    monday = today - datetime.timedelta(days=today.weekday())
    ended = datetime.datetime.combine(monday, datetime.time(), datetime.UTC).timestamp()
    year, week, _ = (monday - datetime.timedelta(days=7)).isocalendar()
    return f"digest:{year}-W{week:02d}", ended


def queue_if_due(worker: Worker, config: Config, now: float | None = None) -> None:
    if not config.digest_channel:
        return
    key, ended = last_week(time.time() if now is None else now)
    if worker.submit("digest", {"until": ended, "channel": config.digest_channel}, once=key):
        logger.info("weekly digest %s queued", key)


def warn_without_chart(config: Config) -> None:
    if config.digest_channel and not digest_chart.available():
        logger.warning("FTPCODE_DIGEST_CHANNEL is set but the digest extra is missing: %s", NO_CHART)


def run_digest(work: Work) -> None:
    until, channel = work.payload["until"], work.payload["channel"]
    week = work.store.feedback_stats(7, until)
    before = work.store.feedback_stats(7, until - WEEK, top=1000)
    chart = None
    if digest_chart.available():
        daily = work.store.daily_answers(until - 2 * WEEK, until)
        chart = digest_chart.render(daily[:7], daily[7:], week, before)
    message = insights_view.digest_message(week, before, None if chart else NO_CHART)
    posted = work.client.chat_postMessage(channel=channel, **message.kwargs())
    if chart:
        try:
            _upload(work, channel, chart, posted.get("ts"))
        except SlackApiError as exc:
            logger.error("the digest's chart could not be posted: %s", exc.response.get("error"))


def _upload(work: Work, channel: str, png: bytes, thread_ts: str | None) -> None:
    """Slack's upload in three steps, each a journal step: a URL, the bytes, the file shared in the channel."""
    name = "ftpcode-week.png"
    url = work.client.files_getUploadURLExternal(filename=name, length=len(png))
    work.journal.step("upload", lambda: _post_bytes(url["upload_url"], png))
    files: list[dict[str, Any]] = [{"id": url["file_id"], "title": "ftpcode: answers a day, and the codes asked most"}]
    work.client.files_completeUploadExternal(files=files, channel_id=channel, thread_ts=thread_ts)


def _post_bytes(url: str, data: bytes) -> int:
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30, context=tls_context_for(url)) as response:
            return response.status
    except OSError as exc:
        raise RetryLater(f"upload: {exc.__class__.__name__}") from None


JOBS = {"digest": run_digest}
