"""The App Home tab: how to ask, what the digits mean, the most asked codes."""

from __future__ import annotations

import functools

from slack_sdk.models.blocks import Block, DividerBlock
from slack_sdk.models.views import View

from bot.mrkdwn import escape
from bot.views.block_kit import MAX_VIEW_BLOCKS, context, header, section
from knowledge import answer as answers
from knowledge import digits
from knowledge.lookup import finder
from knowledge.popular import load_popular


@functools.cache
def _popular_ids() -> tuple[str, ...]:
    return load_popular(finder().kb)


def _digit_row(pattern: str, short: str, meaning: str) -> str:
    return f"`{pattern}` *{escape(short)}*: {escape(meaning)}"


def home_view(extra: list[Block] | None = None) -> dict:
    """The quick reference; `extra` (the figures, for admins) goes below it."""
    kb = finder().kb
    classes = "\n".join(_digit_row(f"{d}xx", *digits.first_digit(d)) for d in "123456")
    groups = "\n".join(_digit_row(f"x{d}x", *digits.second_digit(d)) for d in "012345")
    popular = [kb.by_id[i] for i in _popular_ids()]
    asked = "\n".join(
        f"`/ftpcode {escape(answers.query_for(e))}` {escape(answers.label(e))}: {escape(e.title)}" for e in popular
    )
    blocks: list[Block] = [
        header("ftpcode quick reference"),
        section(
            "*How to ask*\n• `/ftpcode 425` anywhere: only you see the answer.\n"
            "• `@ftpcode 530 when I log in` in a channel: I answer in a thread and can run a triage there.\n"
            "• A direct message here, with a code, a client's error message or a pasted log."
        ),
        DividerBlock(),
        section(f"*The first digit: how it went*\n{classes}"),
        section(f"*The second digit: which group*\n{groups}"),
        context("The third digit is the detail within the group. " + escape(digits.source())),
        DividerBlock(),
        section(f"*Most asked*\n{asked}" if asked else "*Most asked*\nNothing yet."),
        *(extra or []),
    ]
    return View(type="home", blocks=blocks[:MAX_VIEW_BLOCKS]).to_dict()
