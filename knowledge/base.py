"""Loads the knowledge files under knowledge/data/ and checks each entry against the schema.

The files are TOML so that a support engineer can fix an answer with a text editor. Each file names its
`kind` once at the top and lists its entries as `[[entries]]` tables; see knowledge/README.md.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data" / "codes"

KINDS = {
    "ftp-reply": "ftp",
    "winsock": "winsock",
    "sftp-status": "sftp",
    "client-message": "client",
}
PROTOCOLS = ("ftp", "ftps", "sftp")

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")

# What a field of an entry holds in the TOML file; the Entry dataclass below is the one list of fields.
TEXT, TEXTS, FLAG, NUMBER, BY_PROTOCOL = "text", "list of texts", "true or false", "whole number", "by protocol"


def _in_file(holds: str, required: bool = False) -> dict[str, object]:
    return {"holds": holds, "required": required}


class KnowledgeError(ValueError):
    """A knowledge file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    """One code or message. Fields with `_in_file` metadata are read from the TOML file (knowledge/README.md)."""

    id: str = field(metadata=_in_file(TEXT))  # derived from kind and code when the file does not give one
    kind: str  # from the file's top-level `kind`
    code: str = field(metadata=_in_file(TEXT, required=True))
    title: str = field(metadata=_in_file(TEXT, required=True))
    summary: str = field(metadata=_in_file(TEXT, required=True))
    causes: tuple[str, ...] = field(metadata=_in_file(TEXTS, required=True))
    user_action: tuple[str, ...] = field(metadata=_in_file(TEXTS, required=True))
    admin_action: tuple[str, ...] = field(metadata=_in_file(TEXTS, required=True))
    sources: tuple[str, ...] = field(metadata=_in_file(TEXTS, required=True))
    standard: bool = field(default=True, metadata=_in_file(FLAG))
    details: str = field(default="", metadata=_in_file(TEXT))
    name: str = field(default="", metadata=_in_file(TEXT))
    client: str = field(default="", metadata=_in_file(TEXT))
    message: str = field(default="", metadata=_in_file(TEXT))
    origin: str = field(default="", metadata=_in_file(TEXT))
    commands: tuple[str, ...] = field(default=(), metadata=_in_file(TEXTS))
    related: tuple[str, ...] = field(default=(), metadata=_in_file(TEXTS))
    messages: tuple[str, ...] = field(default=(), metadata=_in_file(TEXTS))
    aliases: tuple[str, ...] = field(default=(), metadata=_in_file(TEXTS))
    notes: tuple[str, ...] = field(default=(), metadata=_in_file(TEXTS))
    protocols: dict[str, str] = field(default_factory=dict, metadata=_in_file(BY_PROTOCOL))
    sftp_version: int | None = field(default=None, metadata=_in_file(NUMBER))
    openssh: bool | None = field(default=None, metadata=_in_file(FLAG))
    source_file: str = ""

    @property
    def is_three_digit(self) -> bool:
        return self.kind == "ftp-reply" and len(self.code) == 3 and self.code.isdigit()


# name -> {"holds": ..., "required": ...}, for every field a knowledge file may set
FILE_FIELDS: dict[str, dict[str, object]] = {f.name: dict(f.metadata) for f in fields(Entry) if f.metadata}


@dataclass
class KnowledgeBase:
    entries: list[Entry]
    by_id: dict[str, Entry]

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    def get(self, kind: str, code: str) -> Entry | None:
        return self.by_id.get(f"{KINDS[kind]}-{code.lower()}")


def _fail(path: Path, where: str, problem: str) -> KnowledgeError:
    return KnowledgeError(f"{path.name}: {where}: {problem}")


def _value(path: Path, where: str, key: str, holds: object, value: object) -> object:
    """The field's value as the Entry keeps it; raises naming the field when the file holds something else."""
    if holds == TEXT:
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, where, f"'{key}' must be a non-empty string")
        return value.strip()
    if holds == TEXTS:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _fail(path, where, f"'{key}' must be a list of non-empty strings")
        return tuple(v.strip() for v in value)
    if holds == FLAG:
        if not isinstance(value, bool):
            raise _fail(path, where, f"'{key}' must be true or false")
        return value
    if holds == NUMBER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(path, where, f"'{key}' must be a whole number")
        return value
    if not isinstance(value, dict) or not all(
        k in PROTOCOLS and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        raise _fail(path, where, f"'{key}' must map some of {', '.join(PROTOCOLS)} to text")
    return {k: v.strip() for k, v in value.items()}


def _entry(path: Path, kind: str, index: int, raw: dict) -> Entry:
    where = f"entry {index + 1}" + (f" (code {raw['code']!r})" if "code" in raw else "")
    unknown = set(raw) - set(FILE_FIELDS)
    if unknown:
        raise _fail(path, where, f"unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, object] = {}
    for key, spec in FILE_FIELDS.items():
        if key not in raw:
            if spec["required"]:
                raise _fail(path, where, f"'{key}' is missing ({spec['holds']})")
            continue
        values[key] = _value(path, where, key, spec["holds"], raw[key])
        if spec["required"] and not values[key]:
            raise _fail(path, where, f"'{key}' must not be empty")
    if values.get("standard") is False and "origin" not in values:
        raise _fail(path, where, "a non-standard entry needs 'origin' (where the code comes from)")
    if kind == "client-message" and "client" not in values:
        raise _fail(path, where, "a client message needs 'client'")
    entry_id = values.setdefault("id", f"{KINDS[kind]}-{str(values['code']).lower()}")
    if not _ID_RE.match(str(entry_id)):
        raise _fail(path, where, f"'id' {entry_id!r} must be lower-case letters, digits, '.' and '-'")
    return Entry(kind=kind, source_file=path.name, **values)  # type: ignore[arg-type]


def load_file(path: Path) -> list[Entry]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"{path.name}: not valid TOML: {exc}") from exc
    kind = document.get("kind")
    if kind not in KINDS:
        raise KnowledgeError(f"{path.name}: top-level 'kind' must be one of {', '.join(KINDS)}")
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise KnowledgeError(f"{path.name}: no [[entries]]")
    return [_entry(path, kind, i, raw) for i, raw in enumerate(raw_entries)]


def build(entries: Iterable[Entry]) -> KnowledgeBase:
    entries = list(entries)
    by_id: dict[str, Entry] = {}
    for entry in entries:
        if entry.id in by_id:
            raise KnowledgeError(
                f"{entry.source_file}: duplicate id {entry.id!r} (also in {by_id[entry.id].source_file})"
            )
        by_id[entry.id] = entry
    for entry in entries:
        missing = [r for r in entry.related if r not in by_id]
        if missing:
            raise KnowledgeError(f"{entry.source_file}: {entry.id}: 'related' names unknown id(s) {', '.join(missing)}")
    return KnowledgeBase(entries=entries, by_id=by_id)


def load_dir(directory: Path) -> KnowledgeBase:
    files = sorted(directory.glob("*.toml"))
    return build(e for path in files for e in load_file(path))


@functools.cache
def load() -> KnowledgeBase:
    """The knowledge base shipped with ftpcode, loaded and checked once per process."""
    return load_dir(DATA_DIR)
