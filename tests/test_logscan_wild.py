"""The scanner on real logs that people posted publicly (tests/logs/wild/, described in its expected.json).

Four scores over the whole corpus, each with a floor:
- failures named: of the logs where something failed, the share whose result.failure holds the key code or
  error of expected.json;
- clean not blamed: of the logs where nothing failed (or the problem was no FTP error), the share with no failure;
- protocol right: the share whose result.protocol is the expected one;
- cause named: of the failed logs, the share where a finding says the thread's cause (its `cause_pattern`),
  in the finding's own words: text the finding quotes from the log ('...') does not count.

`python -m tests.test_logscan_wild` prints the per-log table and the scores; the test prints it when a score
falls below its floor.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from knowledge.logscan import ScanResult, scan

WILD = Path(__file__).parent / "logs" / "wild"
# The thresholds. The test fails below them.
FLOORS = {"failures named": 0.95, "clean not blamed": 0.95, "protocol right": 0.95, "cause named": 0.80}
# Text a finding quotes from the log: 'like this', "like this" or ‘like this’ (echoed log text).
# An apostrophe inside a word ("account's") starts no quote.
_QUOTED = re.compile(r"(?<![A-Za-z])'[^'\n]*'(?![A-Za-z])|\"[^\"\n]*\"|‘[^’\n]*’|“[^”\n]*”")


def load_expected() -> dict[str, dict]:
    return json.loads((WILD / "expected.json").read_text(encoding="utf-8"))


def own_words(summary: str) -> str:
    """A finding's summary without the text it quotes from the log."""
    return _QUOTED.sub("''", summary)


@dataclass
class Row:
    name: str
    expected: dict
    result: ScanResult
    named: bool | None  # None: nothing failed in this log
    clean: bool | None  # None: something failed
    protocol: bool
    cause: bool | None  # None: no cause to name

    def line(self) -> str:
        def mark(ok: bool | None) -> str:
            return "-" if ok is None else ("ok" if ok else "NO")

        failure = self.result.failure
        got = f"{failure.code or '-'} {failure.stage} l{failure.line}" if failure else "no failure"
        finding_ids = ",".join(f.id for f in self.result.findings[:3]) or "-"
        return (
            f"{self.name[:46]:46} {self.expected.get('set', '')[:5]:5} {mark(self.named):>3} {mark(self.clean):>3} "
            f"{mark(self.protocol):>3} {mark(self.cause):>3}  {self.result.format:10} "
            f"{self.result.protocol or '-':5}/{self.expected['protocol']:5} {got:24} {finding_ids}"
        )


def score_log(name: str, expected: dict) -> Row:
    text = (WILD / name).read_text(encoding="utf-8")
    result = scan(text)
    failure = result.failure
    named = clean = cause = None
    if expected["failed"]:
        key = expected.get("key", "").lower()
        held = f"{failure.code or ''} {failure.text}".lower() if failure else ""
        named = failure is not None and key in held
        pattern = expected.get("cause_pattern", "")
        if pattern:
            cause = any(re.search(pattern, own_words(f.summary)) for f in result.findings)
    else:
        clean = failure is None
    return Row(name, expected, result, named, clean, result.protocol == expected["protocol"], cause)


def score_all(only_set: str | None = None) -> tuple[list[Row], dict[str, float]]:
    rows = [score_log(name, exp) for name, exp in sorted(load_expected().items())]
    if only_set is not None:
        rows = [r for r in rows if r.expected.get("set") == only_set]

    def share(values: list[bool | None]) -> float:
        counted = [v for v in values if v is not None]
        return sum(counted) / len(counted) if counted else 1.0

    scores = {
        "failures named": share([r.named for r in rows]),
        "clean not blamed": share([r.clean for r in rows]),
        "protocol right": share([r.protocol for r in rows]),
        "cause named": share([r.cause for r in rows]),
    }
    return rows, scores


def report(rows: list[Row], scores: dict[str, float]) -> str:
    head = f"{'log':46} {'set':5} {'nam':>3} {'cln':>3} {'pro':>3} {'cau':>3}  {'format':10} {'got/want':11} failure"
    lines = [head, *(r.line() for r in rows), ""]
    lines += [f"{name}: {value:.1%} (floor {FLOORS[name]:.0%})" for name, value in scores.items()]
    return "\n".join(lines)


def test_corpus_is_described() -> None:
    expected = load_expected()
    logs = {p.name for p in WILD.iterdir() if p.name != "expected.json"}
    assert logs == set(expected), "every log in tests/logs/wild/ has an entry in expected.json, and no more"
    for name, entry in expected.items():
        for field in ("source", "format", "protocol", "failed", "key", "cause", "shown_by", "cause_pattern", "set"):
            assert field in entry, f"{name}: {field} missing"
        assert entry["protocol"] in ("ftp", "ftps", "sftp"), name
        assert not entry["failed"] or entry["key"], f"{name}: a failed log names its key code or error"
        re.compile(entry["cause_pattern"])


def test_scores_on_the_wild_corpus() -> None:
    rows, scores = score_all()
    below = {name: value for name, value in scores.items() if value < FLOORS[name]}
    assert not below, "scores below their floor:\n" + report(rows, scores)


def test_own_words_drop_echoed_log_text() -> None:
    summary = "The server refused STOR with 553 ('Could not create file: permission denied'): you may not write."
    assert "permission" not in own_words(summary)
    assert "may not write" in own_words(summary)  # the finding's own words stay
    assert "home directory" in own_words("The account's home directory does not exist ('257 \"\"').")


if __name__ == "__main__":
    import sys

    wanted = sys.argv[1] if len(sys.argv) > 1 else None
    print(report(*score_all(wanted)))
