"""Block Kit for the figures (bot/insights.py): a message with one table block (Slack takes one a message), the
App Home's version in sections (two columns of fields), and the comments, escaped and cut."""

from __future__ import annotations

import time

from slack_sdk.models.blocks import Block, DividerBlock, RawTextObject, SectionBlock, TableBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.insights import Stats, figure_rows, subject_label
from bot.mrkdwn import escape, literal
from bot.views.block_kit import SECTION_FIELDS, TABLE_ROWS, Message, context, finish, header, section

USAGE = "Usage: `/ftpcode stats [7d|30d|90d]` (the last 30 days when no period is given)."
NOT_ADMIN = "The stats are for the people who look after this bot (FTPCODE_ADMINS). Ask one of them, or ask me a code."
COMMENT_CHARS = 300


def _day(seconds: float) -> str:
    return time.strftime("%d %b %Y", time.gmtime(seconds))


def table(stats: Stats, previous: Stats | None = None) -> TableBlock:
    names = ["This week", "Week before"] if previous is not None else ["Count"]
    rows = [["Figure", "Item", *names]]
    rows += [[figure, item or "–", *values] for figure, item, values in figure_rows(stats, previous)]
    cells = [[RawTextObject(text=cell or "–") for cell in row] for row in rows[:TABLE_ROWS]]
    settings = [{"align": "left"}, {"align": "left", "is_wrapped": True}] + [{"align": "right"}] * len(names)
    return TableBlock(rows=cells, column_settings=settings, block_id="figures")


def comment_blocks(stats: Stats) -> list[Block]:
    if not stats.comments:
        return []
    lines = [
        f"• *{escape(subject_label(subject))}*: “{literal(comment, COMMENT_CHARS)}”"
        for subject, comment in stats.comments
    ]
    return [section("*What was missing, said the people who voted 👎*\n" + "\n".join(lines))]


def summary_line(stats: Stats) -> str:
    return (
        f"{stats.answers} answers · 👍 {stats.votes_up} · 👎 {stats.votes_down} · {stats.gaps} found nothing · "
        f"{stats.triages['started']} triages, {stats.triages['resolved']} resolved"
    )


def stats_message(stats: Stats) -> Message:
    title = f"ftpcode: the last {stats.days} days"
    blocks: list[Block] = [
        header(title),
        context(f"{_day(stats.since)} – {_day(stats.until)} (UTC). {escape(summary_line(stats))}"),
        table(stats),
        *comment_blocks(stats),
    ]
    return finish(f"{title}: {summary_line(stats)}", blocks)


def digest_message(week: Stats, before: Stats, chart_note: str | None) -> Message:
    title = f"ftpcode this week: {_day(week.since)} – {_day(week.until - 1)}"
    blocks: list[Block] = [
        header(title),
        context(f"This week against the week before (UTC). {escape(summary_line(week))}"),
        table(week, before),
        *comment_blocks(week),
    ]
    if chart_note:
        blocks.append(context(chart_note))
    return finish(f"{title}: {summary_line(week)}", blocks)


def home_blocks(stats: Stats) -> list[Block]:
    """The figures for the App Home: each figure a section whose fields are the items and their counts."""
    blocks: list[Block] = [
        DividerBlock(),
        header(f"For admins: the last {stats.days} days"),
        context(escape(summary_line(stats))),
    ]
    grouped: dict[str, list[tuple[str, str]]] = {}
    for figure, item, values in figure_rows(stats):
        grouped.setdefault(figure, []).append((item, values[0]))
    for figure, items in grouped.items():
        fields = []
        for item, value in items[: SECTION_FIELDS // 2]:  # each item and its count
            fields += [MarkdownTextObject(text=escape(item) or "–"), MarkdownTextObject(text=f"*{escape(value)}*")]
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{escape(figure)}*"), fields=fields))
    blocks += comment_blocks(stats)
    return blocks
