"""Loads the knowledge files under knowledge/data/ and checks each entry against the schema.

The files are TOML so that a support engineer can fix an answer with a text editor. Each file names its
`kind` once at the top and lists its entries as `[[entries]]` tables; see knowledge/README.md.
"""

from __future__ import annotations

import os
from collections import namedtuple
from types import MappingProxyType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

PACKAGE_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DIGITS_FILE = "digits.toml"

KINDS = {
    "ftp-reply": "ftp",
    "winsock": "winsock",
    "sftp-status": "sftp",
    "client-message": "client",
}
PROTOCOLS = ("ftp", "ftps", "sftp")

_ID_PATTERN = r"^[a-z0-9][a-z0-9.-]*$"

# What a field of an entry holds in the TOML file; _FIELDS below is the one list of fields.
TEXT, TEXTS, FLAG, NUMBER, BY_PROTOCOL = "text", "list of texts", "true or false", "whole number", "by protocol"
_NO_DEFAULT = object()

# Every field of an entry, in order: what the TOML file holds for it (None: not read from the file), whether
# the file must give it, and its default.
_FIELDS = (
    ("id", TEXT, False, _NO_DEFAULT),  # derived from kind and code when the file does not give one
    ("kind", None, False, _NO_DEFAULT),  # from the file's top-level `kind`
    ("code", TEXT, True, _NO_DEFAULT),
    ("title", TEXT, True, _NO_DEFAULT),
    ("summary", TEXT, True, _NO_DEFAULT),
    ("causes", TEXTS, True, _NO_DEFAULT),
    ("user_action", TEXTS, True, _NO_DEFAULT),
    ("admin_action", TEXTS, True, _NO_DEFAULT),
    ("sources", TEXTS, True, _NO_DEFAULT),
    ("standard", FLAG, False, True),
    ("details", TEXT, False, ""),
    ("name", TEXT, False, ""),
    ("client", TEXT, False, ""),
    ("message", TEXT, False, ""),
    ("origin", TEXT, False, ""),
    ("commands", TEXTS, False, ()),
    ("related", TEXTS, False, ()),
    ("messages", TEXTS, False, ()),
    ("aliases", TEXTS, False, ()),
    ("notes", TEXTS, False, ()),
    ("protocols", BY_PROTOCOL, False, MappingProxyType({})),
    ("sftp_version", NUMBER, False, None),
    ("openssh", FLAG, False, None),
    ("source_file", None, False, ""),
)

# name -> {"holds": ..., "required": ...}, for every field a knowledge file may set
FILE_FIELDS: dict[str, dict[str, object]] = {
    name: {"holds": holds, "required": required} for name, holds, required, _ in _FIELDS if holds
}


class KnowledgeError(ValueError):
    """A knowledge file is malformed; the message names the file and the entry."""


# Entries and the other answer records are named tuples and plain classes, not dataclasses: importing
# dataclasses (it imports inspect) and building the classes took ~10 ms of every `ftpcode` start.
_EntryTuple = namedtuple(
    "Entry",
    [name for name, *_ in _FIELDS],
    defaults=[default for *_, default in _FIELDS if default is not _NO_DEFAULT],
)


class Entry(_EntryTuple):
    """One code or message, checked (knowledge/README.md says what each field holds): text fields are str, lists
    of texts tuples of str, `protocols` maps ftp/ftps/sftp to text."""

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


def _value(name: str, where: str, key: str, holds: object, value: object) -> object:
    """The field's value as the Entry keeps it; raises naming the field when the file holds something else."""
    if holds == TEXT:
        if not isinstance(value, str) or not value.strip():
            raise _fail(name, where, f"'{key}' must be a non-empty string")
        return value.strip()
    if holds == TEXTS:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise _fail(name, where, f"'{key}' must be a list of non-empty strings")
        return tuple(v.strip() for v in value)
    if holds == FLAG:
        if not isinstance(value, bool):
            raise _fail(name, where, f"'{key}' must be true or false")
        return value
    if holds == NUMBER:
        if not isinstance(value, int) or isinstance(value, bool):
            raise _fail(name, where, f"'{key}' must be a whole number")
        return value
    if not isinstance(value, dict) or not all(
        k in PROTOCOLS and isinstance(v, str) and v.strip() for k, v in value.items()
    ):
        raise _fail(name, where, f"'{key}' must map some of {', '.join(PROTOCOLS)} to text")
    return {k: v.strip() for k, v in value.items()}


def _entry(name: str, kind: str, index: int, raw: dict) -> Entry:
    where = f"entry {index + 1}" + (f" (code {raw['code']!r})" if "code" in raw else "")
    unknown = set(raw) - set(FILE_FIELDS)
    if unknown:
        raise _fail(name, where, f"unknown field(s) {', '.join(sorted(unknown))}")
    values: dict[str, object] = {}
    for key, spec in FILE_FIELDS.items():
        if key not in raw:
            if spec["required"]:
                raise _fail(name, where, f"'{key}' is missing ({spec['holds']})")
            continue
        values[key] = _value(name, where, key, spec["holds"], raw[key])
        if spec["required"] and not values[key]:
            raise _fail(name, where, f"'{key}' must not be empty")
    if values.get("standard") is False and "origin" not in values:
        raise _fail(name, where, "a non-standard entry needs 'origin' (where the code comes from)")
    if kind == "client-message" and "client" not in values:
        raise _fail(name, where, "a client message needs 'client'")
    entry_id = values.setdefault("id", f"{KINDS[kind]}-{str(values['code']).lower()}")
    import re  # here, not at the top: answering from the snapshot checks no entry

    if not re.match(_ID_PATTERN, str(entry_id)):
        raise _fail(name, where, f"'id' {entry_id!r} must be lower-case letters, digits, '.' and '-'")
    values.setdefault("protocols", {})  # a dict of its own (the default, read-only, is not marshal data)
    return Entry(kind=kind, source_file=name, **values)


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
    from knowledge.digits import parse_table

    entries = [
        e for name, data in sources.items() if name != DIGITS_FILE for e in parse_file(os.path.basename(name), data)
    ]
    return build(entries), parse_table(DIGITS_FILE, sources[DIGITS_FILE])


ENTRY_FIELDS = Entry._fields


def to_rows(kb: KnowledgeBase) -> list[tuple]:
    """The entries as plain tuples, for the snapshot."""
    return [tuple(entry) for entry in kb.entries]


def from_rows(rows: list[tuple]) -> KnowledgeBase:
    """The knowledge base again from `to_rows`, already checked."""
    entries = [Entry._make(row) for row in rows]
    return KnowledgeBase(entries=entries, by_id={e.id: e for e in entries})


_knowledge: tuple[KnowledgeBase, dict] | None = None


def _loaded() -> tuple[KnowledgeBase, dict]:
    # A global, not functools.cache: importing functools was ~2 ms of a start in a venv. As with the cache, two
    # threads asking at once may both load; knowledge.lookup.finder holds a lock around the first load.
    global _knowledge
    if _knowledge is None:
        from knowledge import snapshot

        _knowledge = snapshot.load(knowledge_dir())
    return _knowledge


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
