"""The knowledge base and the triage tree load once per process, however many threads ask for them at once
(the bot's first requests do)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from knowledge import lookup
from knowledge.triage import loader

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


def slow_counting(load: Callable[..., Any], calls: list[int]) -> Callable[..., Any]:
    def counted(*args: Any) -> Any:
        calls.append(1)
        time.sleep(0.05)  # a load takes tens of milliseconds: long enough for every thread to ask meanwhile
        return load(*args)

    return counted


def test_threads_asking_at_once_wait_for_one_load_of_the_knowledge_base(monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(lookup, "load", slow_counting(lookup.load, calls))
    monkeypatch.setattr(lookup, "_finder", None)

    finders = all_at_once(lookup.finder)

    assert len(calls) == 1
    assert all(found is finders[0] for found in finders)
    assert finders[0].lookup("425").matches


def test_threads_asking_at_once_wait_for_one_load_of_the_triage_tree(monkeypatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(loader, "parse_tree", slow_counting(loader.parse_tree, calls))
    monkeypatch.setattr(loader, "_shipped", None)

    trees = all_at_once(loader.load_tree)

    assert len(calls) == 1
    assert all(tree is trees[0] for tree in trees)
    assert trees[0].steps
