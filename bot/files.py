"""Reads a text file or snippet shared with the bot, within the log scanner's size limit."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlparse

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.web_transport import tls_context_for
from knowledge.logscan import MAX_SCAN_BYTES
from knowledge.scan_text import decode_log

# Slack shows sizes in decimal megabytes, so the limit a user reads ("5 MB") is 5,000,000 bytes; the scanner
# itself would read a little more (MAX_SCAN_BYTES is 5 MiB).
MAX_FILE_BYTES = min(5_000_000, MAX_SCAN_BYTES)
_TEXT_MIMETYPES = ("text/", "application/octet-stream", "application/x-log", "application/json")
_BINARY_TYPES = ("png", "jpg", "gif", "pdf", "zip", "gzip", "binary")


class FileRefused(Exception):
    """A friendly sentence saying why the file was not read."""


def _trusted(url: str, api_url: str) -> bool:
    """The bot token goes only to Slack's own file hosts (or the host serving the Web API, as in tests)."""
    host = urlparse(url).hostname or ""
    api_host = urlparse(api_url).hostname or ""
    return host in (api_host, "slack.com") or host.endswith((".slack.com", ".slack-gov.com"))


def read_text(client: WebClient, file_id: str) -> str:
    """The text of a shared file; raises FileRefused with a reason a user can act on."""
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        raise FileRefused("I could not open that file (Slack said: {}).".format(exc.response.get("error"))) from exc
    name = info.get("name") or "file"
    size = int(info.get("size") or 0)
    if size > MAX_FILE_BYTES:
        megabytes = f"{size / 1_000_000:.2f}".rstrip("0").rstrip(".")  # 5.01, not a puzzling 5.0 over 5
        raise FileRefused(
            f"{name} is {megabytes} MB, over the {MAX_FILE_BYTES // 1_000_000} MB I read. "
            "Share the part around the error (a few hundred lines) instead."
        )
    if info.get("filetype") in _BINARY_TYPES or not info.get("mimetype", "text/plain").startswith(_TEXT_MIMETYPES):
        raise FileRefused(f"{name} does not look like a text log. Share the log as a text file or snippet.")
    url = info.get("url_private_download") or info.get("url_private")
    if not url or not _trusted(url, client.base_url):
        raise FileRefused(f"I could not download {name}.")
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {client.token}"})
    try:
        with urllib.request.urlopen(request, timeout=20, context=tls_context_for(url)) as response:
            data = response.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FileRefused(f"I could not download {name}.") from exc
    return decode_log(data)
