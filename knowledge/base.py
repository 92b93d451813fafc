"""Loads the knowledge files under knowledge/data/ and checks each entry against the schema.

The files are TOML so that a support engineer can fix an answer with a text editor. Each file names its
`kind` once at the top and lists its entries as `[[entries]]` tables; see knowledge/README.md.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data" / "codes"

KINDS = {
    "ftp-reply": "ftp",
    "winsock": "winsock",
    "sftp-status": "sftp",
    "client-message": "client",
}
PROTOCOLS = ("ftp", "ftps", "sftp")

_REQUIRED_TEXT = ("code", "title", "summary")
_OPTIONAL_TEXT = ("details", "name", "client", "message", "origin")
_REQUIRED_LISTS = ("causes", "user_action", "admin_action", "sources")
_OPTIONAL_LISTS = ("commands", "related", "messages", "aliases", "notes")
_OTHER = ("id", "standard", "protocols", "sftp_version", "openssh")
_KNOWN_KEYS = set(_REQUIRED_TEXT + _OPTIONAL_TEXT + _REQUIRED_LISTS + _OPTIONAL_LISTS + _OTHER)
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")


class KnowledgeError(ValueError):
    """A knowledge file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str
    code: str
    title: str
    summary: str
    causes: tuple[str, ...]
    user_action: tuple[str, ...]
    admin_action: tuple[str, ...]
    sources: tuple[str, ...]
    standard: bool = True
    details: str = ""
    name: str = ""
    client: str = ""
    message: str = ""
    origin: str = ""
    commands: tuple[str, ...] = ()
    related: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    protocols: dict[str, str] = field(default_factory=dict)
    sftp_version: int | None = None
    openssh: bool | None = None
    source_file: str = ""

    @property
    def is_three_digit(self) -> bool:
        return self.kind == "ftp-reply" and len(self.code) == 3 and self.code.isdigit()


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


def _text_list(path: Path, where: str, key: str, value: object, required: bool) -> tuple[str, ...]:
    if value is None:
        if required:
            raise _fail(path, where, f"'{key}' is missing (a list of strings)")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(path, where, f"'{key}' must be a list of non-empty strings")
    if required and not value:
        raise _fail(path, where, f"'{key}' must not be empty")
    return tuple(v.strip() for v in value)


def _entry(path: Path, kind: str, index: int, raw: dict) -> Entry:
    where = f"entry {index + 1}" + (f" (code {raw['code']!r})" if "code" in raw else "")
    unknown = set(raw) - _KNOWN_KEYS
    if unknown:
        raise _fail(path, where, f"unknown field(s) {', '.join(sorted(unknown))}")
    text: dict[str, str] = {}
    for key in _REQUIRED_TEXT + _OPTIONAL_TEXT:
        value = raw.get(key)
        if value is None:
            if key in _REQUIRED_TEXT:
                raise _fail(path, where, f"'{key}' is missing")
            continue
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, where, f"'{key}' must be a non-empty string")
        text[key] = value.strip()
    lists = {k: _text_list(path, where, k, raw.get(k), True) for k in _REQUIRED_LISTS}
    lists |= {k: _text_list(path, where, k, raw.get(k), False) for k in _OPTIONAL_LISTS}
    standard = raw.get("standard", True)
    if not isinstance(standard, bool):
        raise _fail(path, where, "'standard' must be true or false")
    if not standard and "origin" not in text:
        raise _fail(path, where, "a non-standard entry needs 'origin' (where the code comes from)")
    protocols = raw.get("protocols", {})
    if not isinstance(protocols, dict) or not all(
        k in PROTOCOLS and isinstance(v, str) and v.strip() for k, v in protocols.items()
    ):
        raise _fail(path, where, f"'protocols' must map some of {', '.join(PROTOCOLS)} to text")
    if kind == "client-message" and "client" not in text:
        raise _fail(path, where, "a client message needs 'client'")
    entry_id = raw.get("id") or f"{KINDS[kind]}-{text['code'].lower()}"
    if not isinstance(entry_id, str) or not _ID_RE.match(entry_id):
        raise _fail(path, where, f"'id' {entry_id!r} must be lower-case letters, digits, '.' and '-'")
    sftp_version = raw.get("sftp_version")
    if sftp_version is not None and not isinstance(sftp_version, int):
        raise _fail(path, where, "'sftp_version' must be a whole number")
    openssh = raw.get("openssh")
    if openssh is not None and not isinstance(openssh, bool):
        raise _fail(path, where, "'openssh' must be true or false")
    return Entry(
        id=entry_id,
        kind=kind,
        standard=standard,
        protocols={k: v.strip() for k, v in protocols.items()},
        sftp_version=sftp_version,
        openssh=openssh,
        source_file=path.name,
        **text,
        **lists,
    )


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
