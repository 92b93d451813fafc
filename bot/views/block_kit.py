"""The Block Kit building blocks every view is made of, and Slack's limits on them as names.

Blocks are built with slack_sdk.models, whose to_dict() checks each block against Slack's limits: finish() calls
it, so a view that breaks a limit fails where it is drawn, not as an error from Slack.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.mrkdwn import clip

# Slack's limits (Block Kit reference; chat.postMessage for the blocks of a message).
MAX_BLOCKS = 50
"""Blocks in a message."""
MAX_VIEW_BLOCKS = 100
"""Blocks in a modal or the App Home."""
SECTION_CHARS = 3000
"""The text of a section, or of one element of a context block."""
HEADER_CHARS = 150
BUTTON_LABEL_CHARS = 75
BUTTON_VALUE_CHARS = 2000
ACTIONS_ELEMENTS = 25
"""Elements in one actions block."""
SECTION_FIELDS = 10
TABLE_ROWS = 100

# Ours, within Slack's limits.
MAX_BLOCK_CHARS = 11_000
"""Slack refuses a message whose blocks pass about 13k characters of JSON (msg_blocks_too_long): a margin."""
FALLBACK_CHARS = 3000
"""The text fallback: what a notification shows, and what a client without blocks reads."""
SECTION_MARGIN = 100
"""Kept free in a section filled line by line, or with text that escaping or a closing fence makes longer."""


@dataclass
class Message:
    """A message ready for chat.postMessage / respond: a text fallback and the blocks as dicts."""

    text: str
    blocks: list[dict] = field(default_factory=list)

    def kwargs(self) -> dict:
        return {"text": self.text, "blocks": self.blocks}


def md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, SECTION_CHARS))


def section(text: str, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=md(text), block_id=block_id)


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[md(text)])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=clip(text, HEADER_CHARS), emoji=False))


def button(label: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    label_text = PlainTextObject(text=clip(label, BUTTON_LABEL_CHARS))
    return ButtonElement(text=label_text, action_id=action_id, value=value, style=style)


def finish(text: str, blocks: list[Block]) -> Message:
    """Validates every block against Slack's limits (to_dict raises) and keeps the text fallback in bounds."""
    return Message(text=clip(text, FALLBACK_CHARS), blocks=[b.to_dict() for b in blocks])


def note(text: str) -> Message:
    """Plain text as a message of one section (the text is mrkdwn: escape what the user typed)."""
    return finish(text, [section(text)])
