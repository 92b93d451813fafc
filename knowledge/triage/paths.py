"""Walks every path through the tree, for the tree's own checks and for tests.

Two codes behave the same when the same code patterns match them, so checking one code of each such class
covers every code there is: `sample_codes` builds one of each from the patterns the tree uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from knowledge.triage.conditions import Condition
from knowledge.triage.engine import Tree
from knowledge.triage.model import Question, TriageState


def walk(tree: Tree, entry_id: str, prefilled: dict[str, str] | None = None) -> Iterator[TriageState]:
    """Every state in which the conversation for `entry_id` can end, one per combination of answers."""
    for state, _ in walk_shown(tree, entry_id, prefilled):
        yield state


def walk_shown(
    tree: Tree, entry_id: str, prefilled: dict[str, str] | None = None
) -> Iterator[tuple[TriageState, tuple[Question, ...]]]:
    """Like `walk`, with the questions as they were shown on the way (only the options that fitted then)."""
    pending: list[tuple[TriageState, tuple[Question, ...]]] = [(tree.start(entry_id, prefilled), ())]
    while pending:
        state, shown = pending.pop()
        question = tree.current_question(state)
        if question is None:
            yield state, shown
            continue
        asked = (*shown, question)
        pending.extend((tree.answer(state, question.id, option.id), asked) for option in question.options)


def _conditions(tree: Tree) -> Iterator[Condition]:
    for question in tree.questions:
        yield question.ask_when
        yield question.skip_when
    for item in (*tree.steps, *tree.notes):
        yield item.when
        yield item.unless
    for preset in tree.presets:
        yield preset.when


def code_patterns(tree: Tree) -> list[re.Pattern[str]]:
    seen: dict[str, re.Pattern[str]] = {}
    for condition in _conditions(tree):
        for clause in condition.clauses:
            for pattern in clause.codes or ():
                seen.setdefault(pattern.pattern, pattern)
    return list(seen.values())


def _instances(pattern: str) -> list[str]:
    """Codes a compiled pattern matches: its literal form, and with wildcards filled in."""
    text = pattern.removesuffix(r"\Z").replace(r"\-", "-").replace(r"\.", ".")
    filled = [
        text.replace("[0-9x]", digit).replace(".*", fill) for digit, fill in (("9", "zz"), ("0", "0"), ("x", "x-9"))
    ]
    return [code for code in filled if re.fullmatch(pattern, code)]


def sample_codes(tree: Tree, extra: tuple[str, ...] = ()) -> list[str]:
    """One code for each distinct way the tree's code patterns can match (plus one none of them matches)."""
    patterns = code_patterns(tree)
    candidates = [*extra, "unknown-0"]
    for pattern in patterns:
        candidates += _instances(pattern.pattern)
    by_signature: dict[tuple[bool, ...], str] = {}
    for code in candidates:
        signature = tuple(bool(p.match(code)) for p in patterns)
        by_signature.setdefault(signature, code)
    return sorted(by_signature.values())
