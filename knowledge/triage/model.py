"""The parts a triage tree is made of, and the state of one conversation.

Everything here is plain data: the tree comes from knowledge/data/triage.toml, the state travels through Slack
buttons and a database as JSON (`to_dict` / `from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.triage.conditions import Condition

STATUSES = ("asking", "checklist", "resolved", "handoff", "stopped")
FINISHED = ("resolved", "handoff", "stopped")
WHO = ("user", "admin")


class TriageError(ValueError):
    """A triage call that does not fit the conversation: a stale question, an unknown option, a bad state."""


class TriageTreeError(TriageError):
    """The triage tree file is malformed; the message names the file and the question or step."""


@dataclass(frozen=True)
class Option:
    id: str
    label: str
    hint: str = ""
    keywords: tuple[str, ...] = ()
    when: Condition = field(default_factory=Condition.always)
    unless: Condition = field(default_factory=Condition.never)

    def fits(self, entry_id: str, answers: dict[str, str]) -> bool:
        return self.when.holds(entry_id, answers) and not self.unless.holds(entry_id, answers)


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[Option, ...]
    help: str = ""
    ask_when: Condition = field(default_factory=Condition.always)
    skip_when: Condition = field(default_factory=Condition.never)

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def applies(self, entry_id: str, answers: dict[str, str]) -> bool:
        return self.ask_when.holds(entry_id, answers) and not self.skip_when.holds(entry_id, answers)

    def options_for(self, entry_id: str, answers: dict[str, str]) -> tuple[Option, ...]:
        """The options that fit the earlier answers (an SFTP user is not offered FTP servers)."""
        return tuple(o for o in self.options if o.fits(entry_id, answers))


@dataclass(frozen=True)
class Step:
    """One line of the final checklist, for the user or for the server's admin."""

    id: str
    who: str
    text: str
    source: str
    when: Condition = field(default_factory=Condition.always)
    unless: Condition = field(default_factory=Condition.never)
    fallback: bool = False

    def applies(self, entry_id: str, answers: dict[str, str]) -> bool:
        return self.when.holds(entry_id, answers) and not self.unless.holds(entry_id, answers)


@dataclass(frozen=True)
class Note:
    """A remark shown above the checklist, e.g. that SFTP never sends FTP reply codes."""

    id: str
    text: str
    when: Condition = field(default_factory=Condition.always)
    unless: Condition = field(default_factory=Condition.never)

    def applies(self, entry_id: str, answers: dict[str, str]) -> bool:
        return self.when.holds(entry_id, answers) and not self.unless.holds(entry_id, answers)


@dataclass(frozen=True)
class Preset:
    """Answers the code itself gives away (an SFTP status code means the protocol is SFTP)."""

    when: Condition
    answers: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Checklist:
    user_steps: tuple[Step, ...]
    admin_steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TriageState:
    """Where one triage conversation stands.

    `answers` holds every answer in order: first the prefilled ones (from the caller or implied by the code),
    then those given in the conversation, whose question ids `asked` lists in order.
    """

    entry_id: str
    answers: tuple[tuple[str, str], ...] = ()
    asked: tuple[str, ...] = ()
    prefilled: tuple[tuple[str, str], ...] = ()
    status: str = "asking"
    version: int = 0

    def answer_of(self, question_id: str) -> str | None:
        return next((o for q, o in self.answers if q == question_id), None)

    @property
    def answer_map(self) -> dict[str, str]:
        return dict(self.answers)

    def to_dict(self) -> dict:
        return {
            "entry_id": self.entry_id,
            "answers": dict(self.answers),
            "asked": list(self.asked),
            "prefilled": dict(self.prefilled),
            "status": self.status,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: object) -> TriageState:
        if not isinstance(data, dict):
            raise TriageError("a triage state must be a JSON object")
        entry_id, status, version = data.get("entry_id"), data.get("status"), data.get("version")
        answers, asked, prefilled = data.get("answers"), data.get("asked", []), data.get("prefilled", {})
        if not isinstance(entry_id, str) or not entry_id:
            raise TriageError("triage state: 'entry_id' must be a non-empty string")
        if status not in STATUSES:
            raise TriageError(f"triage state: 'status' must be one of {', '.join(STATUSES)}")
        if not isinstance(version, int) or isinstance(version, bool):
            raise TriageError("triage state: 'version' must be a whole number")
        for name, value in (("answers", answers), ("prefilled", prefilled)):
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                raise TriageError(f"triage state: '{name}' must map question ids to option ids")
        if not isinstance(asked, list) or not all(isinstance(q, str) for q in asked):
            raise TriageError("triage state: 'asked' must be a list of question ids")
        pairs = tuple(answers.items())
        given = tuple(prefilled.items())
        if pairs[: len(given)] != given or [q for q, _ in pairs[len(given) :]] != asked:
            raise TriageError("triage state: 'answers' must be the prefilled answers followed by the asked ones")
        return cls(
            entry_id=entry_id,
            answers=pairs,
            asked=tuple(asked),
            prefilled=given,
            status=status,
            version=version,
        )
