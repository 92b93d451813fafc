"""Understands a typed answer: an option number, an option id or label, or one of its keywords."""

from __future__ import annotations

import re

from knowledge.triage.model import Option, Question


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def _occurs(phrase: str, text: str) -> bool:
    """`phrase` appears in `text` as whole words: 'ftp' is found in 'ftp://host' but not in 'sftp'."""
    start = r"(?<![a-z0-9])" if phrase[:1].isalnum() else ""
    end = r"(?![a-z0-9])" if phrase[-1:].isalnum() else ""
    return re.search(start + re.escape(phrase) + end, text) is not None


def _phrases(option: Option) -> tuple[str, ...]:
    return (option.id, option.id.replace("-", " "), _normalise(option.label), *option.keywords)


def match_option(question: Question, text: str) -> Option | None:
    """The option `text` picks, or None when it picks none or is ambiguous (two options match equally well)."""
    said = _normalise(text).strip(" .!")
    if not said:
        return None
    if said.isdecimal() and 1 <= int(said) <= len(question.options):
        return question.options[int(said) - 1]
    best: list[tuple[int, Option]] = []
    for option in question.options:
        if said in (option.id, _normalise(option.label)):
            return option
        lengths = [len(p) for p in _phrases(option) if p and _occurs(p, said)]
        if lengths:
            best.append((max(lengths), option))
    if not best:
        return None
    best.sort(key=lambda pair: pair[0], reverse=True)
    if len(best) > 1 and best[0][0] == best[1][0]:
        return None
    return best[0][1]
