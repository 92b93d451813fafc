"""FTPCODE_PROBE_CREDENTIALS: the logins the probe may use, kept by the admin in a netrc file.

    machine ftp.example.com login probe password s3cret
    machine sftp.example.com:2222 login probe password other-s3cret

`HOST:PORT` is looked up first, then `HOST`. netrc's `default` entry is ignored: a password is only ever sent
to the server it was written down for. The file must not be readable by others. Neither the user name nor the
password is ever shown: every text the probe keeps goes through a Masker first.
"""

from __future__ import annotations

import netrc
import os
import stat
from dataclasses import dataclass, field

from knowledge.probe.model import Refused

MASK = "****"


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return "Credentials(****)"


def _unreadable(why: str) -> Refused:
    return Refused(
        "credentials",
        f"The probe's credentials file (FTPCODE_PROBE_CREDENTIALS) {why}; ask your admin to fix it.",
    )


def load(path: str | None, host: str, port: int) -> Credentials | None:
    """The credentials for host:port (or host), None when there is no file or no entry for it. Raises
    Refused when the file is missing, open to others or malformed; the message never quotes the file."""
    if not path:
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise _unreadable("cannot be read") from None
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise _unreadable("is readable or writable by every user on the machine (chmod 600 it)")
    try:
        parsed = netrc.netrc(path)
    except netrc.NetrcParseError as exc:
        # exc.msg can quote a token of the file (a password): only the line number is passed on.
        raise _unreadable(f"cannot be read at line {exc.lineno}") from None
    except (OSError, UnicodeError):
        raise _unreadable("cannot be read") from None
    for key in (f"{host}:{port}", f"[{host}]:{port}", host):
        if key in parsed.hosts:
            login, _account, password = parsed.hosts[key]
            if login and password:
                return Credentials(login, password)
    return None


class Masker:
    """Replaces the stored user name and password wherever they appear in a text the probe keeps."""

    def __init__(self, credentials: Credentials | None) -> None:
        secrets = []
        if credentials is not None:
            secrets.append(credentials.password)
            if len(credentials.user) >= 3:  # a shorter name would mask unrelated text
                secrets.append(credentials.user)
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def __call__(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text
