"""Conditions in the triage tree: when a question is asked, a step shown, a note added.

A condition is a table, or a list of tables. A table holds when all its keys hold; a list holds when any one
of its tables holds. A key is `code` (patterns matched against the entry id) or the id of a question (the
answer must be one of the listed option ids; an unanswered question never matches):

    ask_when = { code = ["ftp-425", "ftp-4xx", "winsock-*"], protocol = ["ftp", "ftps-explicit"] }
    ask_when = [{ code = ["ftp-229"] }, { stage = ["listing", "upload"] }]

Code patterns: an exact id (`ftp-425`); `x` standing for one digit after the prefix (`ftp-4xx`, `ftp-42x`;
it also matches the class entry `ftp-4xx` itself); `*` for any run of characters (`winsock-*`, `*`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGIT_PATTERN = re.compile(r"^([a-z][a-z0-9.]*-)([0-9x]+)$")


def compile_code_pattern(pattern: str) -> re.Pattern[str]:
    digits = _DIGIT_PATTERN.match(pattern)
    if digits and "x" in digits.group(2):
        body = "".join("[0-9x]" if c == "x" else re.escape(c) for c in digits.group(2))
        return re.compile(re.escape(digits.group(1)) + body + r"\Z")
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z")


class Clause:
    """All of: the code matches one of `codes` (when given) and each question's answer is one of its options."""

    __slots__ = ("_code_hits", "answers", "codes")
    _CACHE_LIMIT = 4096

    def __init__(
        self, codes: tuple[re.Pattern[str], ...] | None, answers: tuple[tuple[str, frozenset[str]], ...]
    ) -> None:
        self.codes = codes
        self.answers = answers
        self._code_hits: dict[str, bool] = {}

    def code_matches(self, entry_id: str) -> bool:
        if self.codes is None:
            return True
        hit = self._code_hits.get(entry_id)
        if hit is None:
            if len(self._code_hits) >= self._CACHE_LIMIT:
                self._code_hits.clear()
            hit = self._code_hits[entry_id] = any(p.match(entry_id) for p in self.codes)
        return hit

    def holds(self, entry_id: str, answers: dict[str, str]) -> bool:
        if self.codes is not None and not self.code_matches(entry_id):
            return False
        # plain loops rather than all()/any(): path walks evaluate conditions millions of times
        for question, allowed in self.answers:  # noqa: SIM110
            if answers.get(question) not in allowed:
                return False
        return True


@dataclass(frozen=True)
class Condition:
    clauses: tuple[Clause, ...]

    @classmethod
    def always(cls) -> Condition:
        return cls((Clause(None, ()),))

    @classmethod
    def never(cls) -> Condition:
        return cls(())

    def holds(self, entry_id: str, answers: dict[str, str]) -> bool:
        for clause in self.clauses:  # noqa: SIM110
            if clause.holds(entry_id, answers):
                return True
        return False

    def may_hold_for(self, entry_id: str) -> bool:
        """False when no clause accepts the code, whatever the answers."""
        return any(clause.code_matches(entry_id) for clause in self.clauses)

    def questions(self) -> set[str]:
        return {q for clause in self.clauses for q, _ in clause.answers}

    def for_code(self, entry_id: str) -> Narrowed:
        """The clauses left once the code is known: what the answers alone must satisfy."""
        return tuple(clause.answers for clause in self.clauses if clause.code_matches(entry_id))


# A condition narrowed to one code: any one of these tuples of (question, allowed options) must hold.
Narrowed = tuple[tuple[tuple[str, frozenset[str]], ...], ...]


def narrowed_holds(narrowed: Narrowed, answers: dict[str, str]) -> bool:
    for clause in narrowed:
        for question, allowed in clause:
            if answers.get(question) not in allowed:
                break
        else:
            return True
    return False
