"""Logging set-up: text or JSON lines, and no secret ever reaches a log.

The masking is done where records are made (a LogRecord factory), not in a handler: every record of every
logger, slack_sdk's and Bolt's included, is masked before any handler sees it, also handlers that other code
adds later. Records below the level are never made, so they cost nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable, Iterator

from knowledge.logscan import mask_escaped_secrets

# Bot, user, app, refresh and rotated tokens (xoxe.xoxb-...), workflow tokens. Escapes such as \n may stand
# right before one, so no word boundary.
_TOKEN = re.compile(r"(xox[a-z](?:\.xox[a-z])?-|xapp-|xwfp-)[A-Za-z0-9-]+")
_MIN_SECRET_LENGTH = 8  # shorter values would mask ordinary words


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with tokens, the given secret values (the signing secret) and pasted passwords masked, escaped
    or not: slack_sdk logs raw Socket Mode envelopes at DEBUG."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "****")
    if "x" in text:
        text = _TOKEN.sub(lambda m: m[1] + "***", text)
    return mask_escaped_secrets(text)


class SecretMask(logging.Filter):
    """Masks a record in place: its message with the arguments merged in, its exception and stack text.

    The exception becomes text (exc_text) and exc_info is dropped, so no formatter can print it unmasked;
    logging's own Formatter prints exc_text as it would have printed the traceback.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # the arguments do not fit the message: both shown, masked, instead of logging's error
            message = f"{record.msg} (arguments: {record.args!r})"
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


# What a record is about, beside its message: the event, job and triage it was logged for (structured logs).
_about: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("ftpcode_log_about", default=None)


@contextlib.contextmanager
def about(**fields: str | None) -> Iterator[None]:
    """Records logged in this block (this thread) carry `fields`: event=..., job=..., triage=..."""
    token = _about.set({**(_about.get() or {}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _about.reset(token)


def begin(**fields: str | None) -> None:
    """Records logged on this thread carry `fields` from now until the next begin(): for a Bolt middleware, which
    cannot open an `about` block around the listeners (they run after it has returned)."""
    _about.set({k: v for k, v in fields.items() if v} or None)


def note(**fields: str | None) -> None:
    """Adds `fields` to what the records of the current `about` block carry (a triage found along the way)."""
    current = _about.get()
    if current is not None:  # only inside an `about` block: a note outside one would stick to the thread
        current.update({k: v for k, v in fields.items() if v})


def install(secrets: Iterable[str] = ()) -> SecretMask:
    """Every LogRecord made from now on, by any logger, is masked; installing again replaces the mask."""
    mask = SecretMask(secrets)
    make = logging.getLogRecordFactory()
    make = getattr(make, "unmasked", make)

    def make_masked(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        mask.filter(record)
        about = _about.get()
        record.about = dict(about) if about else None
        return record

    make_masked.unmasked = make  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_masked)
    return mask


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "about", None) or {})
        if record.exc_text:
            line["error"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        about = getattr(record, "about", None)
        if not about:
            return text
        fields = " ".join(f"{k}={v}" for k, v in about.items())
        head, newline, rest = text.partition("\n")  # after the message, before a traceback
        return f"{head} [{fields}]{newline}{rest}"


def setup(level: str, fmt: str, secrets: Iterable[str | None] = ()) -> None:
    """One handler on stderr; `secrets` are values masked wherever they appear (the tokens, the signing secret)."""
    install(s for s in secrets if s)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
