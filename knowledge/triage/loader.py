"""Reads knowledge/data/triage.toml into a Tree and checks it, naming the file and the question on errors."""

from __future__ import annotations

import re
import threading
import tomllib
from pathlib import Path

from knowledge.triage.conditions import Clause, Condition, compile_code_pattern
from knowledge.triage.engine import Tree
from knowledge.triage.model import WHO, Note, Option, Preset, Question, Step, TriageTreeError

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "triage.toml"

# Slack refuses button and option texts longer than 75 characters.
MAX_LABEL = 75
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_CODE_RE = re.compile(r"^(@[a-z][a-z0-9-]*|[a-z0-9*][a-z0-9.*-]*)$")
_TOP_KEYS = {"version", "groups", "questions", "steps", "notes", "presets"}
_QUESTION_KEYS = {"id", "text", "help", "options", "ask_when", "skip_when"}
_OPTION_KEYS = {"id", "label", "hint", "keywords", "when", "unless"}
_STEP_KEYS = {"id", "who", "text", "source", "when", "unless", "fallback"}
_NOTE_KEYS = {"id", "text", "when", "unless"}
_PRESET_KEYS = {"when", "answers"}


class _Reader:
    """Turns the raw TOML document into model objects; `fail` prefixes every problem with the file name."""

    def __init__(self, path: Path, document: dict) -> None:
        self.path = path
        self.document = document
        self.groups: dict[str, list[str]] = {}
        self.questions: dict[str, Question] = {}
        self.all_ids: set[object] = set()

    def fail(self, where: str, problem: str) -> TriageTreeError:
        return TriageTreeError(f"{self.path.name}: {where}: {problem}")

    def text(self, where: str, raw: dict, key: str, required: bool = True, limit: int = 0) -> str:
        value = raw.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"'{key}' must be a non-empty string")
        value = " ".join(value.split())
        if limit and len(value) > limit:
            raise self.fail(where, f"'{key}' is {len(value)} characters; Slack allows at most {limit}")
        return value

    def identifier(self, where: str, raw: dict) -> str:
        value = raw.get("id")
        if not isinstance(value, str) or not _ID_RE.match(value):
            raise self.fail(where, f"'id' {value!r} must be lower-case letters, digits and '-'")
        return value

    def unknown_keys(self, where: str, raw: dict, allowed: set[str]) -> None:
        unknown = set(raw) - allowed
        if unknown:
            raise self.fail(where, f"unknown field(s) {', '.join(sorted(unknown))}")

    def table_list(self, key: str, required: bool) -> list[dict]:
        value = self.document.get(key, [] if not required else None)
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"expected [[{key}]] tables")
        if required and not value:
            raise self.fail(key, f"no [[{key}]]")
        return value

    def read_groups(self) -> None:
        raw = self.document.get("groups", {})
        if not isinstance(raw, dict):
            raise self.fail("groups", "must be a table of name = [code patterns]")
        for name, patterns in raw.items():
            where = f"group '{name}'"
            if not _ID_RE.match(name):
                raise self.fail(where, "a group name must be lower-case letters, digits and '-'")
            if not isinstance(patterns, list) or not patterns:
                raise self.fail(where, "must be a non-empty list of code patterns")
            for pattern in patterns:
                if not isinstance(pattern, str) or not _CODE_RE.match(pattern) or pattern.startswith("@"):
                    raise self.fail(where, f"{pattern!r} is not a code pattern like 'ftp-425', 'ftp-4xx'")
            self.groups[name] = patterns

    def code_patterns(self, where: str, value: object) -> tuple[re.Pattern[str], ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(where, "'code' must be a non-empty list of code patterns")
        patterns: list[str] = []
        for item in value:
            if not isinstance(item, str) or not _CODE_RE.match(item):
                raise self.fail(where, f"{item!r} is not a code pattern like 'ftp-425', 'ftp-4xx', 'winsock-*'")
            if item.startswith("@"):
                if item[1:] not in self.groups:
                    raise self.fail(where, f"'code' names unknown group {item!r}")
                patterns.extend(self.groups[item[1:]])
            else:
                patterns.append(item)
        return tuple(compile_code_pattern(p) for p in patterns)

    def clause(self, where: str, raw: object, known: dict[str, Question], code_only: bool) -> Clause:
        if not isinstance(raw, dict) or not raw:
            raise self.fail(where, "a condition must be a non-empty table like { code = [...], mode = [...] }")
        codes = None
        answers: list[tuple[str, frozenset[str]]] = []
        for key, value in raw.items():
            if key == "code":
                codes = self.code_patterns(where, value)
                continue
            if code_only:
                raise self.fail(where, f"only 'code' may appear here, not {key!r}")
            question = known.get(key)
            if question is None:
                later = " (a question may only depend on questions before it)" if key in self.all_ids else ""
                raise self.fail(where, f"condition names unknown question {key!r}{later}")
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise self.fail(where, f"'{key}' must be a non-empty list of option ids")
            for option_id in value:
                if question.option(option_id) is None:
                    raise self.fail(where, f"question {key!r} has no option {option_id!r}")
            answers.append((key, frozenset(value)))
        return Clause(codes, tuple(answers))

    def condition(
        self, where: str, raw: dict, key: str, known: dict[str, Question], code_only: bool = False
    ) -> Condition | None:
        value = raw.get(key)
        if value is None:
            return None
        tables = value if isinstance(value, list) else [value]
        if not tables:
            raise self.fail(f"{where}: {key}", "an empty list never holds; leave the key out instead")
        return Condition(tuple(self.clause(f"{where}: {key}", t, known, code_only) for t in tables))

    def option(self, where: str, raw: object) -> Option:
        if not isinstance(raw, dict):
            raise self.fail(where, "each option must be a table")
        option_id = self.identifier(where, raw)
        where = f"{where} '{option_id}'"
        self.unknown_keys(where, raw, _OPTION_KEYS)
        keywords = raw.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) and k.strip() for k in keywords):
            raise self.fail(where, "'keywords' must be a list of non-empty strings")
        return Option(
            id=option_id,
            label=self.text(where, raw, "label", limit=MAX_LABEL),
            hint=self.text(where, raw, "hint", required=False, limit=MAX_LABEL),
            keywords=tuple(" ".join(k.lower().split()) for k in keywords),
            when=self.condition(where, raw, "when", self.questions) or Condition.always(),
            unless=self.condition(where, raw, "unless", self.questions) or Condition.never(),
        )

    def read_questions(self) -> None:
        raw_questions = self.table_list("questions", required=True)
        self.all_ids = {q.get("id") for q in raw_questions}
        for index, raw in enumerate(raw_questions):
            where = f"question {index + 1}"
            question_id = self.identifier(where, raw)
            where = f"question '{question_id}'"
            if question_id in self.questions:
                raise self.fail(where, "the id is used twice")
            if question_id == "code":
                raise self.fail(where, "'code' is reserved for conditions on the code itself")
            self.unknown_keys(where, raw, _QUESTION_KEYS)
            raw_options = raw.get("options")
            if not isinstance(raw_options, list) or len(raw_options) < 2:
                raise self.fail(where, "needs at least two [[questions.options]]")
            options = tuple(self.option(f"{where}: option", o) for o in raw_options)
            ids = [o.id for o in options]
            if len(set(ids)) != len(ids):
                raise self.fail(where, "two options have the same id")
            question = Question(
                id=question_id,
                text=self.text(where, raw, "text"),
                help=self.text(where, raw, "help", required=False),
                options=options,
                ask_when=self.condition(where, raw, "ask_when", self.questions) or Condition.always(),
                skip_when=self.condition(where, raw, "skip_when", self.questions) or Condition.never(),
            )
            self.questions[question_id] = question

    def read_steps(self) -> tuple[Step, ...]:
        steps: dict[str, Step] = {}
        for index, raw in enumerate(self.table_list("steps", required=True)):
            where = f"step {index + 1}"
            step_id = self.identifier(where, raw)
            where = f"step '{step_id}'"
            if step_id in steps:
                raise self.fail(where, "the id is used twice")
            self.unknown_keys(where, raw, _STEP_KEYS)
            who = raw.get("who")
            if who not in WHO:
                raise self.fail(where, f"'who' must be {' or '.join(repr(w) for w in WHO)}")
            fallback = raw.get("fallback", False)
            if not isinstance(fallback, bool):
                raise self.fail(where, "'fallback' must be true or false")
            steps[step_id] = Step(
                id=step_id,
                who=who,
                text=self.text(where, raw, "text"),
                source=self.text(where, raw, "source"),
                when=self.condition(where, raw, "when", self.questions) or Condition.always(),
                unless=self.condition(where, raw, "unless", self.questions) or Condition.never(),
                fallback=fallback,
            )
        for who in WHO:
            if not any(s.fallback and s.who == who for s in steps.values()):
                raise self.fail("steps", f"no fallback step for who = {who!r}: some paths could end without one")
        return tuple(steps.values())

    def read_notes(self) -> tuple[Note, ...]:
        notes: dict[str, Note] = {}
        for index, raw in enumerate(self.table_list("notes", required=False)):
            where = f"note {index + 1}"
            note_id = self.identifier(where, raw)
            where = f"note '{note_id}'"
            if note_id in notes:
                raise self.fail(where, "the id is used twice")
            self.unknown_keys(where, raw, _NOTE_KEYS)
            notes[note_id] = Note(
                id=note_id,
                text=self.text(where, raw, "text"),
                when=self.condition(where, raw, "when", self.questions) or Condition.always(),
                unless=self.condition(where, raw, "unless", self.questions) or Condition.never(),
            )
        return tuple(notes.values())

    def read_presets(self) -> tuple[Preset, ...]:
        presets = []
        for index, raw in enumerate(self.table_list("presets", required=False)):
            where = f"preset {index + 1}"
            self.unknown_keys(where, raw, _PRESET_KEYS)
            when = self.condition(where, raw, "when", self.questions, code_only=True)
            if when is None:
                raise self.fail(where, "needs 'when = { code = [...] }'")
            answers = raw.get("answers")
            if not isinstance(answers, dict) or not answers:
                raise self.fail(where, "'answers' must be a table of question = option")
            for question_id, option_id in answers.items():
                question = self.questions.get(question_id)
                if question is None:
                    raise self.fail(where, f"'answers' names unknown question {question_id!r}")
                if not isinstance(option_id, str) or question.option(option_id) is None:
                    raise self.fail(where, f"question {question_id!r} has no option {option_id!r}")
            presets.append(Preset(when=when, answers=tuple(answers.items())))
        return tuple(presets)

    def tree(self) -> Tree:
        self.unknown_keys("top level", self.document, _TOP_KEYS)
        version = self.document.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise self.fail("top level", "'version' must be a whole number >= 1 (raise it when ids change)")
        self.read_groups()
        self.read_questions()
        return Tree(
            version=version,
            questions=tuple(self.questions.values()),
            steps=self.read_steps(),
            notes=self.read_notes(),
            presets=self.read_presets(),
            source=str(self.path),
        )


def parse_tree(path: Path) -> Tree:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise TriageTreeError(f"{path.name}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise TriageTreeError(f"{path.name}: cannot read the triage tree: {exc.strerror}") from exc
    return _Reader(path, document).tree()


_shipped: Tree | None = None
_shipped_lock = threading.Lock()  # the bot's threads ask at once at first; without it each parsed a copy


def _shipped_tree() -> Tree:
    global _shipped
    tree = _shipped
    if tree is None:
        with _shipped_lock:
            if _shipped is None:
                _shipped = parse_tree(DEFAULT_PATH)
            tree = _shipped
    return tree


def load_tree(path: Path | str | None = None) -> Tree:
    """The triage tree: the shipped one (read and checked once per process), or the file at `path`."""
    if path is None:
        return _shipped_tree()
    return parse_tree(Path(path))
