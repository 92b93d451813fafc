"""Every path through the shipped triage tree, walked once per test run and shared by the triage tests."""

from __future__ import annotations

import functools
from typing import NamedTuple

from knowledge.triage import Checklist, Question, TriageState, load_tree
from knowledge.triage.paths import sample_codes, walk_shown


class Ending(NamedTuple):
    state: TriageState
    shown: tuple[Question, ...]  # the questions as asked on the way, with the options offered then
    checklist: Checklist


@functools.cache
def endings() -> dict[str, list[Ending]]:
    """Every final state of every path, for one code of each class of codes the tree tells apart."""
    tree = load_tree()
    return {
        code: [Ending(state, shown, tree.checklist(state)) for state, shown in walk_shown(tree, code)]
        for code in sample_codes(tree)
    }
