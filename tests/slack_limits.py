"""Slack's limits on what an app posts, checked on what the bot built or sent (Block Kit, text fallback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from bot.views.block_kit import Message

# Slack's documented limits (Block Kit reference; chat.postMessage for the text and the 50 blocks).
MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 3000
MAX_CONTEXT_ELEMENTS = 10
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTIONS_ELEMENTS = 25
MAX_ID = 255
MAX_BLOCKS_JSON = 12_000
MAX_TEXT = 40_000
MAX_CONTEXT_ACTIONS = 5
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20


def text_strings(node: Any) -> Iterator[str]:
    """Every string under a "text" key, at any depth (mrkdwn and plain_text objects, the top-level text)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from text_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from text_strings(item)


def assert_within_slack_limits(message: Message, max_blocks: int = MAX_BLOCKS) -> None:
    assert message.text.strip(), "a message needs a top-level text (notifications, screen readers)"
    assert len(message.text) <= MAX_TEXT
    assert len(message.blocks) <= max_blocks
    assert len(json.dumps(message.blocks, ensure_ascii=False)) <= MAX_BLOCKS_JSON
    assert sum(b["type"] == "table" for b in message.blocks) <= 1, "Slack takes one table a message"
    for block in message.blocks:
        assert_block_within_limits(block)


def assert_block_within_limits(block: dict[str, Any]) -> None:
    assert len(block.get("block_id", "")) <= MAX_ID
    kind = block["type"]
    if kind == "section":
        assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
    elif kind == "header":
        assert block["text"]["type"] == "plain_text"
        assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
    elif kind == "context":
        assert 0 < len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
        for element in block["elements"]:
            assert 0 < len(element["text"]) <= MAX_CONTEXT_TEXT
    elif kind == "actions":
        assert 0 < len(block["elements"]) <= MAX_ACTIONS_ELEMENTS
        action_ids = [e["action_id"] for e in block["elements"]]
        assert len(set(action_ids)) == len(action_ids), "action_ids must be unique within a block"
        for button in block["elements"]:
            assert 0 < len(button["text"]["text"]) <= MAX_BUTTON_TEXT
            assert len(button.get("value", "")) <= MAX_BUTTON_VALUE
            assert len(button["action_id"]) <= MAX_ID
    elif kind == "context_actions":
        assert 0 < len(block["elements"]) <= MAX_CONTEXT_ACTIONS
        for element in block["elements"]:
            assert element["type"] == "feedback_buttons" and len(element["action_id"]) <= MAX_ID
            for side in ("positive_button", "negative_button"):
                assert 0 < len(element[side]["text"]["text"]) <= MAX_BUTTON_TEXT
                assert 0 < len(element[side]["value"]) <= MAX_BUTTON_VALUE
    elif kind == "table":
        assert 0 < len(block["rows"]) <= MAX_TABLE_ROWS
        widths = {len(row) for row in block["rows"]}
        assert len(widths) == 1 and 0 < widths.pop() <= MAX_TABLE_CELLS, "every row has the same cells, at most 20"
        for row in block["rows"]:
            for cell in row:
                assert cell["type"] in ("raw_text", "rich_text") and 0 < len(cell.get("text", "x")) <= 2000
    elif kind == "image":
        assert block.get("image_url") or block.get("slack_file")
        assert 0 < len(block["alt_text"]) <= 2000
    else:
        assert kind == "divider", f"unexpected block type {kind}"
