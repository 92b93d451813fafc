"""The team's site notes (knowledge/site.py) in this process: loaded at start-up, refused then if invalid, and
reloaded without a restart when the folder changes (checked every RELOAD_SECONDS) or on SIGHUP.

A reload reads and checks the whole folder first; only a folder that passes replaces the notes in use, in one
assignment. A broken edit leaves the last good notes in place and logs the error, once per version of the
folder. In HTTP mode each gunicorn worker keeps its own copy: it starts with the one the master checked at
start-up (inherited through the fork) and reads the folder again at once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # knowledge/site.py loads only where there are notes to read
    from knowledge.site import SiteNotes

logger = logging.getLogger("bot.site")

RELOAD_SECONDS = 15.0


class SiteHolder:
    def __init__(self) -> None:
        self.notes: SiteNotes | None = None
        self.version = 0  # changes with every notes loaded: the answer caches key on it
        self.directory: Path | None = None
        self._signature: tuple = ()
        self._lock = threading.Lock()
        self._asked = False  # SIGHUP: read the folder at the next turn even if it looks unchanged

    def load(self, directory: str | None) -> None:
        """At start-up: the folder's notes, or SiteError (the bot refuses to start)."""
        if not directory:
            return
        from knowledge.site import load_site, signature

        path = Path(directory)
        notes = load_site(path)
        with self._lock:
            self.directory, self._signature = path, signature(path)
            self._use(notes)
        logger.info("site notes for %s: %d note(s) from %d file(s)", notes.site, notes.count, notes.files)

    def ask_reload(self) -> None:
        """SIGHUP: the next reload reads the folder whatever its files' times say."""
        self._asked = True

    def reload(self, force: bool = False) -> bool:
        """Reads the folder again when it changed (or `force`); True when new notes are in use."""
        if self.directory is None:
            return False
        from knowledge.site import SiteError, load_site, signature

        with self._lock:
            now = signature(self.directory)
            force, self._asked = force or self._asked, False
            if now == self._signature and not force:
                return False
            self._signature = now
            try:
                notes = load_site(self.directory)
            except SiteError as exc:
                logger.error("site notes not reloaded, the last good ones stay in use: %s", exc)
                return False
            self._use(notes)
        logger.info("site notes reloaded for %s: %d note(s) from %d file(s)", notes.site, notes.count, notes.files)
        return True

    def _use(self, notes: SiteNotes) -> None:
        self.notes = notes
        self.version += 1


SITE = SiteHolder()


def current() -> SiteNotes | None:
    return SITE.notes


def handoff_channel(entry_id: str, default: str | None) -> str | None:
    """Where hand-offs about `entry_id` go: the channel a site note names, else `default`."""
    site = current()
    return (site.handoff_channel(entry_id) if site else None) or default
