"""Guided triage: a short branching conversation after a code is explained, ending in a fitted checklist.

The questions, conditions and advice live in knowledge/data/triage.toml; this package only walks them.
"""

from knowledge.triage.engine import Tree, code_label
from knowledge.triage.loader import DEFAULT_PATH, load_tree
from knowledge.triage.model import (
    Checklist,
    Note,
    Option,
    Question,
    Step,
    TriageError,
    TriageState,
    TriageTreeError,
)

__all__ = [
    "DEFAULT_PATH",
    "Checklist",
    "Note",
    "Option",
    "Question",
    "Step",
    "Tree",
    "TriageError",
    "TriageState",
    "TriageTreeError",
    "code_label",
    "load_tree",
]
