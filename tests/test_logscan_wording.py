"""knowledge/data/findings.toml: every finding the rules can raise has its wording, and the loader names the file
and the finding when the wording is malformed."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from knowledge.logscan import findings
from knowledge.logscan.wording import FINDINGS_FILE, WordingError, finding_ids, load_wording

RULES = Path(findings.__file__).read_text(encoding="utf-8")


def test_shipped_wording_loads_and_every_text_fills_in() -> None:
    wording = load_wording()
    for fid, texts in wording.items():
        for part, text in texts.items():
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
            assert text.format(**dict.fromkeys(names, "x")), f"{fid}.{part}"


def test_every_finding_the_rules_raise_has_wording() -> None:
    said = set(re.findall(r'say\("([a-z0-9-]+)"', RULES))
    assert said, "the rules take their wording from findings.toml"
    assert said <= finding_ids(), sorted(said - finding_ids())
    named = set(re.findall(r'"([a-z]+(?:-[a-z0-9]+)+)"', RULES))  # also ids picked first: fid = "..." if ...
    assert finding_ids() <= named, f"wording nobody uses: {sorted(finding_ids() - named)}"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "findings.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[a]\nsummary = "s {x}"\nsource = "RFC 959"\n', r"finding 'a': 'summary' uses \{x\}, which 'placeholders'"),
        ('[a]\nsummary = "s"\n', r"finding 'a': 'source' is missing"),
        ('[a]\nsource = "RFC 959"\n', r"finding 'a': 'summary' is missing"),
        ('[a]\nsummary = "s {"\nsource = "RFC 959"\n', r"finding 'a': 'summary': "),
        ('[a]\nsummary = "s"\nsource = "x"\nplaceholders = { x = "" }\n', r"'placeholders' must map"),
        ("[a\n", r"findings\.toml: "),
    ],
)
def test_malformed_wording_is_named(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(WordingError, match=problem):
        load_wording(_write(tmp_path, text))


def test_shipped_file_is_the_one_the_scanner_reads() -> None:
    assert FINDINGS_FILE.name == "findings.toml" and FINDINGS_FILE.parent.name == "data"
