"""Runs a triage in a terminal: numbered choices, typed answers, then the checklist and "did this fix it?"."""

from __future__ import annotations

import textwrap
from typing import TextIO

from knowledge.triage.engine import Tree, code_label
from knowledge.triage.loader import load_tree
from knowledge.triage.model import Checklist, Question, TriageError, TriageState

EXIT_DONE = 0
EXIT_NOT_FIXED = 1
EXIT_BAD_START = 2

_WIDTH = 100
_COMMANDS = "number or words; b = back, r = restart, q = quit"


def _title(entry_id: str) -> str:
    """The entry's title from the knowledge base, if the base loads and knows the code."""
    try:
        from knowledge.base import KnowledgeError, load

        entry = load().by_id.get(entry_id)
    except (ImportError, KnowledgeError, OSError):
        return ""
    return entry.title if entry else ""


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(text, _WIDTH, initial_indent=indent, subsequent_indent=indent + "   ")


class _Session:
    def __init__(self, tree: Tree, state: TriageState, source: TextIO, out: TextIO, title: str) -> None:
        self.tree, self.state, self.source, self.out, self.title = tree, state, source, out, title

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def read(self, prompt: str) -> str | None:
        self.out.write(prompt)
        self.out.flush()
        line = self.source.readline()
        if not line:
            self.say()
            return None
        return line.strip()

    def show_question(self, question: Question) -> None:
        number = len(self.state.asked) + 1
        self.say()
        self.say(_wrap(f"[{number}] {question.text}"))
        if question.help:
            self.say(_wrap(f"How to tell: {question.help}", "    "))
        for index, option in enumerate(question.options, start=1):
            hint = f" - {option.hint}" if option.hint else ""
            self.say(_wrap(f"{index}) {option.label}{hint}", "  "))

    def show_checklist(self, checklist: Checklist) -> None:
        self.say()
        for note in checklist.notes:
            self.say(_wrap(f"Note: {note}"))
            self.say()
        for heading, steps in (
            ("You can try:", checklist.user_steps),
            ("Ask your server admin:", checklist.admin_steps),
        ):
            self.say(heading)
            for index, step in enumerate(steps, start=1):
                self.say(_wrap(f"{index}. {step.text}", "  "))
                self.say(_wrap(f"(source: {step.source})", "     "))
            self.say()

    def command(self, reply: str) -> bool:
        """Handle b/r/q; True when `reply` was one of them."""
        word = reply.lower()
        if word in ("b", "back"):
            before = self.state
            self.state = self.tree.back(self.state)
            if self.state == before:
                self.say("Nothing to go back to.")
            return True
        if word in ("r", "restart"):
            self.state = self.tree.restart(self.state)
            self.say("Starting over.")
            return True
        if word in ("q", "quit"):
            self.state = self.tree.stop(self.state)
            return True
        return False

    def ask(self) -> bool:
        """Ask questions until the checklist is due; False if the user quit."""
        while self.state.status == "asking":
            question = self.tree.current_question(self.state)
            if question is None:
                break
            self.show_question(question)
            reply = self.read(f"Answer ({_COMMANDS}): ")
            if reply is None:
                self.state = self.tree.stop(self.state)
                break
            if self.command(reply):
                continue
            answered = self.tree.answer_text(self.state, reply)
            if answered is None:
                self.say(
                    f"Sorry, I did not understand {reply!r}: type 1-{len(question.options)} or a word from a choice."
                )
                continue
            self.state = answered
        return self.state.status == "checklist"

    def run(self) -> int:
        self.say(f"Triage for code {code_label(self.state.entry_id)}" + (f": {self.title}" if self.title else ""))
        while True:
            if not self.ask():
                self.say("Stopped. Run the triage again any time.")
                return EXIT_DONE
            self.show_checklist(self.tree.checklist(self.state))
            while True:
                reply = self.read("Did this fix it? [y/n] (b = back, r = restart): ")
                if reply is None or reply.lower() in ("q", "quit"):
                    self.state = self.tree.stop(self.state)
                    self.say("Stopped.")
                    return EXIT_DONE
                if reply.lower() in ("b", "back", "r", "restart"):
                    self.command(reply)
                    break
                if reply.lower() in ("y", "yes"):
                    self.state = self.tree.feedback(self.state, fixed=True)
                    self.say("Glad it works now.")
                    return EXIT_DONE
                if reply.lower() in ("n", "no"):
                    self.state = self.tree.feedback(self.state, fixed=False)
                    self.say()
                    self.say("Copy this to your server admin or helpdesk:")
                    self.say("-" * 40)
                    self.say(self.tree.handoff_summary(self.state, self.title))
                    self.say("-" * 40)
                    return EXIT_NOT_FIXED
                self.say("Please answer y or n.")


def run_terminal(
    entry_id: str,
    input_stream: TextIO,
    output_stream: TextIO,
    prefilled: dict[str, str] | None = None,
    tree: Tree | None = None,
) -> int:
    """Run one triage conversation on text streams.

    Returns 0 when it ended (fixed, or the user quit), 1 when the checklist did not fix it (a hand-off summary
    was printed), 2 when it could not start (bad prefilled answers).
    """
    tree = tree or load_tree()
    entry_id = entry_id.strip().lower()
    try:
        state = tree.start(entry_id, prefilled)
    except TriageError as exc:
        output_stream.write(f"Cannot start the triage: {exc}\n")
        return EXIT_BAD_START
    return _Session(tree, state, input_stream, output_stream, _title(entry_id)).run()
