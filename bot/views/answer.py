"""Block Kit for answers, help and lists, built with slack_sdk.models so Slack's limits are checked here."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ActionsBlock, Block, DividerBlock

from bot.mrkdwn import clip, escape
from bot.views import site_notes as site_view
from bot.views.block_kit import (
    BUTTON_VALUE_CHARS,
    MAX_BLOCK_CHARS,
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
from knowledge import answer as answers
from knowledge import listing
from knowledge.base import Entry
from knowledge.lookup import EXAMPLES, LookupResult, Match, finder

# Room kept at the end of every answer for "Was this helpful?" and its buttons (bot/views/feedback.py), whose
# signed values name the answer's entries; tests/test_bot_rendering.py checks that the estimate covers them.
FEEDBACK_BLOCKS = 2
FEEDBACK_BASE_CHARS = 900
FEEDBACK_IDS_CHARS = 400
ROOM_FOR_NOTES = 600
"""Kept free for the "shortened to fit" note, the "Show the rest" button and the JSON between the blocks."""
LIST_ROOM = 1500
"""Kept free in a table of codes for its header, the closing note and JSON overhead."""
MORE_BUTTONS = 3
"""Other readings of a query get an "Explain …" button each, this many at most."""


def feedback_chars(matches: list[Match]) -> int:
    ids = len(",".join(m.entry.id for m in matches)) + len(matches[0].entry.id)
    return FEEDBACK_BASE_CHARS + 2 * min(FEEDBACK_IDS_CHARS, ids)


def _bullets(items: tuple[str, ...]) -> str:
    return "\n".join(f"• {escape(i)}" for i in items)


def answer_detail_blocks(answer: answers.Answer) -> list[Block]:
    """Everything below the summary: digits, then each section of the answer."""
    blocks: list[Block] = []
    if answer.digits:
        rows = [f"`{d.digit}` *{escape(d.short)}*: {escape(d.meaning)}" for d in answer.digits]
        blocks.append(section("\n".join(rows)))
    for part in answer.sections:
        body = _bullets(part.items) if part.bulleted else escape("\n".join(part.items))
        if part.title == "Source":
            blocks.append(context(f"Source: {body}"))
        else:
            blocks.append(section(f"*{escape(part.title)}*\n{body}"))
    related = answers.related_labels(answer.entry, finder().kb.by_id)
    if related:
        blocks.append(context("See also: " + ", ".join(escape(label) for _, label in related)))
    return blocks


def answer_top_blocks(answer: answers.Answer) -> list[Block]:
    top = escape(answer.summary)
    if answer.try_first:
        top += f"\n*Try first:* {escape(answer.try_first)}"
    return [header(answer.heading), section(top)]


def _ids_value(matches: list[Match]) -> str:
    return clip(",".join(m.entry.id for m in matches), BUTTON_VALUE_CHARS)


def answer_buttons(matches: list[Match], *, ephemeral: bool) -> ActionsBlock:
    first = matches[0].entry
    elements = []
    if ephemeral:
        elements.append(button("Share in channel", "share_answer", _ids_value(matches), "primary"))
    elements.append(button("Start triage", "start_triage", first.id))
    # Slack refuses a block whose buttons share an action_id, hence the number.
    for n, match in enumerate(matches[1 : 1 + MORE_BUTTONS]):
        elements.append(button(f"Explain {answers.button_name(match.entry)}", f"show_answer_{n}", match.entry.id))
    return ActionsBlock(elements=elements, block_id="answer_actions")


def _size(blocks: list[Block]) -> int:
    return len(json.dumps([b.to_dict() for b in blocks]))


def _sized_list(sizes: list[int]) -> int:
    """len(json.dumps(list)) from the lengths of its items' JSON: "[" + ", ".join(items) + "]"."""
    return 2 + sum(sizes) + 2 * max(0, len(sizes) - 1)


