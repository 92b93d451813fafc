"""The bot's threads load the knowledge base and the triage tree once, however many ask for them at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bot import knowledge_once
from knowledge import lookup

THREADS = 8


def all_at_once(call: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(THREADS)
    results: list[Any] = []

    def run() -> None:
        barrier.wait()
        results.append(call())

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def slow_counting(load: Callable[[], Any], calls: list[int]) -> Callable[[], Any]:
    def counted() -> Any:
        calls.append(1)
        time.sleep(0.05)  # a load takes tens of milliseconds: long enough for every thread to ask meanwhile
        return load()

    return counted


def test_threads_asking_at_once_wait_for_one_load_of_the_knowledge_base(monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(lookup, "load", slow_counting(lookup.load, calls))
    monkeypatch.setattr(lookup, "_finder", None)
    monkeypatch.setattr(knowledge_once, "_loaded", set())

    finders = all_at_once(knowledge_once.finder)

    assert len(calls) == 1
    assert all(found is finders[0] for found in finders)
    assert finders[0].lookup("425").matches


def test_threads_asking_at_once_wait_for_one_load_of_the_triage_tree(monkeypatch) -> None:
    loads: list[int] = []
    kept: dict[str, Any] = {}
    real = knowledge_once.load_tree

    def cached_like_functools() -> Any:  # keeps the tree once loaded; does not hold back a second caller meanwhile
        if "tree" not in kept:
            loads.append(1)
            time.sleep(0.05)
            kept["tree"] = real()
        return kept["tree"]

    monkeypatch.setattr(knowledge_once, "load_tree", cached_like_functools)
    monkeypatch.setattr(knowledge_once, "_loaded", set())

    trees = all_at_once(knowledge_once.triage_tree)

    assert len(loads) == 1
    assert all(tree is trees[0] for tree in trees)
