"""bot/collector.py: the garbage collector is off while the bot starts, and on again, with what start-up made frozen,
where a process is about to fork or serve."""

from __future__ import annotations

from tests.fresh_python import run_fresh

RESUMED = "print(gc.isenabled(), gc.get_freeze_count() > 10_000)"  # ~25,000 objects tracked after the imports


def test_the_bot_starts_with_the_collector_off() -> None:
    assert run_fresh("import gc, bot.__main__; print(gc.isenabled())").strip() == "False"


def test_resuming_freezes_what_start_up_made_and_turns_the_collector_on() -> None:
    out = run_fresh(f"import gc, bot.__main__; from bot import collector; collector.resume(); {RESUMED}")
    assert out.split() == ["True", "True"]


def test_the_gunicorn_master_collects_again_before_it_forks() -> None:
    probe = f"""
import gc, bot.__main__
from bot import http_mode
from bot.config import from_env
env = {{"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "0123456789abcdef", "PORT": "8080"}}
http_mode._Gunicorn.run = lambda self: {RESUMED}
http_mode.serve(lambda: None, from_env(env))
"""
    assert run_fresh(probe).split() == ["True", "True"]


def test_a_gunicorn_worker_collects_again_once_its_app_is_loaded() -> None:
    probe = f"""
import gc
from bot import collector
from bot.http_mode import _Gunicorn
collector.pause()
_Gunicorn(lambda: "the app", {{}}).load()
{RESUMED}
"""
    assert run_fresh(probe).split() == ["True", "True"]


def test_socket_mode_collects_again_before_it_connects(tmp_path) -> None:
    probe = f"""
import gc, types, bot.__main__ as main
from bot import socket_mode
from bot.config import from_env

class Connection:
    def __init__(self, app, app_token):
        pass

    def run_forever(self):
        {RESUMED}

app = types.SimpleNamespace(worker=types.SimpleNamespace(stop=lambda: None))
main._build = lambda config, store, auth_test: app
socket_mode.Connection = Connection
env = {{"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xapp-1-A1-2-abc", "DATABASE_URL": "sqlite:///{tmp_path}/db"}}
main.run_socket(from_env(env), None, ({{}}, {{}}))
"""
    assert run_fresh(probe).split() == ["True", "True"]
