"""The figures of `/ftpcode stats`, the App Home for admins, the weekly digest and `ftpcode stats`: read from
the feedback table (bot/feedback_store.py) over a period, in a few queries. No Slack here.

- answers given, and the codes (entries, scan findings) asked most;
- votes, the answers voted unhelpful most, and the latest comments;
- the queries that found nothing (the knowledge gaps);
- triages started, resolved, handed off, abandoned, expired; the resolution rate (resolved / started), the
  deflection rate (resolved / (resolved + handed off + hand-offs asked after an unhelpful answer): of the cases
  that came to an end, the share that needed no human), the median time from start to resolution;
- the checklist steps shown in the triages that ended "fixed".
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.database import Database

PERIODS = {"7d": 7, "30d": 30, "90d": 90}
TOP = 10
COMMENTS = 10
TRIAGE_OUTCOMES = ("started", "resolved", "handed_off", "abandoned", "expired")


@dataclass
class Stats:
    days: int
    since: float
    until: float
    answers: int = 0
    asked_most: list[tuple[str, int]] = field(default_factory=list)
    votes_up: int = 0
    votes_down: int = 0
    unhelpful: list[tuple[str, int]] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)
    gaps: int = 0
    found_nothing: list[tuple[str, int]] = field(default_factory=list)
    triages: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TRIAGE_OUTCOMES, 0))
    answer_handoffs: int = 0
    median_resolution_seconds: float | None = None
    before_fixed: list[tuple[str, int]] = field(default_factory=list)

    @property
    def resolution_rate(self) -> float | None:
        started = self.triages["started"]
        return self.triages["resolved"] / started if started else None

    @property
    def deflection_rate(self) -> float | None:
        ended = self.triages["resolved"] + self.triages["handed_off"] + self.answer_handoffs
        return self.triages["resolved"] / ended if ended else None

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["asked_most"] = [{"subject": s, "count": n} for s, n in self.asked_most]
        document["unhelpful"] = [{"subject": s, "count": n} for s, n in self.unhelpful]
        document["comments"] = [{"subject": s, "comment": c} for s, c in self.comments]
        document["found_nothing"] = [{"query": q, "count": n} for q, n in self.found_nothing]
        document["before_fixed"] = [{"step": s, "count": n} for s, n in self.before_fixed]
        document["resolution_rate"] = self.resolution_rate
        document["deflection_rate"] = self.deflection_rate
        return document


def compute(db: Database, days: int, until: float | None = None, top: int = TOP) -> Stats:
    """The figures for the `days` days before `until` (now); the `top` of each list."""
    until = time.time() if until is None else until
    stats = Stats(days, until - days * 86400, until)
    window = {"since": stats.since, "until": stats.until, "top": top}
    in_window = "at >= :since AND at < :until"
    with db.transaction(write=False) as execute:
        counts = execute(
            "SELECT event, vote, outcome, COUNT(*) FROM feedback"
            f" WHERE event IN ('asked', 'nothing', 'vote', 'handoff', 'triage') AND {in_window}"
            " GROUP BY event, vote, outcome",
            window,
        ).fetchall()

        def most(event: str, column: str, extra: str = "") -> list[tuple[str, int]]:
            rows = execute(
                f"SELECT {column}, COUNT(*) AS n FROM feedback WHERE event = '{event}' AND {in_window}{extra}"
                f" AND {column} IS NOT NULL GROUP BY {column} ORDER BY n DESC, {column} LIMIT :top",
                window,
            ).fetchall()
            return [(str(key), int(n)) for key, n in rows]

        stats.asked_most = most("asked", "subject")
        stats.unhelpful = most("vote", "subject", " AND vote = 'down'")
        stats.found_nothing = most("nothing", "query")
        stats.before_fixed = most("step", "subject")
        stats.comments = [
            (str(subject), str(comment))
            for subject, comment in execute(
                f"SELECT subject, comment FROM feedback WHERE event = 'vote' AND {in_window}"
                " AND comment IS NOT NULL AND comment <> '' ORDER BY at DESC, id LIMIT :top",
                {**window, "top": COMMENTS},
            ).fetchall()
        ]
        resolved = f"event = 'triage' AND outcome = 'resolved' AND seconds IS NOT NULL AND {in_window}"
        n = execute(f"SELECT COUNT(*) FROM feedback WHERE {resolved}", window).fetchone()[0]
        if n:
            middle = [
                execute(
                    f"SELECT seconds FROM feedback WHERE {resolved} ORDER BY seconds LIMIT 1 OFFSET :offset",
                    {**window, "offset": offset},
                ).fetchone()[0]
                for offset in sorted({(n - 1) // 2, n // 2})
            ]
            stats.median_resolution_seconds = sum(middle) / len(middle)
    for event, vote, outcome, count in counts:
        if event == "asked":
            stats.answers += count
        elif event == "vote" and vote in ("up", "down"):
            setattr(stats, f"votes_{vote}", getattr(stats, f"votes_{vote}") + count)
        elif event == "nothing":
            stats.gaps += count
        elif event == "triage" and outcome in stats.triages:
            stats.triages[outcome] += count
        elif event == "handoff":
            stats.answer_handoffs += count
    return stats


def period_days(word: str | None) -> int | None:
    """`7d`, `30d` or `90d` (none: 30); None for anything else."""
    if word is None or not word.strip():
        return 30
    return PERIODS.get(word.strip().lower())


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.0f}%"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def subject_label(subject: str) -> str:
    """How people name what was answered: "FTP 425", or a scan finding as "log: too many connections"."""
    from knowledge import answer as answers
    from knowledge.lookup import finder

    entry = finder().kb.by_id.get(subject)
    if entry is not None:
        return answers.label(entry)
    return "log: " + subject.replace("-", " ")


def step_label(step_id: str) -> str:
    from knowledge.triage import load_tree

    step = next((s for s in load_tree().steps if s.id == step_id), None)
    text = step.text.replace("{code}", "…") if step else step_id
    return text if len(text) <= 90 else text[:89].rstrip() + "…"


def figure_rows(stats: Stats, previous: Stats | None = None) -> list[tuple[str, str, list[str]]]:
    """The figures as table rows (figure, item, values): one value, or this period's and the one before's."""

    def both(current: float | int | str, before: float | int | str | None) -> list[str]:
        return [str(current)] if previous is None else [str(current), str(before)]

    p = previous
    rows: list[tuple[str, str, list[str]]] = [
        ("Answers given", "", both(stats.answers, p and p.answers)),
        ("Votes", "👍 helpful", both(stats.votes_up, p and p.votes_up)),
        ("Votes", "👎 not helpful", both(stats.votes_down, p and p.votes_down)),
    ]
    earlier = dict(p.asked_most) if p else {}
    rows += [("Asked most", subject_label(s), both(n, earlier.get(s, 0))) for s, n in stats.asked_most]
    earlier = dict(p.unhelpful) if p else {}
    rows += [("Voted not helpful", subject_label(s), both(n, earlier.get(s, 0))) for s, n in stats.unhelpful]
    rows.append(("Found nothing", "all queries", both(stats.gaps, p and p.gaps)))
    earlier = dict(p.found_nothing) if p else {}
    rows += [("Found nothing", clip_text(q, 80), both(n, earlier.get(q, 0))) for q, n in stats.found_nothing]
    for outcome in TRIAGE_OUTCOMES:
        label = outcome.replace("_", " ")
        rows.append(("Triages", label, both(stats.triages[outcome], p and p.triages[outcome])))
    rows += [
        (
            "Resolution rate",
            "resolved / started",
            both(percent(stats.resolution_rate), p and percent(p.resolution_rate)),
        ),
        (
            "Deflection rate",
            "resolved without a human",
            both(percent(stats.deflection_rate), p and percent(p.deflection_rate)),
        ),
        (
            "Median time to resolution",
            "",
            both(duration(stats.median_resolution_seconds), p and duration(p.median_resolution_seconds)),
        ),
    ]
    earlier = dict(p.before_fixed) if p else {}
    rows += [("Shown before a fix", step_label(s), both(n, earlier.get(s, 0))) for s, n in stats.before_fixed]
    return rows


def clip_text(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_text(stats: Stats) -> str:
    """The figures as a terminal table (`ftpcode stats`), and the latest comments."""
    day = time.strftime("%Y-%m-%d", time.gmtime(stats.since)), time.strftime("%Y-%m-%d", time.gmtime(stats.until))
    rows = [("Figure", "Item", "Count"), *((f, i or "-", v[0]) for f, i, v in figure_rows(stats))]
    widths = [max(len(row[c]) for row in rows) for c in range(2)]
    lines = [f"ftpcode: the last {stats.days} days ({day[0]} to {day[1]}, UTC)", ""]
    for figure, item, count in rows:
        lines.append(f"{figure:<{widths[0]}}  {item:<{widths[1]}}  {count:>5}".rstrip())
    if stats.comments:
        lines += ["", "What was missing, said the people who voted no:"]
        lines += [f"  {subject_label(s)}: {clip_text(c, 300)}" for s, c in stats.comments]
    return "\n".join(lines) + "\n"
