"""Block Kit for triage: a question with buttons, the answered question, the checklist, the hand-off."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot import site_notes
from bot.mrkdwn import clip, escape
from bot.views import site_notes as site_view
from bot.views.block_kit import (
    ACTIONS_ELEMENTS,
    MAX_BLOCKS,
    SECTION_CHARS,
    SECTION_MARGIN,
    Message,
    button,
    context,
    finish,
    header,
    section,
)

if TYPE_CHECKING:  # the triage package loads with the first triage, or in the background (bot/warm_up.py)
    from knowledge.triage import Checklist, Question, Step

ANSWER = "triage_answer"
CONTROL = "triage_control"  # back, restart, stop, handover
FEEDBACK = "triage_feedback"  # fixed, not_fixed
START = "start_triage"
SUMMARY_CHARS = SECTION_CHARS - 2 * SECTION_MARGIN
"""A hand-off summary, in a code block of a section: room for the fence and for what escaping adds."""


def value(session_id: str, entry_id: str = "", **fields: str) -> str:
    """What a button of a triage carries: its session, what the click says, and the triage's code (`entry_id`),
    so that a click on a session that is gone can still offer to start that triage again."""
    known = {"e": entry_id} if entry_id else {}
    return json.dumps({"s": session_id, **fields, **known}, separators=(",", ":"))


def start_value(entry_id: str, prefill: dict[str, str], channel: str = "", thread_ts: str = "") -> str:
    """What a Start triage button carries: the entry, answers already known (from a log, or before expiry), and
    for a button only its user sees (which Slack sends without its thread) the triage's channel and thread."""
    if not prefill and not thread_ts:
        return entry_id
    where = {"c": channel, "t": thread_ts} if thread_ts else {}
    return json.dumps({"e": entry_id, "p": prefill, **where}, separators=(",", ":"))


def thread_of_start_value(raw: str) -> tuple[str, str] | None:
    """The channel and thread a Start triage button names, if it names them."""
    if not raw.startswith("{"):
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    channel, thread_ts = data.get("c"), data.get("t")
    return (channel, thread_ts) if isinstance(channel, str) and isinstance(thread_ts, str) and thread_ts else None


def parse_start_value(raw: str) -> tuple[str, dict[str, str]]:
    """The entry id and prefilled answers of a Start triage button (a plain id, or start_value's JSON)."""
    if not raw.startswith("{"):
        return raw, {}
    try:
        data = json.loads(raw)
    except ValueError:
        return "", {}
    prefill = data.get("p") if isinstance(data.get("p"), dict) else {}
    return str(data.get("e", "")), {str(k): str(v) for k, v in prefill.items()}


def parse_value(raw: str) -> dict[str, str]:
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


# Session ids are uuid4 strings. A question is rendered (and checked against Slack's limits) once with this
# placeholder of the same length in its buttons' values, then the real id is put in its place: checking the same
# blocks again on every click is work on a click's critical path (bench/README.md).
_SESSION_SLOT = "5e5510n0-0000-4000-8000-000000000000"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def question_message(
    session_id: str, question: Question, step: int, code: str, entry_id: str = "", *, can_go_back: bool
) -> Message:
    if not _UUID.fullmatch(session_id):
        return _render_question(session_id, question, step, code, can_go_back, entry_id)
    return _filled(_question_template(question, step, code, can_go_back, entry_id), _SESSION_SLOT, session_id)


@lru_cache(maxsize=1024)
def _question_template(question: Question, step: int, code: str, can_go_back: bool, entry_id: str) -> tuple[str, str]:
    return _template(_render_question(_SESSION_SLOT, question, step, code, can_go_back, entry_id))


def _template(message: Message) -> tuple[str, str]:
    return message.text, json.dumps(message.blocks)


def _filled(template: tuple[str, str], slot: str, value: str) -> Message:
    """A message rendered once with `slot` in it (_template), with `value` in its place: `value` must need no
    escaping in JSON, and be of a kind whose length the checks against Slack's limits do not turn on."""
    text, blocks = template
    return Message(text, json.loads(blocks.replace(slot, value)))


