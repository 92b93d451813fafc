"""The probe's settings, from the environment (the bot checks them at start-up, the CLI when it probes)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from knowledge.probe.allowlist import AllowList, Resolver, system_resolve
from knowledge.settings import whole_number

STEP_TIMEOUT = 10.0  # seconds for any one step: a connect, a reply, a handshake, a listing
TOTAL_TIMEOUT = 30.0  # seconds for the whole probe, every step included
PER_USER_HOUR = 10
PER_TARGET_HOUR = 30


class ProbeConfigError(ValueError):
    """One line naming the variable; never a password."""


def _per_hour(env: Mapping[str, str], name: str, default: int) -> int:
    return whole_number(env, name, default, 1, 1000, ProbeConfigError)


@dataclass(frozen=True)
class ProbeConfig:
    allow: AllowList
    credentials_file: str | None = None
    ca_file: str | None = None  # extra CA certificates (PEM) to trust besides the system's, for internal CAs
    per_user_hour: int = PER_USER_HOUR
    per_target_hour: int = PER_TARGET_HOUR
    step_timeout: float = STEP_TIMEOUT
    total_timeout: float = TOTAL_TIMEOUT
    resolve: Resolver = field(default=system_resolve, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProbeConfig:
        env = os.environ if env is None else env
        try:
            allow = AllowList.parse(env.get("FTPCODE_PROBE_ALLOW"))
        except ValueError as exc:
            raise ProbeConfigError(str(exc)) from None
        credentials = env.get("FTPCODE_PROBE_CREDENTIALS", "").strip() or None
        if credentials and not os.path.isfile(credentials):
            raise ProbeConfigError("FTPCODE_PROBE_CREDENTIALS must name a readable netrc file")
        ca_file = env.get("FTPCODE_PROBE_CA_FILE", "").strip() or None
        if ca_file and not os.path.isfile(ca_file):
            raise ProbeConfigError("FTPCODE_PROBE_CA_FILE must name a PEM file of CA certificates")
        return cls(
            allow=allow,
            credentials_file=credentials,
            ca_file=ca_file,
            per_user_hour=_per_hour(env, "FTPCODE_PROBE_PER_USER_HOUR", PER_USER_HOUR),
            per_target_hour=_per_hour(env, "FTPCODE_PROBE_PER_TARGET_HOUR", PER_TARGET_HOUR),
        )
