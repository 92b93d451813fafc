"""The triage engine: pure functions from one TriageState to the next, driven by the tree's data.

The next question is the first one in file order that is not answered yet and whose `ask_when` holds (and
`skip_when` does not) for the code and the answers so far. The loader makes conditions depend only on
earlier questions, so a question skipped once stays skipped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from knowledge.triage.conditions import Narrowed, narrowed_holds
from knowledge.triage.matching import match_option
from knowledge.triage.model import (
    FINISHED,
    Checklist,
    Note,
    Preset,
    Question,
    Step,
    TriageError,
    TriageState,
)


def code_label(entry_id: str) -> str:
    """The code as people say it: 'ftp-425' -> '425', 'winsock-10061' -> '10061'."""
    prefix, _, rest = entry_id.partition("-")
    return rest if prefix in ("ftp", "winsock", "sftp") and rest else entry_id


def _fill(text: str, entry_id: str) -> str:
    return text.replace("{code}", code_label(entry_id))


class _CodeSteps:
    """The steps that may apply to one code, with their conditions narrowed to it and indexed by one answer
    each clause requires, so that a checklist only evaluates the steps some given answer can reach."""

    def __init__(self, entry_id: str, steps: tuple[Step, ...]) -> None:
        self.entries: list[tuple[Step, Narrowed, Narrowed]] = []
        self.always: list[int] = []
        self.by_answer: dict[tuple[str, str], list[int]] = {}
        for step in steps:
            when = step.when.for_code(entry_id)
            if not when:
                continue
            index = len(self.entries)
            self.entries.append((step, when, step.unless.for_code(entry_id)))
            for clause in when:
                if not clause:
                    self.always.append(index)
                    continue
                question, allowed = clause[0]
                for option in allowed:
                    self.by_answer.setdefault((question, option), []).append(index)

    def applicable(self, answers: dict[str, str]) -> list[Step]:
        reachable = set(self.always)
        for pair in answers.items():
            reachable.update(self.by_answer.get(pair, ()))
        found = []
        for index in sorted(reachable):
            step, when, unless = self.entries[index]
            if narrowed_holds(when, answers) and not narrowed_holds(unless, answers):
                found.append(step)
        return found


@dataclass(frozen=True)
class Tree:
    version: int
    questions: tuple[Question, ...]
    steps: tuple[Step, ...]
    notes: tuple[Note, ...] = ()
    presets: tuple[Preset, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {q.id: q for q in self.questions})
        known = frozenset((q.id, o.id) for q in self.questions for o in q.options)
        object.__setattr__(self, "_known_answers", known)
        object.__setattr__(self, "_steps_by_code", {})
        object.__setattr__(self, "_as_shown", {})

    def __repr__(self) -> str:
        size = f"questions={len(self.questions)}, steps={len(self.steps)}"
        return f"Tree(version={self.version}, {size}, source={self.source!r})"

    def _steps_for(self, entry_id: str) -> _CodeSteps:
        """The steps whose `when` accepts this code for some answers, indexed for that code (cached:
        checklists are built often, and path walks build hundreds of thousands)."""
        cache: dict[str, _CodeSteps] = self._steps_by_code  # type: ignore[attr-defined]
        steps = cache.get(entry_id)
        if steps is None:
            if len(cache) >= 1024:
                cache.clear()
            steps = cache[entry_id] = _CodeSteps(entry_id, self.steps)
        return steps

    # -- looking things up -------------------------------------------------------------------------------

    def question(self, question_id: str) -> Question:
        try:
            return self._by_id[question_id]  # type: ignore[attr-defined]
        except KeyError:
            raise TriageError(f"no question {question_id!r} in the triage tree") from None

    def _check(self, state: TriageState) -> None:
        """Refuse a state the tree cannot continue (e.g. stored before the tree dropped an option)."""
        for question_id, option_id in state.answers:
            if (question_id, option_id) not in self._known_answers:  # type: ignore[attr-defined]
                raise TriageError(
                    f"the saved triage answers {question_id}={option_id!r}, which tree version "
                    f"{self.version} does not know (the state is from version {state.version}); restart it"
                )

    def _next_question(self, entry_id: str, answers: dict[str, str]) -> Question | None:
        for question in self.questions:
            if question.id not in answers and question.applies(entry_id, answers):
                return question
        return None

    def _with_answers(
        self, state: TriageState, answers: tuple[tuple[str, str], ...], asked: tuple[str, ...]
    ) -> TriageState:
        pending = self._next_question(state.entry_id, dict(answers))
        return TriageState(
            entry_id=state.entry_id,
            answers=answers,
            asked=asked,
            prefilled=state.prefilled,
            status="asking" if pending else "checklist",
            version=state.version,
        )

    # -- the conversation --------------------------------------------------------------------------------

    def start(self, entry_id: str, prefilled: dict[str, str] | None = None) -> TriageState:
        """A new triage for `entry_id`; `prefilled` answers (question id -> option id) are not asked."""
        entry_id = entry_id.strip().lower()
        if not entry_id:
            raise TriageError("triage needs a code to start from")
        given = dict(prefilled or {})
        for question_id, option_id in given.items():
            if self.question(question_id).option(option_id) is None:
                raise TriageError(f"question {question_id!r} has no option {option_id!r}")
        for preset in self.presets:
            if preset.when.holds(entry_id, {}):
                for question_id, option_id in preset.answers:
                    given.setdefault(question_id, option_id)
        order = [q.id for q in self.questions]
        pairs = tuple(sorted(given.items(), key=lambda pair: order.index(pair[0])))
        state = TriageState(entry_id=entry_id, prefilled=pairs, version=self.version)
        return self._with_answers(state, pairs, ())

    def current_question(self, state: TriageState) -> Question | None:
        """The question to ask now, with only the options that fit the earlier answers; None when the
        checklist is due (or the triage is over)."""
        if state.status != "asking":
            return None
        self._check(state)
        answers = state.answer_map
        question = self._next_question(state.entry_id, answers)
        return None if question is None else self._as_asked(question, state.entry_id, answers)

    def _as_asked(self, question: Question, entry_id: str, answers: dict[str, str]) -> Question:
        options = question.options_for(entry_id, answers)
        if len(options) == len(question.options):
            return question
        shown: dict[tuple[str, tuple[str, ...]], Question] = self._as_shown  # type: ignore[attr-defined]
        key = (question.id, tuple(o.id for o in options))
        if key not in shown:
            shown[key] = dataclasses.replace(question, options=options)
        return shown[key]

    def answer(self, state: TriageState, question_id: str, option_id: str) -> TriageState:
        """Answer the current question. A click on an older question's button raises TriageError."""
        current = self.current_question(state)
        if current is None:
            raise TriageError(f"the triage is not asking anything (status {state.status!r})")
        if question_id != current.id:
            raise TriageError(f"question {question_id!r} is not the current one ({current.id!r})")
        if current.option(option_id) is None:
            raise TriageError(f"question {question_id!r} has no option {option_id!r}")
        return self._with_answers(state, (*state.answers, (question_id, option_id)), (*state.asked, question_id))

    def answer_text(self, state: TriageState, text: str) -> TriageState | None:
        """Answer the current question from typed text ("sftp", "port 990", "2"); None if not understood."""
        current = self.current_question(state)
        if current is None:
            return None
        option = match_option(current, text)
        return None if option is None else self.answer(state, current.id, option.id)

    def back(self, state: TriageState) -> TriageState:
        """Take back the last answer given in the conversation (prefilled answers stay)."""
        self._refuse_finished(state)
        if not state.asked:
            return state
        return self._with_answers(state, state.answers[:-1], state.asked[:-1])

    def restart(self, state: TriageState) -> TriageState:
        """Start over with the same code and prefilled answers, from any status."""
        # prefilled answers a newer tree no longer knows are dropped rather than failing the restart
        kept = tuple(pair for pair in state.prefilled if pair in self._known_answers)  # type: ignore[attr-defined]
        fresh = dataclasses.replace(state, prefilled=kept, version=self.version, status="asking")
        return self._with_answers(fresh, kept, ())

    def stop(self, state: TriageState) -> TriageState:
        if state.status in FINISHED:
            return state
        return dataclasses.replace(state, status="stopped")

    def feedback(self, state: TriageState, fixed: bool) -> TriageState:
        """Record "did this help?": resolved, or hand-off to a human with the transcript."""
        if state.status != "checklist":
            raise TriageError(f"feedback comes after the checklist, not in status {state.status!r}")
        return dataclasses.replace(state, status="resolved" if fixed else "handoff")

    @staticmethod
    def _refuse_finished(state: TriageState) -> None:
        if state.status in FINISHED:
            raise TriageError(f"the triage is over (status {state.status!r}); restart it")

    # -- results -----------------------------------------------------------------------------------------

    def checklist(self, state: TriageState) -> Checklist:
        """The steps that fit the answers so far, split by who does them.

        A step marked `fallback` is shown only when no other step for the same person applies, so every
        path ends with at least one step for the user and one for the admin.
        """
        self._check(state)
        answers = state.answer_map
        applicable = self._steps_for(state.entry_id).applicable(answers)
        covered = {s.who for s in applicable if not s.fallback}
        filled = [
            dataclasses.replace(s, text=_fill(s.text, state.entry_id)) if "{code}" in s.text else s
            for s in applicable
            if not s.fallback or s.who not in covered
        ]
        notes = tuple(_fill(n.text, state.entry_id) for n in self.notes if n.applies(state.entry_id, answers))
        return Checklist(
            user_steps=tuple(s for s in filled if s.who == "user"),
            admin_steps=tuple(s for s in filled if s.who == "admin"),
            notes=notes,
        )

    def transcript(self, state: TriageState) -> list[tuple[str, str]]:
        """(question text, chosen label) for every answer, prefilled ones first."""
        self._check(state)
        lines = []
        for question_id, option_id in state.answers:
            question = self.question(question_id)
            lines.append((question.text, question.option(option_id).label))  # type: ignore[union-attr]
        return lines

    def handoff_summary(self, state: TriageState, title: str = "") -> str:
        """Plain text for a human helper: the code, each answer, the steps already suggested."""
        checklist = self.checklist(state)
        code = code_label(state.entry_id)
        lines = [f"Triage hand-off: code {code}" + (f" ({title})" if title else "") + f" [{state.entry_id}]"]
        lines.append("Answers:")
        lines += [f"- {question} {label}" for question, label in self.transcript(state)] or ["- (none)"]
        lines.append("Steps suggested to the user:")
        lines += [f"- {s.text}" for s in checklist.user_steps]
        lines.append("Steps suggested for the server admin:")
        lines += [f"- {s.text}" for s in checklist.admin_steps]
        if checklist.notes:
            lines.append("Notes:")
            lines += [f"- {n}" for n in checklist.notes]
        lines.append(f"Outcome: {'not fixed' if state.status == 'handoff' else state.status}")
        return "\n".join(lines)
