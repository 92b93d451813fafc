"""Block Kit for feedback: "Was this helpful?" under an answer, the vote shown in place, the "what was missing?"
modal and the hand-off of an answer that did not help.

The buttons are Block Kit's feedback buttons element in a context actions block where slack_sdk has them
(3.48 does), two plain buttons otherwise; both carry the same signed values (bot/feedback.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, Block, InputBlock, PlainTextInputElement, RadioButtonsElement
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, Option, PlainTextObject
from slack_sdk.models.views import View

from bot.feedback import COMMENT_CHARS, Answered, FeedbackKeys, Vote
from bot.mrkdwn import clip, escape, literal
from bot.views.block_kit import BUTTON_VALUE_CHARS, MAX_BLOCKS, Message, button, context, finish, section

try:  # slack_sdk 3.36 and later
    from slack_sdk.models.blocks import ContextActionsBlock, FeedbackButtonObject, FeedbackButtonsElement
except ImportError:  # pragma: no cover - an older slack_sdk: plain buttons
    ContextActionsBlock = None  # type: ignore[assignment,misc]

VOTE_ACTION = "answer_feedback"
VOTE_ACTIONS = (VOTE_ACTION, f"{VOTE_ACTION}_up", f"{VOTE_ACTION}_down")
OPEN_COMMENT_ACTION = "feedback_comment_open"
COMMENT_CALLBACK = "feedback_comment"
PROMPT_BLOCK = "feedback_prompt"
BUTTONS_BLOCK = "feedback"
PROMPT = "Was this helpful?"
UNMATCHED_FORM = "I could not match this to one of my answers; nothing was saved."
NEXT_STEPS = {"none": "Nothing more", "triage": "Walk me through a triage", "human": "Ask a human"}


def _template(plain: bool) -> list[dict[str, Any]]:
    """The two blocks that end an answer, built (and checked) once by slack_sdk, with "{up}" and "{down}" where
    the signed values go: they are on the acknowledgement's path (bench/README.md)."""
    buttons: Block
    if ContextActionsBlock is not None and not plain:
        element = FeedbackButtonsElement(
            action_id=VOTE_ACTION,
            positive_button=FeedbackButtonObject(text="👍 Yes", value="{up}", accessibility_label="Yes, this helped"),
            negative_button=FeedbackButtonObject(
                text="👎 No", value="{down}", accessibility_label="No, this did not help"
            ),
        )
        buttons = ContextActionsBlock(block_id=BUTTONS_BLOCK, elements=[element])
    else:
        buttons = ActionsBlock(
            block_id=BUTTONS_BLOCK,
            elements=[button("👍 Yes", f"{VOTE_ACTION}_up", "{up}"), button("👎 No", f"{VOTE_ACTION}_down", "{down}")],
        )
    prompt = context(PROMPT)
    prompt.block_id = PROMPT_BLOCK
    return [prompt.to_dict(), buttons.to_dict()]


_TEMPLATES = {plain: _template(plain) for plain in (False, True)}


