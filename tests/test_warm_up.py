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
"""


def test_warming_up_loads_metrics_and_knowledge_then_freezes_what_is_loaded() -> None:
    before, frozen, metrics_loaded, knowledge_loaded = run_fresh(PROBE).split()
    assert int(before) == 0
    assert int(frozen) > 10_000  # the modules and the knowledge base: ~20,000 tracked objects here
    assert metrics_loaded == "True" and knowledge_loaded == "True"
