"""The digest's chart: answers a day, this week against the week before, and the codes asked most. Drawn with
matplotlib, from the `digest` extra, imported here only when a digest is drawn: never at start-up, never on the
path of an acknowledgement."""

from __future__ import annotations

import importlib.util
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.insights import Stats

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def available() -> bool:
    """Whether matplotlib can be imported (asked of the import system, without importing it)."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except (ImportError, ValueError):
        return False


def render(this_week: list[int], week_before: list[int], week: Stats, before: Stats) -> bytes:
    """A PNG of two panels: answers a day (Monday first), and the codes asked most this week with last week's."""
    import matplotlib

    matplotlib.use("Agg")  # no display: draw into memory
    from matplotlib import pyplot

    from bot.insights import subject_label

    figure, (days, codes) = pyplot.subplots(1, 2, figsize=(11, 4), dpi=100)
    try:
        positions = range(len(DAYS))
        width = 0.4
        days.bar([p - width / 2 for p in positions], week_before, width, label="week before", color="#9bb7d4")
        days.bar([p + width / 2 for p in positions], this_week, width, label="this week", color="#1d4f73")
        days.set_xticks(list(positions), DAYS)
        days.set_title("Answers a day")
        days.legend(frameon=False)
        asked = week.asked_most[:6]
        earlier = dict(before.asked_most)
        labels = [subject_label(subject) for subject, _ in asked]
        rows = range(len(asked))
        codes.barh([r + width / 2 for r in rows], [earlier.get(s, 0) for s, _ in asked], width, color="#9bb7d4")
        codes.barh([r - width / 2 for r in rows], [n for _, n in asked], width, color="#1d4f73")
        codes.set_yticks(list(rows), labels)
        codes.invert_yaxis()
        codes.set_title("Asked most this week")
        for axes in (days, codes):
            axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        png = io.BytesIO()
        figure.savefig(png, format="png")
        return png.getvalue()
    finally:
        pyplot.close(figure)
