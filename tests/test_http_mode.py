"""bot/http_mode.py's worker start: gunicorn's ASGI protocol is imported without building its chunk-size table."""

from __future__ import annotations

from tests.fresh_python import run_fresh

PROBE = """
import builtins, sys
real_range, sizes = builtins.range, []
builtins.range = lambda *args: sizes.append(args) or real_range(*args)
from bot.http_mode import CHUNK_PREFIXES_SIZE, _asgi_protocol
protocol = _asgi_protocol()
builtins.range = real_range
from gunicorn.workers.gasgi import ASGIWorker
print((CHUNK_PREFIXES_SIZE,) in sizes, len(protocol._CHUNK_PREFIXES), "range" in vars(protocol))
worker_module = sys.modules[ASGIWorker.__module__]
print(sys.modules["gunicorn.asgi"].protocol is protocol, worker_module.ASGIProtocol is protocol.ASGIProtocol)
"""


def test_the_asgi_protocol_is_imported_without_its_chunk_prefix_table() -> None:
    built, entries, range_left, *_ = run_fresh(PROBE).split()
    assert built == "False"  # never built, rather than built and emptied
    assert entries == "0" and range_left == "False"


def test_the_asgi_protocol_so_imported_is_the_one_gunicorn_uses() -> None:
    *_, same_module, worker_uses = run_fresh(PROBE).split()
    assert same_module == "True" and worker_uses == "True"


HANDED = """
import bot.__main__ as main
from bot import http_mode
from bot.config import from_env
main.CHECK_KEPT_SECONDS = {kept}
main.open_store = lambda config: None
main.watch_readiness = lambda store, worker: None
main._build = lambda config, store, auth_test: print(auth_test) or type("App", (), {{"worker": None}})()
http_mode.asgi_app = lambda app, health, config: None
http_mode.serve = lambda factory, config: factory()  # a worker started at once, or (kept 0 s) later
env = {{"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "0123456789abcdef"}}
main.run_http(from_env(env), ({{"ok": True, "user_id": "UBOT"}}, {{}}))
"""


def test_a_worker_started_with_the_master_takes_its_auth_test() -> None:
    assert run_fresh(HANDED.format(kept=30)).strip() == "({'ok': True, 'user_id': 'UBOT'}, {})"


def test_a_worker_started_later_asks_slack_itself() -> None:
    """A token revoked since the master's check still stops a worker started by a restart, as before."""
    assert run_fresh(HANDED.format(kept=0)).strip() == "None"
