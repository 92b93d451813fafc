"""bot/warm_up.py: once the process serves, the metrics library and the knowledge base are loaded on a thread of
their own, and what is loaded by then is kept out of the garbage collector's full collections."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

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
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    before, frozen, metrics_loaded, knowledge_loaded = result.stdout.split()
    assert int(before) == 0
    assert int(frozen) > 10_000  # the modules and the knowledge base: ~20,000 tracked objects here
    assert metrics_loaded == "True" and knowledge_loaded == "True"
