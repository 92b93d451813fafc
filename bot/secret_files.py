"""Files that hold secrets (.env, SLACK_*_FILE): which of them other users may read."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping

SECRET_FILE_VARIABLES = ("SLACK_BOT_TOKEN_FILE", "SLACK_APP_TOKEN_FILE", "SLACK_SIGNING_SECRET_FILE")


def readable_by_others(dotenv_path: str, env: Mapping[str, str]) -> list[str]:
    """One line for each secret file that its group or other users may read: the `.env` loaded (its path,
    empty when none was found) and the files the SLACK_*_FILE variables of `env` name. Never the content."""
    named = [(".env", dotenv_path)] + [(name, env.get(name, "").strip()) for name in SECRET_FILE_VARIABLES]
    lines = []
    for name, path in named:
        try:
            mode = os.stat(path).st_mode if path else 0
        except OSError:
            continue
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            where = path if name == ".env" else f"{path} ({name})"
            lines.append(f"{where} is readable by group or others (mode {stat.S_IMODE(mode):04o}): chmod 600 it")
    return lines
