"""The wording of findings, from knowledge/data/findings.toml (see the comment at its top).

say("connect-refused", where=" to ftp.example.com:21", text="...")            -> the summary
say("tls-refused", "went_on")                                                  -> a part
"""

from __future__ import annotations

import functools
import string
import tomllib
from pathlib import Path
from typing import Any

FINDINGS_FILE = Path(__file__).resolve().parent.parent / "data" / "findings.toml"


class WordingError(ValueError):
    """findings.toml is malformed; the message names the file and the finding."""


def load_wording(path: Path = FINDINGS_FILE) -> dict[str, dict[str, str]]:
    """Every finding's texts by id and part, checked: a summary and a source, every placeholder declared."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise WordingError(f"{path.name}: {exc}") from exc
    wording: dict[str, dict[str, str]] = {}
    for fid, table in document.items():
        if not isinstance(table, dict):
            raise WordingError(f"{path.name}: '{fid}' is not a table")
        wording[fid] = _check(path.name, fid, table)
    return wording


def _check(filename: str, fid: str, table: dict[str, Any]) -> dict[str, str]:
    where = f"{filename}: finding '{fid}'"
    declared = table.get("placeholders", {})
    if not isinstance(declared, dict) or not all(isinstance(v, str) and v for v in declared.values()):
        raise WordingError(f"{where}: 'placeholders' must map each name to what it holds")
    if not isinstance(table.get("source"), str) or not table["source"].strip():
        raise WordingError(f"{where}: 'source' is missing")
    texts = {key: value for key, value in table.items() if key not in ("placeholders", "source")}
    if not isinstance(texts.get("summary"), str) or not texts["summary"].strip():
        raise WordingError(f"{where}: 'summary' is missing")
    for part, text in texts.items():
        if not isinstance(text, str):
            raise WordingError(f"{where}: '{part}' must be text")
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as exc:
            raise WordingError(f"{where}: '{part}': {exc}") from exc
        unknown = sorted(names - set(declared))
        if unknown:
            raise WordingError(f"{where}: '{part}' uses {{{unknown[0]}}}, which 'placeholders' does not declare")
    return texts


@functools.cache
def _shipped() -> dict[str, dict[str, str]]:
    return load_wording()


def say(fid: str, part: str = "summary", **values: object) -> str:
    """The text `part` of finding `fid` with its placeholders filled in."""
    return _shipped()[fid][part].format(**values)


def finding_ids() -> frozenset[str]:
    return frozenset(_shipped())
