"""The probe's findings and its record of steps: wording from knowledge/data/probe.toml, every value masked."""

from __future__ import annotations

import functools
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from knowledge.probe.model import Finding, Step

WORDING_FILE = Path(__file__).resolve().parents[1] / "data" / "probe.toml"


@functools.cache
def wording() -> dict[str, dict[str, str]]:
    with WORDING_FILE.open("rb") as handle:
        document = tomllib.load(handle)
    return {f["id"]: f for f in document["findings"]}


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
