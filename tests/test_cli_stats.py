"""`ftpcode stats`: the bot's figures from a terminal, and one line (exit status 2) for anything it cannot use."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.store import Store

REPO = Path(__file__).resolve().parents[1]
DAY = 86400


def ftpcode(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "knowledge.cli", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    store = Store(url)
    now = time.time()
    row = {"user": "U0CLI", "channel_type": "command"}
    store.record_answers(
        [{**row, "event": "asked", "subject": "ftp-425", "query": "425", "at": now - DAY}] * 3
        + [{**row, "event": "asked", "subject": "ftp-530", "query": "530", "at": now - 20 * DAY}] * 2
        + [{**row, "event": "nothing", "query": "what is a fnord", "at": now - 2 * DAY}]
    )
    store.record_vote("answer-cli1", "U0CLI", "down", "ftp-425", "entry", "command", "T1")
    store.set_comment("answer-cli1", "U0CLI", "it never said which port", "ftp-425", "entry", "T1")
    store.close()
    return url


def test_stats_as_json_and_as_a_table(database: str, tmp_path: Path) -> None:
    week = ftpcode("stats", "--database", database, "--days", "7", "--json", cwd=tmp_path)
    assert week.returncode == 0, week.stderr
    figures = json.loads(week.stdout)
    assert figures["days"] == 7 and figures["answers"] == 3 and figures["gaps"] == 1
    assert figures["asked_most"] == [{"subject": "ftp-425", "count": 3}]
    assert figures["comments"] == [{"subject": "ftp-425", "comment": "it never said which port"}]
    month = ftpcode("stats", "--database", database, cwd=tmp_path)
    assert month.returncode == 0, month.stderr
    assert "ftpcode: the last 30 days" in month.stdout
    lines = month.stdout.splitlines()
    assert any(line.split() == ["Answers", "given", "-", "5"] for line in lines)
    assert any(line.split()[:4] == ["Asked", "most", "FTP", "530"] and line.split()[-1] == "2" for line in lines)
    assert "FTP 425: it never said which port" in month.stdout


def test_the_database_url_comes_from_the_environment_as_the_bots_does(database: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": database}
    done = subprocess.run(
        [sys.executable, "-m", "knowledge.cli", "stats", "--json"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0 and json.loads(done.stdout)["answers"] == 5


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["stats", "banana"], "usage: ftpcode stats"),
        (["stats", "--days", "0"], "usage: ftpcode stats"),
        (["stats", "--days", "banana"], "invalid int value"),
        (["stats", "--database", "sqlite:////nonexistent/bot.sqlite3"], "no database at /nonexistent/bot.sqlite3"),
        (["stats", "--database", "mysql://localhost/ftpcode"], "cannot be opened"),
        (["stats", "--database", "postgresql://ftpcode:hunter2@127.0.0.1:9/ftpcode"], "cannot be opened"),
    ],
)
def test_bad_input_is_one_line_and_exit_status_2(args: list[str], says: str, tmp_path: Path) -> None:
    done = ftpcode(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert says in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_a_database_that_is_not_the_bots_is_one_line(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE notes (x TEXT)").connection.close()
    done = ftpcode("stats", "--database", f"sqlite:///{other}", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no feedback in that database" in done.stderr and "Traceback" not in done.stderr
