"""The `ftpcode` command line, in process and as the installed command."""

import io
import json
import shutil
import subprocess

import pytest

from knowledge.cli import main


def run(*argv):
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_answer_is_short_at_the_top_and_deeper_below():
    code, text = run("425", "--no-color")
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("FTP 425")
    assert "data connection" in lines[1]
    assert "transient negative" in text and "Likely causes" in text and "What the server admin" in text
    assert "\033[" not in text


def test_colour_only_when_asked_or_on_a_terminal():
    assert "\033[1m" in run("425", "--color")[1]


def test_not_found_exit_1_with_suggestions():
    code, text = run("qwertyuiop")
    assert code == 1 and "Try:" in text


def test_json_document_shape():
    code, text = run("--json", "425")
    doc = json.loads(text)
    assert code == 0 and doc["query"] == "425"
    (match,) = doc["matches"]
    assert set(match) >= {
        "id", "kind", "code", "title", "summary", "standard", "digits",
        "causes", "user_action", "admin_action", "related", "sources",
    }  # fmt: skip
    assert match["kind"] == "ftp-reply" and [d["digit"] for d in match["digits"]] == ["4", "2", "5"]
    code, text = run("--json", "qzxv-wkpj")
    assert code == 1 and json.loads(text)["matches"] == []


def test_list_series_and_kinds():
    code, text = run("list", "4xx")
    assert code == 0 and "FTP 425" in text and "FTP 530" not in text
    assert run("list", "winsock")[1].count("Winsock") >= 25
    assert run("list", "nonsense")[0] == 2


def test_usage_errors_exit_2():
    assert run("--no-such-flag")[0] == 2
    assert run()[0] == 2


@pytest.mark.skipif(shutil.which("ftpcode") is None, reason="ftpcode is not installed (pip install -e .)")
def test_installed_command_answers_without_slack():
    done = subprocess.run(["ftpcode", "425"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("FTP 425")
    check = (
        "import sys, knowledge.cli; knowledge.cli.main(['425'], out=open('/dev/null', 'w')); "
        "print('slack_bolt' in sys.modules)"
    )
    done = subprocess.run(["python", "-c", check], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == "False"


def test_flags_may_come_after_the_subcommand(tmp_path):
    log = tmp_path / "session.log"
    log.write_text("Status:\tConnecting to 192.0.2.44:21...\nError:\tECONNREFUSED - Connection refused by server\n")
    _, text = run("scan", "--json", str(log))
    assert json.loads(text)["format"] == "filezilla"
