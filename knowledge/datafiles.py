"""Every data file under knowledge/data/ with the loader that checks it, and the checks across files.

Each loader refuses unknown keys, missing fields and ids that do not exist, naming the file and the entry.
A data file no loader claims is itself an error, so a new file cannot go unchecked.
"""

from __future__ import annotations

from pathlib import Path

from knowledge import digits, popular
from knowledge.base import KnowledgeBase, KnowledgeError, load_dir
from knowledge.logscan.wording import load_wording
from knowledge.probe.findings import load_wording as load_probe_wording
from knowledge.triage.loader import parse_tree
from knowledge.triage.paths import code_patterns

DATA_DIR = Path(__file__).parent / "data"


def check_all(data_dir: Path = DATA_DIR) -> list[Path]:
    """Load and check every data file; returns the files checked, raises on the first problem."""
    kb = load_dir(data_dir / "codes")
    checked = sorted((data_dir / "codes").glob("*.toml"))
    digits.load_table(data_dir / "digits.toml")
    popular.load_popular(kb, data_dir / "popular.toml")
    tree_file = data_dir / "triage.toml"
    check_triage_codes(tree_file, kb)
    try:
        load_wording(data_dir / "findings.toml")
        load_probe_wording(data_dir / "probe.toml", frozenset(kb.by_id))
    except ValueError as exc:  # WordingError is one; both messages name the file and the finding
        raise KnowledgeError(str(exc)) from exc
    checked += [data_dir / name for name in ("digits.toml", "popular.toml", "findings.toml", "probe.toml")]
    checked.append(tree_file)
    unclaimed = sorted(p for p in data_dir.rglob("*") if p.is_file() and p not in checked)
    if unclaimed:
        name = unclaimed[0].relative_to(data_dir)
        raise KnowledgeError(f"{name}: no loader checks this file (add one to knowledge/datafiles.py)")
    return checked


def check_triage_codes(tree_file: Path, kb: KnowledgeBase) -> None:
    """Every code pattern in the triage tree names at least one knowledge entry (no typo'd or vanished ids)."""
    for pattern in code_patterns(parse_tree(tree_file)):
        if not any(pattern.match(entry_id) for entry_id in kb.by_id):
            shown = pattern.pattern.removesuffix(r"\Z").replace("\\", "").replace(".*", "*").replace("[0-9x]", "x")
            raise KnowledgeError(f"{tree_file.name}: code {shown!r} names no entry of the knowledge base")
