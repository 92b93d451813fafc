"""The knowledge base and the triage tree, loaded once per process however many threads ask for them first.

knowledge/ keeps both once loaded (a module global, functools.cache) but does not make a second caller wait for a
load in progress: the first `/ftpcode` commands of a new process, up to HTTP_THREADS at once, each loaded a copy of
their own, all holding the GIL, and the process kept the memory (bench/README.md: +8 MB of RSS in Socket Mode).
"""

from __future__ import annotations

import threading

from knowledge import lookup
from knowledge.lookup import Finder
from knowledge.triage import Tree, load_tree

_lock = threading.Lock()
_loaded: set[str] = set()


def finder() -> Finder:
    """knowledge.lookup.finder(), its first load made by one thread while the others wait."""
    if "finder" not in _loaded:
        with _lock:
            found = lookup.finder()
            _loaded.add("finder")
            return found
    return lookup.finder()


def triage_tree() -> Tree:
    """The shipped triage tree, its first load made by one thread while the others wait."""
    if "tree" not in _loaded:
        with _lock:
            tree = load_tree()
            _loaded.add("tree")
            return tree
    return load_tree()