def _render_question(
    session_id: str, question: Question, step: int, code: str, can_go_back: bool, entry_id: str = ""
) -> Message:
    def control(label: str, name: str) -> ButtonElement:
        return button(label, f"{CONTROL}_{name}", value(session_id, entry_id, c=name, q=question.id))

    options = [
        button(o.label, f"{ANSWER}_{i}", value(session_id, entry_id, q=question.id, o=o.id))
        for i, o in enumerate(question.options)
    ]
    controls = [control("Start over", "restart")]
    if can_go_back:
        controls.insert(0, control("Back", "back"))
    controls += [control("Let someone else answer", "handover"), control("Stop", "stop")]
    blocks: list[Block] = [section(f"*Triage for {escape(code)}, question {step}*\n{escape(question.text)}")]
    if question.help:
        blocks.append(context(escape(question.help)))
    hints = [f"*{escape(o.label)}*: {escape(o.hint)}" for o in question.options if o.hint]
    if hints:
        blocks.append(context(clip(" · ".join(hints), SECTION_CHARS - SECTION_MARGIN)))
    blocks += [
        ActionsBlock(block_id=f"q:{question.id}", elements=options[:ACTIONS_ELEMENTS]),
        ActionsBlock(elements=controls),
    ]
    labels = ", ".join(o.label for o in question.options)
    return finish(
        f"Triage for {code}, question {step}: {question.text} ({labels}). You can also type the answer.", blocks
    )


def asked_again(message: Message) -> Message:
    """A question's message (question_message) again, after a typed answer that matched none of its options."""
    message.text = "I did not catch that. " + message.text
    message.blocks.insert(0, context("I did not catch that: choose one of these, or type it.").to_dict())
    return message


# The same for the answered question, whose one part that changes from click to click is who answered.
_USER_SLOT = "U0ANSWEREDBY0"
_USER = re.compile(r"[UWB][A-Z0-9]{1,30}")


def answered_message(question: Question, label: str, user_id: str) -> Message:
    if not _USER.fullmatch(user_id):
        return _render_answered(question, label, user_id)
    return _filled(_answered_template(question, label), _USER_SLOT, user_id)


@lru_cache(maxsize=1024)
def _answered_template(question: Question, label: str) -> tuple[str, str]:
    return _template(_render_answered(question, label, _USER_SLOT))


def _render_answered(question: Question, label: str, user_id: str) -> Message:
    blocks: list[Block] = [
        section(f"{escape(question.text)}\n*{escape(label)}*"),
        context(f"Answered by <@{user_id}>"),
    ]
    return finish(f"{question.text} {label}", blocks)


def closed_question_message(question: Question, what: str, user_id: str) -> Message:
    blocks: list[Block] = [section(f"~{escape(question.text)}~"), context(f"{escape(what)} by <@{user_id}>")]
    return finish(f"{question.text} ({what})", blocks)


def note_message(text: str) -> Message:
    return finish(text, [section(escape(text))])


