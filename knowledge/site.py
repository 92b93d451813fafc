"""Site notes: a team's own facts (its FTP hosts, its passive port range, whom to ask, a runbook) attached to
knowledge entries, scan findings and triage checklist steps, from a folder of TOML files (FTPCODE_SITE_DIR).

Each file is read like a knowledge file and checked as strictly: unknown keys and fields, missing fields, codes,
findings and steps that do not exist are refused with the file and the entry named. A folder is loaded whole or
not at all. knowledge/README.md documents the fields; knowledge/site-example/ is a folder to start from.

    site = "Example Corp"            # every file names the team; "At Example Corp: ..." in the answers
    kind = "ftp-reply"               # what `code` in [[entries]] means, as in the base (default ftp-reply)

    [[entries]]                      # a knowledge entry, by `code` (with the kind above) or by `id`
    code = "425"
    note = "Our passive range is 50000-50100; the network team opens it for new servers."
    passive_ports = "50000-50100"
    hosts = ["ftps://ftp.example.com:21"]
    contact = "#network-help"
    runbook = "https://wiki.example.com/ftp/passive"
    handoff_channel = "C0NETWORK"    # hand-offs about this code go here, not to TRIAGE_ESCALATION_CHANNEL
    user_action = ["..."]            # the team's own steps, shown before the textbook's
    admin_action = ["..."]

    [[findings]]                     # a scan finding, by id (knowledge/data/findings.toml)
    id = "passive-private-address"
    note = "..."

    [[steps]]                        # a triage checklist step, by id (knowledge/data/triage.toml)
    id = "passive-range-vsftpd"
    note = "..."
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from knowledge.base import KINDS, KnowledgeError

MAX_FILES = 200
MAX_FILE_BYTES = 256 * 1024
MAX_TEXT = 1000
MAX_ITEMS = 20

TOP_LEVEL = {"site", "kind", "entries", "findings", "steps"}
COMMON_FIELDS = {"note", "contact", "runbook", "hosts", "passive_ports", "handoff_channel"}
ENTRY_FIELDS = {"code", "id", "user_action", "admin_action"} | COMMON_FIELDS
TARGET_FIELDS = {"id", "note", "contact", "runbook"}
_URL = re.compile(r"https?://[^\s<>|\"]+")
_HOST = re.compile(r"(ftp|ftps|ftpes|sftp)://[A-Za-z0-9.-]+(:\d{1,5})?/?")
_PORTS = re.compile(r"(\d{1,5})\s*[-–]\s*(\d{1,5})")
_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,}")


class SiteError(KnowledgeError):
    """A site folder that cannot be used; the message names the file and the entry, in one line."""


@dataclass(frozen=True)
class Note:
    """One fact of the team's, about one entry, finding or step."""

    text: str
    file: str
    contact: str = ""
    runbook: str = ""
    hosts: tuple[str, ...] = ()
    passive_ports: str = ""
    handoff_channel: str = ""
    user_action: tuple[str, ...] = ()
    admin_action: tuple[str, ...] = ()


@dataclass(frozen=True)
class SiteNotes:
    site: str
    entries: dict[str, tuple[Note, ...]] = field(default_factory=dict)
    findings: dict[str, tuple[Note, ...]] = field(default_factory=dict)
    steps: dict[str, tuple[Note, ...]] = field(default_factory=dict)
    files: int = 0

    @property
    def count(self) -> int:
        return sum(len(n) for kind in (self.entries, self.findings, self.steps) for n in kind.values())

    def handoff_channel(self, entry_id: str) -> str | None:
        """The channel this team hands cases about `entry_id` to, if a note names one."""
        return next((n.handoff_channel for n in self.entries.get(entry_id, ()) if n.handoff_channel), None)


def site_files(directory: Path) -> list[Path]:
    """The folder's TOML files, refused before any is read when there are too many."""
    if not directory.is_dir():
        raise SiteError(f"{directory} is not a folder")
    names = []
    with os.scandir(directory) as found:
        for item in found:
            if item.name.endswith(".toml") and not item.name.startswith("."):
                names.append(item.name)
                if len(names) > MAX_FILES:
                    raise SiteError(f"{directory}: more than {MAX_FILES} .toml files; keep the notes in fewer files")
    return [directory / name for name in sorted(names)]


def signature(directory: Path) -> tuple:
    """What changes when any file of the folder changes (names, sizes, modification times)."""
    try:
        with os.scandir(directory) as found:
            return tuple(
                sorted(
                    (item.name, item.stat().st_mtime_ns, item.stat().st_size)
                    for item in found
                    if item.name.endswith(".toml")
                )
            )
    except OSError:
        return ()


