"""Files that hold secrets (.env, SLACK_*_FILE): which of them other users may read."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

SECRET_FILE_VARIABLES = (
    "SLACK_BOT_TOKEN_FILE",
    "SLACK_APP_TOKEN_FILE",
    "SLACK_SIGNING_SECRET_FILE",
    "FTPCODE_FEEDBACK_SECRET_FILE",
)


def readable_by_others(dotenv_path: str, env: Mapping[str, str]) -> list[str]:
    """One line for each secret file that its group or other users may read: the `.env` loaded (its path,
    empty when none was found) and the files the SLACK_*_FILE variables of `env` name. Never the content.

    The group may read a file the bot does not own: then the bot reads it through that group, as with a
    Kubernetes secret volume (root-owned, `defaultMode: 0440`, the pod's fsGroup), and chmod cannot take it away.
    """
    named = [(".env", dotenv_path)] + [(name, env.get(name, "").strip()) for name in SECRET_FILE_VARIABLES]
    lines = []
    for name, path in named:
        if not path:
            continue
        try:
            status = os.stat(path)
        except OSError:
            continue
        group_needed = status.st_uid != os.geteuid()
        if status.st_mode & stat.S_IROTH or (status.st_mode & stat.S_IRGRP and not group_needed):
            where = path if name == ".env" else f"{path} ({name})"
            mode = stat.S_IMODE(status.st_mode)
            lines.append(f"{where} is readable by group or others (mode {mode:04o}): chmod 600 it")
    return lines
