"""bot/warm_up.py: once the process serves, the metrics library and the knowledge base are loaded on a thread of
their own, and what is loaded by then is kept out of the garbage collector's full collections."""

from __future__ import annotations

from tests.fresh_python import run_fresh

PROBE = """
import gc, sys, threading
from bot import warm_up
from knowledge import lookup
before = gc.get_freeze_count()
warm_up.start()
warm_up.start()  # once per process
[thread] = [t for t in threading.enumerate() if t.name == "warm-up"]
thread.join(30)
print(before, gc.get_freeze_count(), "prometheus_client" in sys.modules, lookup._finder is not None)
print("bot.triage_flow" in sys.modules)
"""


def test_warming_up_loads_metrics_and_knowledge_then_freezes_what_is_loaded() -> None:
    before, frozen, metrics_loaded, knowledge_loaded, _ = run_fresh(PROBE).split()
    assert int(before) == 0
    assert int(frozen) > 10_000  # the modules and the knowledge base: ~20,000 tracked objects here
    assert metrics_loaded == "True" and knowledge_loaded == "True"


LATER = ("bot.triage_flow", "knowledge.triage", "knowledge.site", "tomllib")


def test_the_app_leaves_the_triage_and_the_site_notes_for_later() -> None:
    """Not on the way to the first answer (12-14 ms of importing the app here): the first triage, or the warm-up,
    loads the triage's modules; knowledge/site.py only loads where there are site notes."""
    out = run_fresh(
        f"import sys, bot.app, bot.http_front, bot.socket_mode; print([m for m in {LATER} if m in sys.modules])"
    )
    assert out.strip() == "[]"


def test_warming_up_loads_the_triage_modules() -> None:
    *_, triage_loaded = run_fresh(PROBE).split()
    assert triage_loaded == "True"