class _Reader:
    """Checks one file, naming the file, the entry and the field in every refusal."""

    def __init__(self, path: Path, known: _Known) -> None:
        self.path = path
        self.known = known

    def fail(self, where: str, problem: str) -> SiteError:
        return SiteError(f"{self.path.name}: {where}: {problem}" if where else f"{self.path.name}: {problem}")

    def text(self, where: str, raw: dict, key: str, required: bool = False) -> str:
        value = raw.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"'{key}' must be a non-empty string")
        if len(value) > MAX_TEXT:
            raise self.fail(where, f"'{key}' is longer than {MAX_TEXT} characters")
        return value.strip()

    def texts(self, where: str, raw: dict, key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, f"'{key}' must be a list of non-empty strings")
        if len(value) > MAX_ITEMS or any(len(v) > MAX_TEXT for v in value):
            raise self.fail(where, f"'{key}' holds more than {MAX_ITEMS} items or an item over {MAX_TEXT} characters")
        return tuple(v.strip() for v in value)

    def note(self, where: str, raw: dict, allowed: set[str]) -> Note:
        unknown = set(raw) - allowed
        if unknown:
            raise self.fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")
        runbook = self.text(where, raw, "runbook")
        if runbook and (not _URL.fullmatch(runbook) or len(runbook) > 300):
            raise self.fail(where, "'runbook' must be an http:// or https:// address (at most 300 characters)")
        hosts = self.texts(where, raw, "hosts")
        for host in hosts:
            if not _HOST.fullmatch(host):
                raise self.fail(
                    where, f"'hosts': {host!r} must look like ftps://ftp.example.com:21 (ftp, ftps, ftpes, sftp)"
                )
        ports = self.text(where, raw, "passive_ports")
        if ports:
            matched = _PORTS.fullmatch(ports)
            if not matched or not 1024 <= int(matched[1]) <= int(matched[2]) <= 65535:
                raise self.fail(where, "'passive_ports' must be a range such as 50000-50100 (1024 to 65535)")
        channel = self.text(where, raw, "handoff_channel")
        if channel and not _CHANNEL.fullmatch(channel):
            raise self.fail(where, "'handoff_channel' must be a channel ID such as C0123456789 (not its #name)")
        return Note(
            text=self.text(where, raw, "note", required=True),
            file=self.path.name,
            contact=self.text(where, raw, "contact"),
            runbook=runbook,
            hosts=hosts,
            passive_ports=ports,
            handoff_channel=channel,
            user_action=self.texts(where, raw, "user_action") if "user_action" in allowed else (),
            admin_action=self.texts(where, raw, "admin_action") if "admin_action" in allowed else (),
        )

    def tables(self, document: dict, key: str) -> list[dict]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail("", f"'{key}' must be [[{key}]] tables")
        return value

    def read(self, notes: dict[str, dict[str, list[Note]]]) -> str:
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise self.fail("", f"larger than {MAX_FILE_BYTES // 1024} KiB")
            with self.path.open("rb") as handle:
                document = tomllib.load(handle)
        except tomllib.TOMLDecodeError as exc:
            raise self.fail("", f"not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self.fail("", f"cannot be read ({exc.__class__.__name__})") from None
        unknown = set(document) - TOP_LEVEL
        if unknown:
            raise self.fail("", f"unknown top-level key(s) {', '.join(sorted(unknown))}")
        site = self.text("", document, "site", required=True)
        if len(site) > 100:
            raise self.fail("", "'site' is longer than 100 characters")
        kind = document.get("kind", "ftp-reply")
        if kind not in KINDS:
            raise self.fail("", f"'kind' must be one of {', '.join(KINDS)}")
        for index, raw in enumerate(self.tables(document, "entries")):
            label = raw.get("code", raw.get("id"))
            where = f"entry {index + 1}" + (f" (code {label!r})" if label is not None else "")
            if ("code" in raw) == ("id" in raw):
                raise self.fail(where, "give 'code' or 'id' (one of them)")
            if "code" in raw and not isinstance(raw["code"], str | int):
                raise self.fail(where, "'code' must be a string")
            entry_id = str(raw["id"]) if "id" in raw else f"{KINDS[kind]}-{str(raw['code']).lower()}"
            if entry_id not in self.known.entries:
                raise self.fail(where, f"unknown code: no knowledge entry {entry_id!r}")
            notes["entries"].setdefault(entry_id, []).append(self.note(where, raw, ENTRY_FIELDS))
        for group, known in (("findings", self.known.findings), ("steps", self.known.steps)):
            singular = group[:-1]
            for index, raw in enumerate(self.tables(document, group)):
                target = raw.get("id")
                where = f"{singular} {index + 1}" + (f" (id {target!r})" if target is not None else "")
                if not isinstance(target, str) or target not in known:
                    raise self.fail(where, f"unknown {singular}: {target!r} is not a {singular} id")
                notes[group].setdefault(target, []).append(self.note(where, raw, TARGET_FIELDS))
        return site


@dataclass(frozen=True)
class _Known:
    entries: frozenset[str]
    findings: frozenset[str]
    steps: frozenset[str]


def _known() -> _Known:
    from knowledge.base import load
    from knowledge.logscan.wording import finding_ids
    from knowledge.triage import load_tree

    return _Known(frozenset(load().by_id), finding_ids(), frozenset(s.id for s in load_tree().steps))


def load_site(directory: Path | str) -> SiteNotes:
    """The folder's notes, every file checked; raises SiteError naming the first problem."""
    directory = Path(directory)
    files = site_files(directory)
    if not files:
        raise SiteError(f"{directory}: no .toml files")
    known = _known()
    notes: dict[str, dict[str, list[Note]]] = {"entries": {}, "findings": {}, "steps": {}}
    sites: dict[str, str] = {}
    for path in files:
        site = _Reader(path, known).read(notes)
        if sites and site not in sites:
            first = next(iter(sites.values()))
            raise SiteError(f"{path.name}: 'site' is {site!r} but {first} says {next(iter(sites))!r}")
        sites.setdefault(site, path.name)
    frozen: dict[str, Any] = {k: {key: tuple(v) for key, v in group.items()} for k, group in notes.items()}
    return SiteNotes(next(iter(sites)), frozen["entries"], frozen["findings"], frozen["steps"], len(files))