def without_buttons(blocks: list[dict], note: str) -> list[dict]:
    """An earlier message's blocks with its buttons removed and a note of what happened (note is mrkdwn)."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, context(note).to_dict()][:MAX_BLOCKS]


def _steps(steps: tuple[Step, ...]) -> str:
    return "\n".join(f"{i}. {escape(s.text)}" for i, s in enumerate(steps, 1))


def checklist_message(session_id: str, checklist: Checklist, code: str, title: str, entry_id: str = "") -> Message:
    if not _UUID.fullmatch(session_id):
        return _render_checklist(session_id, checklist, code, title, entry_id)
    template = _checklist_template(checklist, code, title, entry_id, site_notes.SITE.version)
    return _filled(template, _SESSION_SLOT, session_id)


@lru_cache(maxsize=256)
def _checklist_template(
    checklist: Checklist, code: str, title: str, entry_id: str, site_version: int
) -> tuple[str, str]:
    """`site_version` is there for the cache: a checklist drawn with older site notes is not reused."""
    return _template(_render_checklist(_SESSION_SLOT, checklist, code, title, entry_id))


def _render_checklist(session_id: str, checklist: Checklist, code: str, title: str, entry_id: str) -> Message:
    blocks: list[Block] = [header(f"Checklist for {code}: {title}")]
    blocks += [section(f":information_source: {escape(n)}") for n in checklist.notes]
    blocks += site_view.entry_blocks(entry_id)
    if checklist.user_steps:
        blocks.append(section(f"*You can try*\n{_steps(checklist.user_steps)}"))
    if checklist.admin_steps:
        blocks.append(section(f"*Ask your server admin*\n{_steps(checklist.admin_steps)}"))
    numbered = [(f"you can try, {i}", s.id) for i, s in enumerate(checklist.user_steps, 1)]
    numbered += [(f"ask your server admin, {i}", s.id) for i, s in enumerate(checklist.admin_steps, 1)]
    blocks += site_view.step_blocks(numbered)
    sources = sorted({s.source for s in (*checklist.user_steps, *checklist.admin_steps) if s.source})
    if sources:
        blocks.append(
            context(clip("Sources: " + "; ".join(escape(s) for s in sources), SECTION_CHARS - SECTION_MARGIN))
        )
    blocks.append(section("*Did this fix it?*"))
    blocks.append(
        ActionsBlock(
            block_id="feedback",
            elements=[
                button("Yes, it works now", f"{FEEDBACK}_yes", value(session_id, entry_id, f="fixed"), "primary"),
                button("No, still broken", f"{FEEDBACK}_no", value(session_id, entry_id, f="not_fixed"), "danger"),
            ],
        )
    )
    steps = [s.text for s in (*checklist.user_steps, *checklist.admin_steps)]
    return finish(f"Checklist for {code}: " + " ".join(f"({i}) {t}" for i, t in enumerate(steps, 1)), blocks)


def thanks_message() -> Message:
    return finish(
        "Glad it works now. This triage is closed.", [section("Glad it works now. This triage is closed. :tada:")]
    )


def handoff_posted_message(channel_id: str) -> Message:
    text = f"I have passed this on to <#{channel_id}> with your answers; someone will follow up in this thread."
    return finish(text, [section(text)])


def handoff_copy_message(summary: str) -> Message:
    body = "```\n" + escape(clip(summary, SUMMARY_CHARS)) + "\n```"
    blocks: list[Block] = [
        section("Time for a human. Ask your server or network admin (or your helpdesk) and paste them this summary:"),
        section(body),
    ]
    return finish("Time for a human: paste this summary to your admin.\n" + summary, blocks)


def escalation_message(summary: str, permalink: str | None, mention: str | None, user_id: str) -> Message:
    who = f"<!subteam^{mention}> " if mention else ""
    link = f" <{permalink}|Open the thread>" if permalink else ""
    blocks: list[Block] = [
        section(f"{who}<@{user_id}> still has a problem after the ftpcode checklist.{link}"),
        section("```\n" + escape(clip(summary, SUMMARY_CHARS)) + "\n```"),
    ]
    return finish(f"Triage hand-off from <@{user_id}>: {summary}", blocks)


def expired_message(entry_id: str, prefill: dict[str, str]) -> Message:
    blocks: list[Block] = [
        section("This triage has expired. Start it again?"),
        ActionsBlock(elements=[button("Start again", START, start_value(entry_id, prefill))]),
    ]
    return finish("This triage has expired.", blocks)


GONE_TEXT = "This triage is no longer open."
CANNOT_FOLLOW_TEXT = "I could not follow that triage any more."
START_NEW_TEXT = "Start a new one with `/ftpcode CODE` and *Start triage*."


def start_over_message(what: str, entry_id: str, channel: str, thread_ts: str) -> Message:
    """What went wrong with a triage (`what`, plain text), and a button that starts it again in its thread."""
    start = button("Start over", START, start_value(entry_id, {}, channel, thread_ts), "primary")
    blocks: list[Block] = [section(f"{escape(what)} Start it over?"), ActionsBlock(elements=[start])]
    return finish(f"{what} Start it over?", blocks)


def someone_elses_triage_text(owner_id: str) -> str:
    return (
        f"<@{owner_id}> is already running a triage in this thread, so I left it as it is. "
        "To start your own, send me `/ftpcode CODE` (or write to me directly) and press *Start triage*."
    )


def not_yours_text(owner_id: str) -> str:
    return (
        f"This triage belongs to <@{owner_id}>, who can let someone else answer. "
        "Start your own with `/ftpcode CODE` and *Start triage*."
    )
