"""The `ftpcode` command line, in process and as the installed command."""

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.cli import main, wrap


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


def test_nothing_found_quotes_a_long_or_pasted_query_on_one_short_line():
    code, text = run("x" * 5000, "--no-color")
    assert code == 1
    said = next(line for line in text.splitlines() if line.startswith("Nothing found"))
    assert len(said) < 100 and said.endswith("…”.")
    code, text = run("qwertz\nasdfgh\tyxcvbn", "--no-color")
    assert "Nothing found for “qwertz asdfgh yxcvbn”." in text.splitlines()


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


# --- ftpcode probe ------------------------------------------------------------------------------------------


def test_probe_refusal_is_one_friendly_line(monkeypatch, capsys):
    monkeypatch.delenv("FTPCODE_PROBE_ALLOW", raising=False)
    code, text = run("probe", "ftp.internal")
    err = capsys.readouterr().err
    assert code == 2 and text == ""
    assert err.count("\n") == 1 and err.startswith("ftpcode probe: The server probe is off here")
    monkeypatch.setenv("FTPCODE_PROBE_ALLOW", "ftp.example.com, 10.0.0.0/8:21")
    code, text = run("probe", "--json", "ftp.internal:2121")
    assert code == 2 and json.loads(text) == {
        "refused": "ftp.internal:2121 is not on the list of servers I may test; ask your admin to add it to "
        "FTPCODE_PROBE_ALLOW.",
        "reason": "not-allowed",
    }


def test_probe_usage_errors_exit_2(capsys):
    assert run("probe")[0] == 2
    assert run("probe", "a", "b", "c")[0] == 2
    assert run("probe", "ftp.example.com", "--protocol", "scp")[0] == 2
    assert "usage" in capsys.readouterr().err


def test_probe_of_a_live_server_text_and_json(ftp_server, monkeypatch):
    monkeypatch.setenv("FTPCODE_PROBE_ALLOW", f"127.0.0.1:{ftp_server.port}")
    target = f"127.0.0.1:{ftp_server.port}"
    code, text = run("probe", target, "--protocol", "ftp", "--no-color")
    assert code == 1  # no anonymous access on this server: the login step fails
    lines = text.splitlines()
    assert lines[0] == f"Probe of {target}: failed at login" and lines[1] == "Protocol: FTP, as asked."
    assert "It failed at login" in text and "✓ greeting" in text and "FTP 530" in text
    code, text = run("probe", target, "ftp", "--json")  # the protocol as a word, as in Slack
    doc = json.loads(text)
    assert code == 1 and doc["failure"]["step"] == "login" and doc["failure"]["stage"] == "login"
    assert doc["findings"][0]["id"] == "anonymous-refused" and doc["codes"][0] == "ftp-530"
    assert doc["protocol"] == "ftp" and doc["protocol_inferred"] is False
    assert [s["step"] for s in doc["steps"]][:3] == ["resolve", "connect", "greeting"]


def test_probe_refusal_from_the_command_line_has_no_traceback():
    env = {**os.environ, "FTPCODE_PROBE_ALLOW": "ftp.example.com", "PYTHONPATH": os.getcwd()}
    done = subprocess.run(
        [sys.executable, "-m", "knowledge.cli", "probe", "10.9.8.7"],
        capture_output=True, text=True, timeout=30, env=env,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (
        "ftpcode probe: 10.9.8.7:21 is not on the list of servers I may test; ask your admin to add it to "
        "FTPCODE_PROBE_ALLOW.\n"
    )


@pytest.mark.parametrize(
    ("log", "first_line"),
    [
        (
            'Oct 19 08:23:07 sftp sshd[2206099]: fatal: bad ownership or modes for chroot directory component "/w/"\n',
            "sshd log (SFTP)",
        ),
        (
            "Mon May 27 10:23:42 2024 0 203.0.113.8 17458 data/b.tar.gz b _ i r alice ftp 0 * i\n",
            "xferlog transfer log (FTP)",
        ),
        ("ftp> open ftp.example.com\nConnected to ftp.example.com.\n530 Login incorrect.\n", "ftp command log (FTP)"),
        (
            "Status:\tConnecting to 192.0.2.44:21...\nError:\tECONNREFUSED - Connection refused by server\n",
            "FileZilla log (FTP)",
        ),
    ],
)
def test_scan_names_programs_as_their_authors_spell_them(tmp_path, log, first_line):
    path = tmp_path / "session.log"
    path.write_text(log)
    _, text = run("scan", "--no-color", str(path))
    assert text.splitlines()[0] == first_line


def test_scan_of_a_log_of_status_lines_only_says_nothing_failed_not_nothing_found():
    log = os.path.join(os.path.dirname(__file__), "logs", "wild", "clean_filezilla_chinese_upload.log")
    _, text = run("scan", "--no-color", log)
    assert text.startswith("FileZilla log (FTP)\n") and "could not find" not in text
    assert "No step failed" in " ".join(text.split()) and "203.0.113.209:21" in text
    _, rubbish = run("scan", "--no-color", os.devnull)
    assert rubbish == "I could not find FTP commands, replies or client errors in this text.\n"


# Words, hyphens, every kind of whitespace textwrap knows, a no-break space, colour codes and long words.
_WRAP_TEXT = st.lists(
    st.sampled_from(
        ["a", "bb", "word", "re-try", "--ftp-pasv", "x" * 30, " ", "  ", "\t", "\n", "\r\n", "\u00a0", "\033[1m"]
    ),
    max_size=60,
).map("".join)


@given(_WRAP_TEXT, st.integers(10, 100), st.sampled_from(["", "  ", "  • "]), st.sampled_from(["", "  ", "    "]))
def test_the_wrapper_breaks_lines_as_textwrap_does_without_breaking_words(text, width, first, rest):
    expected = textwrap.fill(
        text, width, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False
    )
    assert wrap(text, width, first, rest) == expected


def test_urls_and_options_are_never_cut_across_lines():
    url = "https://wiki.filezilla-project.org/Network_Configuration#Setting_up_FileZilla_Server"
    text = wrap(f"See {url} and pass --ftp-pasv --ftp-skip-pasv-ip to curl.", 40)
    assert url in text.splitlines() and "--ftp-skip-pasv-ip" in text.replace("\n", " ").split()


def test_answering_a_code_imports_neither_re_nor_textwrap(tmp_path):
    """A bare code needs no pattern: re and what it imports (enum, functools) were ~8 ms of a start in a venv."""
    probe = (
        "import sys; before = set(sys.modules); import knowledge.cli; "
        "knowledge.cli.main(['425'], out=open('/dev/null', 'w')); print(*sorted(set(sys.modules) - before))"
    )
    env = {"PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "XDG_CACHE_HOME": str(tmp_path)}
    for _ in range(2):  # the first run builds the snapshot (tomllib, the checks' patterns); the second reads it
        done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, timeout=60, env=env)
        assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "knowledge.lookup" in loaded
    assert not loaded & {"re", "textwrap", "functools", "enum", "tomllib"}