def answer_message(result: LookupResult, *, ephemeral: bool, shared_by: str | None = None) -> Message:
    """The answer to a query: the best match in full, the others as one line each with a button."""
    if not result.matches:
        return not_found_message(result)
    matches = result.matches
    first = answers.build(matches[0])
    blocks: list[Block] = []
    if shared_by:
        blocks.append(context(f"Shared by <@{shared_by}>"))
    blocks += [context(escape(note)) for note in result.notes]
    blocks += answer_top_blocks(first)
    blocks += site_view.entry_blocks(first.entry.id)  # the team's own facts, right under the summary
    actions = answer_buttons(matches, ephemeral=ephemeral)
    others = [section(f"*{escape(answers.heading(m.entry))}*\n{escape(m.entry.summary)}") for m in matches[1:]]
    tail: list[Block] = [DividerBlock(), *others] if others else []
    detail = answer_detail_blocks(first)
    budget = MAX_BLOCK_CHARS - _size([*blocks, actions, *tail]) - ROOM_FOR_NOTES - feedback_chars(matches)
    kept, kept_sizes, cut = [], [], False
    for block in detail:
        # Each block is serialised once here (to_dict validates, and is slow), not once per block kept so far.
        size = len(json.dumps(block.to_dict()))
        room = MAX_BLOCKS - FEEDBACK_BLOCKS
        if len(kept) + len(blocks) + len(tail) + 3 >= room or _sized_list([*kept_sizes, size]) > budget:
            cut = True
            break
        kept.append(block)
        kept_sizes.append(size)
    blocks += kept
    if cut:
        blocks.append(context("The answer was shortened to fit in Slack."))
        actions.elements.append(button("Show the rest", "show_rest", f"{first.entry.id}:{len(kept)}"))
    blocks += [actions, *tail]
    text = f"{first.heading.rstrip('.')}. {first.summary}"  # some titles end with a full stop
    if len(matches) > 1:
        text += " Also: " + ", ".join(answers.label(m.entry) for m in matches[1:])
    return finish(text, blocks)


def rest_message(entry: Entry, known: bool, start: int) -> Message:
    """The detail blocks an answer had to leave out, from block `start` on."""
    answer = answers.build(Match(entry, "code" if known else "unknown-code"))
    detail = answer_detail_blocks(answer)[start:]
    blocks: list[Block] = [header(f"{answer.heading} (continued)")]
    sizes = [_size(blocks) - 2]
    for block in detail:
        size = len(json.dumps(block.to_dict()))
        if len(blocks) >= MAX_BLOCKS - 1 or _sized_list([*sizes, size]) > MAX_BLOCK_CHARS:
            break
        blocks.append(block)
        sizes.append(size)
    return finish(f"{answer.heading} (continued)", blocks)


def not_found_message(result: LookupResult) -> Message:
    asked = f"I found nothing for “{escape(clip(result.query, 200))}”." if result.query else "Ask me about a code."
    tries = " · ".join(f"`{escape(s)}`" for s in result.suggestions)
    blocks: list[Block] = [context(escape(note)) for note in result.notes]
    blocks += [
        section(f"{asked}\nTry an FTP reply code, a Winsock error, an SFTP status or a client's message: {tries}"),
        context("`/ftpcode help` shows everything I understand."),
    ]
    return finish(f"Nothing found. Try: {', '.join(result.suggestions)}", blocks)


def help_message() -> Message:
    examples = "\n".join(f"• `/ftpcode {escape(e)}`" for e in EXAMPLES)
    blocks: list[Block] = [
        header("ftpcode: FTP, FTPS and SFTP codes explained"),
        section(
            "Give me an FTP reply code, a Windows Sockets error, an SFTP status, a curl exit code or the "
            "message your client printed. I explain it, digit by digit, with the likely causes and the fixes, "
            "and can walk you through a triage."
        ),
        section(
            f"*Examples*\n{examples}\n• `/ftpcode list 4xx` for a table\n"
            "• `/ftpcode test ftp.example.com` to test a server, step by step (one your admin allows)"
        ),
        section(
            "*Elsewhere*\n• Mention me in a channel: `@ftpcode 530 when I log in`: I answer in a thread.\n"
            "• Send me a direct message, or paste a client log."
        ),
    ]
    return finish("ftpcode: send a code such as 425, or a message your client printed.", blocks)


def unknown_list_message() -> Message:
    hint = section(f"I can list: {listing.FILTER_HELP}. For example `/ftpcode list 4xx`.")
    return finish("Unknown list.", [hint])


def list_message(title: str, entries: list[Entry]) -> Message:
    """A table of codes, as many rows as Slack takes; the rest is counted and narrowed down by a filter."""
    rows = [f"`{escape(answers.label(e))}` {escape(e.title)}" for e in entries]
    budget = MAX_BLOCK_CHARS - LIST_ROOM
    sections: list[str] = []
    chunk: list[str] = []
    shown = used = 0
    for row in rows:
        if used + len(row) + 1 > budget:
            break
        if sum(len(r) + 1 for r in chunk) + len(row) > SECTION_CHARS - SECTION_MARGIN:
            sections.append("\n".join(chunk))
            chunk = []
        chunk.append(row)
        shown += 1
        used += len(row) + 1
    if chunk:
        sections.append("\n".join(chunk))
    blocks: list[Block] = [header(title), *(section(text) for text in sections[: MAX_BLOCKS - 2])]
    note = "Ask `/ftpcode CODE` for the full answer on any of these."
    if shown < len(rows):
        note = f"{shown} of {len(rows)} shown: narrow it with `/ftpcode list 4xx`, `winsock`, `sftp`, `curl`. " + note
    blocks.append(context(note))
    return finish(f"{title}: {len(entries)} codes", blocks)