def _encoded(blocks: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """`blocks` as json.dumps writes them in a list (brackets left out), cut inside the "{up}" and "{down}"
    values: the text between, and the way ("u" or "d") each value starts with, in the order they appear."""
    parts = re.split(r"\{(up|down)\}", json.dumps(blocks)[1:-1])
    return parts[0::2], [way[0] for way in parts[1::2]]


_ENCODED = {plain: _encoded(blocks) for plain, blocks in _TEMPLATES.items()}


def _vote_values(keys: FeedbackKeys, answered: Answered) -> dict[str, str]:
    up, down = keys.answer_values(answered)
    if len(down) > BUTTON_VALUE_CHARS:
        raise ValueError("a feedback value is longer than Slack takes")
    return {"up": up, "down": down}


def feedback_blocks(keys: FeedbackKeys, answered: Answered, plain: bool = False) -> list[dict[str, Any]]:
    """The two blocks that end an answer: the question, and the buttons carrying the signed values."""
    values = _vote_values(keys, answered)
    prompt, buttons = _TEMPLATES[plain]
    if buttons["type"] == "context_actions":
        element = buttons["elements"][0]
        filled = {
            **element,
            "positive_button": {**element["positive_button"], "value": values["up"]},
            "negative_button": {**element["negative_button"], "value": values["down"]},
        }
        return [{**prompt}, {**buttons, "elements": [filled]}]
    yes, no = buttons["elements"]
    return [{**prompt}, {**buttons, "elements": [{**yes, "value": values["up"]}, {**no, "value": values["down"]}]}]


def feedback_json(keys: FeedbackKeys, answered: Answered, plain: bool = False) -> str:
    """`feedback_blocks(…)` as json.dumps writes them in a list, without the brackets: for an answer sent in an
    acknowledgement, whose own blocks are encoded once (bot/answered.py). The blocks are encoded once too, and the
    value goes in as it stands inside a JSON string (FeedbackKeys.answer_value_in_json)."""
    value = keys.answer_value_in_json(answered)
    if value is None or len(value) > BUTTON_VALUE_CHARS - 2:
        return json.dumps(feedback_blocks(keys, answered, plain))[1:-1]  # escaped, or refused, the general way
    texts, ways = _ENCODED[plain]
    return f"{texts[0]}{ways[0]}|{value}{texts[1]}{ways[1]}|{value}{texts[2]}"


def with_feedback(message: Message, keys: FeedbackKeys, answered: Answered | None) -> Message:
    """A copy of `message` (answers are cached: never changed in place) ending with the feedback blocks."""
    if answered is None:
        return message
    return Message(message.text, [*message.blocks, *feedback_blocks(keys, answered)])


def _without_feedback(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b for b in blocks if b.get("block_id") not in (PROMPT_BLOCK, BUTTONS_BLOCK)]


def has_feedback(blocks: list[dict[str, Any]]) -> bool:
    return any(b.get("block_id") == BUTTONS_BLOCK for b in blocks)


def chosen(vote: str, comment_value: str | None) -> list[dict[str, Any]]:
    """What replaces the buttons in a message only the voter sees: the choice, and (after "No") a way to say more."""
    if vote == "up":
        return [context("👍 You found this helpful. Thanks!").to_dict()]
    blocks = [context("👎 You said this did not help. Thanks for telling me.").to_dict()]
    if comment_value:
        more = button("Tell me what was missing", OPEN_COMMENT_ACTION, comment_value)
        blocks.append(ActionsBlock(block_id="feedback_more", elements=[more]).to_dict())
    return blocks


def voted_in_place(blocks: list[dict[str, Any]], vote: str, comment_value: str | None) -> list[dict[str, Any]]:
    """The message's blocks with its buttons replaced by the choice (DMs and private answers)."""
    return [*_without_feedback(blocks), *chosen(vote, comment_value)][:MAX_BLOCKS]


def tallied(blocks: list[dict[str, Any]], counts: dict[str, int]) -> list[dict[str, Any]]:
    """A message in a channel keeps its buttons for the others; the question shows the votes so far."""
    line = f"{PROMPT} 👍 {counts.get('up', 0)} · 👎 {counts.get('down', 0)} so far (one vote each)"
    tally = context(line)
    tally.block_id = PROMPT_BLOCK
    return [tally.to_dict() if b.get("block_id") == PROMPT_BLOCK else b for b in blocks]


def comment_modal(
    metadata: str, label: str, can_triage: bool, handoff_channel: str | None, voted_down: bool = True
) -> dict[str, Any]:
    """ "What was missing?": an optional comment and what to do next, in one step."""
    options = [Option(value="none", text=PlainTextObject(text=NEXT_STEPS["none"]))]
    if can_triage:
        options.append(Option(value="triage", text=PlainTextObject(text=NEXT_STEPS["triage"])))
    if handoff_channel:
        options.append(Option(value="human", text=MarkdownTextObject(text=f"Ask a human in <#{handoff_channel}>")))
    intro = f"Thanks for telling me that the answer about *{escape(label)}* did not help." if voted_down else ""
    blocks: list[Block] = []
    if intro:
        blocks.append(section(intro))
    blocks.append(
        InputBlock(
            block_id="comment",
            label="What was missing? (optional)",
            optional=True,
            element=PlainTextInputElement(
                action_id="comment",
                multiline=True,
                max_length=COMMENT_CHARS,
                placeholder="For example: it did not say which ports to open",
            ),
        )
    )
    if len(options) > 1:
        blocks.append(
            InputBlock(
                block_id="next",
                label="What next?",
                optional=True,
                element=RadioButtonsElement(action_id="next", options=options, initial_option=options[0]),
            )
        )
    blocks.append(context("What you write is kept for the people who maintain my answers, without your name."))
    view = View(
        type="modal",
        callback_id=COMMENT_CALLBACK,
        title="What was missing?",
        submit="Send",
        close="Skip",
        private_metadata=metadata,
        blocks=blocks,
    )
    return view.to_dict()


def note_modal(text: str) -> dict[str, Any]:
    return View(type="modal", title="ftpcode", close="Close", blocks=[section(text)]).to_dict()


def modal_failed_message(reopen_value: str) -> Message:
    """When the "what was missing?" form could not open: a button that opens it from a fresh click."""
    more = button("Tell me what was missing", OPEN_COMMENT_ACTION, reopen_value)
    text = "I could not open the form just now. Press the button to try again."
    return finish(text, [section(text), ActionsBlock(elements=[more])])


def handoff_message(
    user_id: str, label: str, query: str, comment: str, permalink: str | None, mention: str | None
) -> Message:
    who = f"<!subteam^{mention}> " if mention else ""
    link = f" <{permalink}|Open the answer>" if permalink else ""
    asked = f" to “{literal(query, 300)}”" if query else ""
    lines = [f"{who}<@{user_id}> says my answer{asked} (*{escape(label)}*) did not help and asks for a human.{link}"]
    if comment:
        lines.append(f"*What was missing:* {literal(comment, 2500)}")
    return finish(
        f"Hand-off from <@{user_id}>: the answer about {label} did not help.", [section(line) for line in lines]
    )


def comment_thanks(comment: bool, next_step: str, done: str | None) -> str:
    parts = ["Thanks, I noted what was missing." if comment else "Thanks for the feedback."]
    if done:
        parts.append(done)
    elif next_step == "triage":
        parts.append("I could not start a triage for this answer.")
    return " ".join(parts)


def vote_label(vote: Vote) -> str:
    """The subject as people read it: an entry's label, or the finding's id."""
    from knowledge import answer as answers
    from knowledge.lookup import finder

    entry = finder().kb.by_id.get(vote.subject) if vote.kind == "entry" else None
    return answers.label(entry) if entry else clip(vote.subject.replace("-", " "), 60)
