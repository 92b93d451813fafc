"""Loads the knowledge files under knowledge/data/ and checks each entry against the schema.

The files are TOML so that a support engineer can fix an answer with a text editor. Each file names its
`kind` once at the top and lists its entries as `[[entries]]` tables; see knowledge/README.md.
"""

from __future__ import annotations

import functools
import os
import re
from collections import namedtuple
from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

PACKAGE_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

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
_ID_PATTERN = r"^[a-z0-9][a-z0-9.-]*$"
DIGITS_FILE = "digits.toml"


class KnowledgeError(ValueError):
    """A knowledge file is malformed; the message names the file and the entry."""


# Entries and the other answer records are named tuples and plain classes, not dataclasses: importing
# dataclasses (it imports inspect) and building the classes took ~10 ms of every `ftpcode` start.
_NO_PROTOCOLS: Mapping[str, str] = MappingProxyType({})

_EntryTuple = namedtuple(
    "Entry",
    (
        "id kind code title summary causes user_action admin_action sources standard details name client message "
        "origin commands related messages aliases notes protocols sftp_version openssh source_file"
    ),
    defaults=(True, "", "", "", "", "", (), (), (), (), (), _NO_PROTOCOLS, None, None, ""),
)


class Entry(_EntryTuple):
    """One checked entry (knowledge/README.md says what each field holds). Text fields are str, list fields
    tuples of str; `standard` is a bool, `protocols` maps ftp/ftps/sftp to text, `sftp_version` an int or None,
    `openssh` a bool or None, `source_file` the file's name."""

    __slots__ = ()

    @property
    def is_three_digit(self) -> bool:
        return self.kind == "ftp-reply" and len(self.code) == 3 and self.code.isdigit()


class KnowledgeBase:
    def __init__(self, entries: list[Entry], by_id: dict[str, Entry]) -> None:
        self.entries = entries
        self.by_id = by_id

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    def get(self, kind: str, code: str) -> Entry | None:
        return self.by_id.get(f"{KINDS[kind]}-{code.lower()}")


def _fail(name: str, where: str, problem: str) -> KnowledgeError:
    return KnowledgeError(f"{name}: {where}: {problem}")


def _text_list(path: str, where: str, key: str, value: object, required: bool) -> tuple[str, ...]:
    if value is None:
        if required:
            raise _fail(path, where, f"'{key}' is missing (a list of strings)")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(path, where, f"'{key}' must be a list of non-empty strings")
    if required and not value:
        raise _fail(path, where, f"'{key}' must not be empty")
    return tuple(v.strip() for v in value)


def _entry(path: str, kind: str, index: int, raw: dict) -> Entry:
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
    if not isinstance(entry_id, str) or not re.match(_ID_PATTERN, entry_id):
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
        source_file=path,
        **text,
        **lists,
    )


def parse_file(name: str, data: bytes) -> list[Entry]:
    """The checked entries of one knowledge file, `name` being how errors name it."""
    import tomllib  # only when the snapshot is rebuilt

    try:
        document = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{name}: not valid TOML: {exc}") from exc
    kind = document.get("kind")
    if kind not in KINDS:
        raise KnowledgeError(f"{name}: top-level 'kind' must be one of {', '.join(KINDS)}")
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise KnowledgeError(f"{name}: no [[entries]]")
    return [_entry(name, kind, i, raw) for i, raw in enumerate(raw_entries)]


def load_file(path: str | os.PathLike) -> list[Entry]:
    with open(path, "rb") as handle:
        return parse_file(os.path.basename(path), handle.read())


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


def toml_files(directory: str | os.PathLike) -> list[str]:
    """The knowledge files in one directory, in load order (hidden files, such as editor locks, left out)."""
    names = sorted(n for n in os.listdir(directory) if n.endswith(".toml") and not n.startswith("."))
    return [os.path.join(directory, n) for n in names]


def load_dir(directory: str | os.PathLike) -> KnowledgeBase:
    return build(e for path in toml_files(directory) for e in load_file(path))


def knowledge_dir() -> str:
    """Where the knowledge files are read from: FTPCODE_KNOWLEDGE_DIR (laid out like knowledge/data) or ours."""
    return os.environ.get("FTPCODE_KNOWLEDGE_DIR") or PACKAGE_DATA


def source_files(directory: str) -> list[str]:
    """Every file `compile_sources` reads from a knowledge directory: codes/*.toml and digits.toml."""
    return [*toml_files(os.path.join(directory, "codes")), os.path.join(directory, DIGITS_FILE)]


def compile_sources(sources: dict[str, bytes]) -> tuple[KnowledgeBase, dict]:
    """The checked knowledge base and the digits table, from the files' contents by their path in the directory."""
    import tomllib

    entries = [
        e for name, data in sources.items() if name != DIGITS_FILE for e in parse_file(os.path.basename(name), data)
    ]
    try:
        digit_table = tomllib.loads(sources[DIGITS_FILE].decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{DIGITS_FILE}: not valid TOML: {exc}") from exc
    return build(entries), digit_table


ENTRY_FIELDS = Entry._fields


def to_rows(kb: KnowledgeBase) -> list[tuple]:
    """The entries as plain tuples, for the snapshot."""
    return [tuple(entry) for entry in kb.entries]


def from_rows(rows: list[tuple]) -> KnowledgeBase:
    """The knowledge base again from `to_rows`, already checked."""
    entries = [Entry._make(row) for row in rows]
    return KnowledgeBase(entries=entries, by_id={e.id: e for e in entries})


@functools.cache
def _loaded() -> tuple[KnowledgeBase, dict]:
    from knowledge import snapshot

    return snapshot.load(knowledge_dir())


def load() -> KnowledgeBase:
    """The knowledge base (FTPCODE_KNOWLEDGE_DIR or the shipped one), loaded and checked once per process."""
    return _loaded()[0]


def digit_table() -> dict:
    """digits.toml of the same knowledge directory: what each digit of a reply code means."""
    return _loaded()[1]


def __getattr__(name: str) -> object:
    # DATA_DIR, the shipped codes as a Path, is made on first use: pathlib is not needed to answer a query.
    if name == "DATA_DIR":
        from pathlib import Path

        return Path(PACKAGE_DATA) / "codes"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
