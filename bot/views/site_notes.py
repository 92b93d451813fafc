"""The team's own facts (site notes) in answers, checklists and scan findings, marked as theirs:
":office: At Example Corp: ...". Everything from the notes is escaped; a runbook is a link (its address was
checked when the notes were loaded)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk.models.blocks import Block

from bot.mrkdwn import escape, escape_clipped
from bot.site_notes import current
from bot.views.block_kit import section

if TYPE_CHECKING:
    from knowledge.site import Note

# A note is cut to this, and only so many are shown in one message: a folder of long notes must not push an
# answer, a scan or a checklist past Slack's limits.
NOTE_CHARS = 1200


def _facts(note: Note) -> list[str]:
    facts = []
    if note.hosts:
        facts.append("Hosts: " + ", ".join(f"`{escape(host)}`" for host in note.hosts))
    if note.passive_ports:
        facts.append(f"Passive ports: {escape(note.passive_ports)}")
    if note.contact:
        facts.append(f"Ask: {escape(note.contact)}")
    if note.runbook:
        facts.append(f"<{note.runbook}|Runbook>")
    return facts


def note_text(site: str, note: Note, about: str = "") -> str:
    """The note, then its facts and the team's own steps while they fit in NOTE_CHARS: whole lines only, so no
    link or entity is ever cut."""
    lines = [f":office: *At {escape_clipped(site, 100)}{about}:* {escape_clipped(note.text, 1000)}"]
    more = [" · ".join(_facts(note))]
    if note.user_action:
        more.append("*Try first, here:*\n" + "\n".join(f"• {escape_clipped(s, 300)}" for s in note.user_action[:5]))
    if note.admin_action:
        more.append("*Our admins check:*\n" + "\n".join(f"• {escape_clipped(s, 300)}" for s in note.admin_action[:5]))
    for line in more:
        if line and sum(len(x) + 1 for x in lines) + len(line) <= NOTE_CHARS:
            lines.append(line)
    return "\n".join(lines)


def entry_blocks(entry_id: str) -> list[Block]:
    site = current()
    if site is None:
        return []
    return [section(note_text(site.site, note)) for note in site.entries.get(entry_id, ())][:2]


def finding_blocks(finding_ids: list[str]) -> list[Block]:
    site = current()
    if site is None:
        return []
    return [section(note_text(site.site, note)) for fid in finding_ids for note in site.findings.get(fid, ())][:2]


def step_blocks(numbered: list[tuple[str, str]]) -> list[Block]:
    """Notes on the checklist's steps, each naming the step it is about ("you can try, 2", step id)."""
    site = current()
    if site is None:
        return []
    return [
        section(note_text(site.site, note, f" ({where})"))
        for where, step_id in numbered
        for note in site.steps.get(step_id, ())
    ][:3]
