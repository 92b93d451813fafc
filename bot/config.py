"""Settings from the environment or a .env file, checked once at start-up."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from knowledge.settings import whole_number

if TYPE_CHECKING:
    from knowledge.probe.config import ProbeConfig

SLACK_API_DEFAULT = "https://slack.com/api/"


class ConfigError(ValueError):
    """One clear line naming the variable and where to get it; never the value itself."""


@dataclass(frozen=True)
class Config:
    bot_token: str
    app_token: str | None
    signing_secret: str | None
    port: int
    api_url: str
    database_url: str
    log_level: str
    log_format: str
    escalation_channel: str | None
    escalation_mention: str | None
    triage_ttl_days: int
    http_workers: int
    http_threads: int
    port_given: bool
    work_threads: int = 8
    database_timeout_seconds: float = 2.0
    job_max_wait_seconds: float = 900.0
    job_lease_seconds: float = 60.0
    job_retry_base_seconds: float = 1.0
    # HTTP mode's front (bot/http_front.py): the largest body read, how long a body may take, how long an idle
    # kept-alive connection is held.
    http_max_body_bytes: int = 1024 * 1024
    http_body_timeout: int = 10
    http_keepalive: int = 75
    probe: ProbeConfig | None = None  # FTPCODE_PROBE_*: None only where a Config is built by hand (tests)
    reaction: str = "ftpcode"  # the emoji (its name, no colons) that asks the bot to explain a message
    # Feedback and insights (bot/feedback.py, bot/insights.py): how long feedback rows are kept, the secret that
    # keys the hash of user ids (None: a random key kept in the database), who may see the stats, where the
    # weekly digest goes.
    feedback_ttl_days: int = 180
    feedback_secret: str | None = None
    admins: tuple[str, ...] = ()
    digest_channel: str | None = None
    site_dir: str | None = None  # FTPCODE_SITE_DIR: the team's site notes (knowledge/site.py)

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


WHERE_BOT_TOKEN = "api.slack.com/apps > your app > OAuth & Permissions > Bot User OAuth Token (xoxb-...)"
_WHERE_APP = "api.slack.com/apps > your app > Basic Information > App-Level Tokens (xapp-..., scope connections:write)"
_WHERE_SECRET = "api.slack.com/apps > your app > Basic Information > Signing Secret"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _number(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    return whole_number(env, name, default, low, high, ConfigError)


def _seconds(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw) if raw.replace(".", "", 1).isdecimal() else None
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ConfigError(f"{name} must be a number of seconds from {low:g} to {high:g}")
    return value


def _secret(env: dict[str, str], name: str) -> tuple[str, str]:
    """The value of `name`, or the content of the file `name`_FILE names (the container secrets convention; its
    trailing newline stripped), and which of the two variables gave it."""
    file_variable = name + "_FILE"
    path = env.get(file_variable, "").strip()
    if not path:
        return env.get(name, "").strip(), name
    if env.get(name, "").strip():
        raise ConfigError(f"{name} and {file_variable} are both set: keep one (the file is safer)")
    try:
        content = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{file_variable}: {path} is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{file_variable}: cannot read {path} ({exc.strerror or exc.__class__.__name__})") from None
    if not content.strip():
        raise ConfigError(f"{file_variable}: {path} is empty")
    return content.strip(), file_variable


def _token(env: dict[str, str], name: str, prefix: str, where: str, required: bool) -> str | None:
    value, source = _secret(env, name)
    if not value:
        if required:
            raise ConfigError(f"{name} (or {name}_FILE) is not set: get it at {where}")
        return None
    if not value.startswith(prefix) or not re.fullmatch(r"[A-Za-z0-9-]+", value):
        raise ConfigError(f"{source} does not look like a token starting with {prefix}: get it at {where}")
    return value


def default_database_url(env: dict[str, str]) -> str:
    data_dir = Path(env.get("FTPCODE_DATA_DIR") or Path.cwd() / "data")
    return f"sqlite:///{data_dir / 'ftpcode.sqlite3'}"


def from_env(env: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if env is None else env)
    bot_token = _token(env, "SLACK_BOT_TOKEN", "xoxb-", WHERE_BOT_TOKEN, required=True)
    app_token = _token(env, "SLACK_APP_TOKEN", "xapp-", _WHERE_APP, required=False)
    secret_value, secret_source = _secret(env, "SLACK_SIGNING_SECRET")
    secret = secret_value or None
    if app_token is None and secret is None:
        raise ConfigError(
            "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) must be set: "
            f"get the app token at {_WHERE_APP}, or the secret at {_WHERE_SECRET}"
        )
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9]{8,128}", secret):
        raise ConfigError(f"{secret_source} does not look like a signing secret: get it at {_WHERE_SECRET}")
    api_url = env.get("SLACK_API_URL", "").strip() or SLACK_API_DEFAULT
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
    if not api_url.endswith("/"):
        api_url += "/"
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise ConfigError("LOG_FORMAT must be text or json")
    database_url = env.get("DATABASE_URL", "").strip() or default_database_url(env)
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise ConfigError("DATABASE_URL must start with sqlite:/// or postgresql://")
    channel = env.get("TRIAGE_ESCALATION_CHANNEL", "").strip() or None
    if channel is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", channel):
        raise ConfigError("TRIAGE_ESCALATION_CHANNEL must be a channel ID such as C0123456789 (not its #name)")
    mention = env.get("TRIAGE_ESCALATION_MENTION", "").strip() or None
    if mention is not None and not re.fullmatch(r"S[A-Z0-9]{2,}", mention):
        raise ConfigError("TRIAGE_ESCALATION_MENTION must be a user group ID such as S0123456789")
    # HTTP mode's front. The keep-alive must outlast the idle timeout of the load balancer in front (AWS ALB's
    # default: 60 s), or it reuses a connection closed here and the delivery fails.
    max_body = _number(env, "HTTP_MAX_BODY_BYTES", 1024 * 1024, 1024, 100 * 1024 * 1024)
    body_timeout = _number(env, "HTTP_BODY_TIMEOUT_SECONDS", 10, 1, 30)
    keepalive = _number(env, "HTTP_KEEPALIVE_SECONDS", 75, 1, 3600)
    reaction = env.get("FTPCODE_REACTION", "").strip().strip(":") or "ftpcode"
    if not re.fullmatch(r"[a-z0-9_+'-]{1,100}", reaction):
        raise ConfigError("FTPCODE_REACTION must be an emoji name such as ftpcode or mag (lower case, no spaces)")
    return Config(
        bot_token=bot_token or "",
        app_token=app_token,
        signing_secret=secret,
        port=_number(env, "PORT", 3000, 1, 65535),
        api_url=api_url,
        database_url=database_url,
        log_level=log_level,
        log_format=log_format,
        escalation_channel=channel,
        escalation_mention=mention,
        triage_ttl_days=_number(env, "TRIAGE_TTL_DAYS", 7, 1, 3650),
        http_workers=_number(env, "WEB_CONCURRENCY", 1, 1, 64),
        http_threads=_number(env, "HTTP_THREADS", 16, 1, 256),
        port_given=bool(env.get("PORT", "").strip()),
        work_threads=_number(env, "WORK_THREADS", 8, 1, 256),
        database_timeout_seconds=_seconds(env, "DATABASE_TIMEOUT_SECONDS", 2.0, 0.1, 60),
        job_max_wait_seconds=_seconds(env, "JOB_MAX_WAIT_SECONDS", 900.0, 1, 7 * 86400),
        job_lease_seconds=_seconds(env, "JOB_LEASE_SECONDS", 60.0, 1, 3600),
        job_retry_base_seconds=_seconds(env, "JOB_RETRY_BASE_SECONDS", 1.0, 0.01, 600),
        http_max_body_bytes=max_body,
        http_body_timeout=body_timeout,
        http_keepalive=keepalive,
        probe=probe_settings(env),
        reaction=reaction,
        **feedback_settings(env),
        site_dir=site_dir(env),
    )


def site_dir(env: dict[str, str]) -> str | None:
    """FTPCODE_SITE_DIR: a folder; what is in it is checked when the bot starts (bot/site_notes.py)."""
    directory = env.get("FTPCODE_SITE_DIR", "").strip()
    if directory and not Path(directory).is_dir():
        raise ConfigError("FTPCODE_SITE_DIR must name a folder of site notes (see knowledge/site-example/)")
    return directory or None


def feedback_settings(env: dict[str, str]) -> dict:
    """FEEDBACK_TTL_DAYS, FTPCODE_FEEDBACK_SECRET(_FILE), FTPCODE_ADMINS and FTPCODE_DIGEST_CHANNEL."""
    secret, source = _secret(env, "FTPCODE_FEEDBACK_SECRET")
    if secret and len(secret) < 16:
        raise ConfigError(f"{source} must be at least 16 characters (for example: openssl rand -hex 32)")
    admins = tuple(a.strip() for a in env.get("FTPCODE_ADMINS", "").replace(" ", ",").split(",") if a.strip())
    if not all(re.fullmatch(r"[UW][A-Z0-9]{2,}", a) for a in admins):
        raise ConfigError(
            "FTPCODE_ADMINS must be Slack user IDs such as U0123456789, comma-separated (profile > Copy member ID)"
        )
    digest = env.get("FTPCODE_DIGEST_CHANNEL", "").strip() or None
    if digest is not None and not re.fullmatch(r"[CG][A-Z0-9]{2,}", digest):
        raise ConfigError("FTPCODE_DIGEST_CHANNEL must be a channel ID such as C0123456789 (not its #name)")
    return {
        "feedback_ttl_days": _number(env, "FEEDBACK_TTL_DAYS", 180, 1, 3650),
        "feedback_secret": secret or None,
        "admins": admins,
        "digest_channel": digest,
    }


def probe_settings(env: dict[str, str]) -> ProbeConfig:
    """FTPCODE_PROBE_*, checked now rather than at a user's first `/ftpcode test`: the allow-list, the limits,
    and that the credentials and CA files can be used (the probe would refuse, or fail, on each use)."""
    import ssl

    from knowledge.probe import credentials
    from knowledge.probe.config import ProbeConfig, ProbeConfigError
    from knowledge.probe.model import Refused

    try:
        probe = ProbeConfig.from_env(env)
    except ProbeConfigError as exc:
        raise ConfigError(str(exc)) from None
    try:
        credentials.load(probe.credentials_file, "", 0)  # reads and checks the whole file; no entry is named ""
    except Refused as exc:
        # The line the user would read ends "ask your admin to fix it"; here the admin is reading.
        raise ConfigError(exc.message.removesuffix("; ask your admin to fix it.")) from None
    if probe.ca_file:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=probe.ca_file)
        except (ssl.SSLError, OSError):
            raise ConfigError("FTPCODE_PROBE_CA_FILE must name a PEM file of CA certificates") from None
    return probe
