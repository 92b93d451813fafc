"""What a bot process loads once it serves rather than before: its first /healthz 200 or Socket Mode connection
comes that much sooner, and the first question does not wait for the knowledge base either.

Loaded on one thread in the background: prometheus_client and the metrics (10-20 ms), then the knowledge base
(30-40 ms), then the triage's modules (bot/triage_flow.py and knowledge/triage/, ~10 ms; the tree itself is read
by the first triage). A request that needs one meanwhile waits for it (bot/metrics.py, knowledge.lookup.finder,
Python's lock on a module being imported).

Then everything loaded so far is moved out of the garbage collector's sight (gc.freeze): it stays for the life of
the process, and in HTTP mode, where each connection leaves garbage cycles behind, every full collection scanned it
again, stopping every thread for 14-44 ms during a load of /ftpcode (gc.callbacks in the bot, bench/README.md).
"""

from __future__ import annotations

import gc
import logging
import threading

from bot import metrics
from knowledge.lookup import finder

logger = logging.getLogger("bot")

_started = threading.Event()


def start() -> None:
    """Starts loading, once per process."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_load, name="warm-up", daemon=True).start()


def _load() -> None:
    try:
        metrics.load()
        finder()
        import bot.triage_flow  # noqa: F401
    except Exception:  # the request that needs it loads it again, and says what failed
        logger.exception("loading in the background failed")
        return
    gc.collect()  # what is garbage now would never be collected once frozen
    gc.freeze()
