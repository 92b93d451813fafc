"""The probe's findings and its record of steps: wording from knowledge/data/probe.toml, every value masked."""

from __future__ import annotations

import functools
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from knowledge.probe.model import Finding, Step

WORDING_FILE = Path(__file__).resolve().parents[1] / "data" / "probe.toml"


_REQUIRED = {"id", "text", "source"}
_FIELDS = {*_REQUIRED, "entry"}  # no entry: a finding no knowledge entry explains (a protocol mix-up)


@functools.cache
def wording() -> dict[str, dict[str, str]]:
    return load_wording(WORDING_FILE)


def load_wording(path: Path, entry_ids: frozenset[str] | None = None) -> dict[str, dict[str, str]]:
    """The findings of probe.toml by id, checked: id, text and source (and maybe entry) only, text everywhere, ids
    once, and (with `entry_ids`) an entry that exists or the reply-code pattern "ftp-{code}". The message names
    file and finding."""
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    if set(document) != {"findings"} or not isinstance(document["findings"], list):
        raise ValueError(f"{path.name}: expected only [[findings]] tables")
    found: dict[str, dict[str, str]] = {}
    for number, finding in enumerate(document["findings"], 1):
        where = f"{path.name}: finding {finding.get('id') or number}"
        if not _REQUIRED <= set(finding) <= _FIELDS:
            raise ValueError(f"{where}: fields must be {sorted(_REQUIRED)} and maybe 'entry', not {sorted(finding)}")
        if not all(isinstance(v, str) and v.strip() for v in finding.values()):
            raise ValueError(f"{where}: every field must be non-empty text")
        if finding["id"] in found:
            raise ValueError(f"{where}: the id is used twice")
        entry = finding.get("entry")
        if entry_ids is not None and entry is not None and not _names_entries(entry, entry_ids):
            raise ValueError(f"{where}: entry {entry!r} is no knowledge entry")
        found[finding["id"]] = finding
    return found


def clip(text: str, limit: int = 100) -> str:
    text = " / ".join(part.strip() for part in text.splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Recorder:
    """Collects the steps and findings of one probe, masking every text on the way in."""

    def __init__(self, mask: Callable[[str | None], str | None]) -> None:
        self.mask = mask
        self.steps: list[Step] = []
        self.findings: list[Finding] = []

    def step(
        self,
        name: str,
        status: str,
        started: float,
        detail: str,
        *,
        command: str | None = None,
        reply: str | None = None,
    ) -> Step:
        step = Step(
            name,
            status,
            time.perf_counter() - started,
            self.mask(detail) or "",
            self.mask(command),
            self.mask(clip(reply, 300)) if reply is not None else None,
        )
        self.steps.append(step)
        return step

    def find(self, finding_id: str, step: str, severity: str = "fail", **values: object) -> Finding:
        wording_ = wording()[finding_id]
        masked = {k: self.mask(clip(str(v), 120)) for k, v in values.items()}
        entry = wording_.get("entry")
        finding = Finding(
            finding_id,
            wording_["text"].format_map(masked),
            step,
            entry.format_map(masked) if entry else None,
            severity,
        )
        if all(f.id != finding_id for f in self.findings):
            self.findings.append(finding)
        return finding

    def failed(self) -> bool:
        return any(s.status == "fail" for s in self.steps)


def _names_entries(entry: str, entry_ids: frozenset[str]) -> bool:
    """An entry id, or a pattern filled in by the probe ("sftp-{status}") whose fixed start some entry has."""
    if "{" not in entry:
        return entry in entry_ids
    start = entry.split("{", 1)[0]
    return any(entry_id.startswith(start) for entry_id in entry_ids)
