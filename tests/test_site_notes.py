"""Site notes (knowledge/site.py): the example folder loads; every broken folder is refused whole, in one line
naming the file, the entry and the field; `ftpcode kb check DIR` says the same."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.site import MAX_FILES, SiteError, load_site

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "knowledge" / "site-example"
GOOD = 'site = "Example Corp"\n\n[[entries]]\ncode = "425"\nnote = "Our passive range is 50000-50100."\n'


def folder(tmp_path: Path, **files: str) -> Path:
    directory = tmp_path / "site"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / f"{name}.toml").write_text(text, encoding="utf-8")
    return directory


def test_the_example_folder_loads() -> None:
    notes = load_site(EXAMPLE)
    assert notes.site == "Example Corp" and notes.files == 2 and notes.count == 8
    [passive] = notes.entries["ftp-425"]
    assert passive.passive_ports == "50000-50100" and passive.handoff_channel == "C0NETWORK1"
    assert notes.handoff_channel("ftp-425") == "C0NETWORK1" and notes.handoff_channel("ftp-530") is None
    assert set(notes.findings) == {"passive-private-address", "login-failed"}
    assert set(notes.steps) == {"public-address-vsftpd"}
    assert "sftp-3" in notes.entries


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('site = "X"\n[[entries]\ncode = "425"', "a.toml: not valid TOML"),
        ('[[entries]]\ncode = "425"\nnote = "n"', "a.toml: 'site' must be a non-empty string"),
        ('site = "X"\ncolour = "red"', "a.toml: unknown top-level key(s) colour"),
        ('site = "X"\nkind = "gopher"', "a.toml: 'kind' must be one of ftp-reply, winsock"),
        (
            'site = "X"\n[[entries]]\ncode = "425"\nnote = "n"\nsumary = "typo"',
            "a.toml: entry 1 (code '425'): unknown field(s) sumary",
        ),
        (
            'site = "X"\n[[entries]]\ncode = "999"\nnote = "n"',
            "a.toml: entry 1 (code '999'): unknown code: no knowledge entry 'ftp-999'",
        ),
        ('site = "X"\n[[entries]]\ncode = "425"', "a.toml: entry 1 (code '425'): 'note' must be a non-empty string"),
        ('site = "X"\n[[entries]]\nnote = "n"', "a.toml: entry 1: give 'code' or 'id' (one of them)"),
        (
            'site = "X"\n[[entries]]\ncode = "425"\nnote = "n"\nrunbook = "javascript:alert(1)"',
            "'runbook' must be an http:// or https:// address",
        ),
        ('site = "X"\n[[entries]]\ncode = "425"\nnote = "n"\nrunbook = "https://x|<!channel>"', "'runbook' must be"),
        (
            'site = "X"\n[[entries]]\ncode = "425"\nnote = "n"\nhandoff_channel = "#net"',
            "'handoff_channel' must be a channel ID",
        ),
        (
            'site = "X"\n[[entries]]\ncode = "425"\nnote = "n"\npassive_ports = "100-200"',
            "'passive_ports' must be a range",
        ),
        (
            'site = "X"\n[[entries]]\ncode = "425"\nnote = "n"\nhosts = ["ftp.example.com"]',
            "'hosts': 'ftp.example.com' must look like",
        ),
        ('site = "X"\n[[entries]]\ncode = "425"\nnote = "' + "x" * 1001 + '"', "'note' is longer than 1000 characters"),
        (
            'site = "X"\n[[findings]]\nid = "no-such-finding"\nnote = "n"',
            "a.toml: finding 1 (id 'no-such-finding'): unknown finding",
        ),
        ('site = "X"\n[[steps]]\nid = "no-such-step"\nnote = "n"', "a.toml: step 1 (id 'no-such-step'): unknown step"),
        (
            'site = "X"\n[[steps]]\nid = "passive-range-vsftpd"\nnote = "n"\nhosts = []',
            "a.toml: step 1 (id 'passive-range-vsftpd'): unknown field(s) hosts",
        ),
        ('site = "X"\nentries = "425"', "a.toml: 'entries' must be [[entries]] tables"),
    ],
)
def test_a_broken_file_is_refused_naming_file_entry_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SiteError) as refused:
        load_site(folder(tmp_path, a=text, b=GOOD))
    assert message in str(refused.value)
    assert "\n" not in str(refused.value).strip()


def test_files_naming_two_sites_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match=r"b.toml: 'site' is 'Other Corp' but a.toml says 'Example Corp'"):
        load_site(folder(tmp_path, a=GOOD, b=GOOD.replace("Example Corp", "Other Corp")))


def test_ten_thousand_files_are_refused_before_any_is_read(tmp_path: Path) -> None:
    directory = folder(tmp_path, a=GOOD)
    for n in range(10_000):
        (directory / f"n{n:05d}.toml").write_text("this is not toml [[[")
    with pytest.raises(SiteError, match=f"more than {MAX_FILES} .toml files"):
        load_site(directory)


def test_an_empty_or_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match=r"no \.toml files"):
        load_site(folder(tmp_path))
    with pytest.raises(SiteError, match="is not a folder"):
        load_site(tmp_path / "nowhere")


def test_a_huge_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SiteError, match=r"a\.toml: larger than 256 KiB"):
        load_site(folder(tmp_path, a=GOOD + "#" * 300_000))


def ftpcode(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "knowledge.cli", *args], capture_output=True, text=True, env=env)


def test_kb_check_says_the_same_in_one_line(tmp_path: Path) -> None:
    good = ftpcode("kb", "check", str(EXAMPLE))
    assert good.returncode == 0 and "8 notes for Example Corp in 2 files" in good.stdout
    broken = folder(tmp_path, a='site = "X"\n[[entries]]\ncode = "425"\nnote = "n"\nsumary = "typo"')
    refused = ftpcode("kb", "check", str(broken))
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr == "ftpcode kb check: a.toml: entry 1 (code '425'): unknown field(s) sumary\n"
    assert ftpcode("kb", "frobnicate").returncode == 2


def test_the_example_folder_is_documented(tmp_path: Path) -> None:
    readme = (REPO / "knowledge" / "README.md").read_text()
    copy = tmp_path / "copy"
    shutil.copytree(EXAMPLE, copy)
    assert load_site(copy).count == 8
    for field in ("site", "note", "passive_ports", "hosts", "contact", "runbook", "handoff_channel", "[[findings]]"):
        assert f"`{field}`" in readme, f"knowledge/README.md does not document {field}"


def test_the_longest_notes_still_fit_in_answers_scans_and_checklists(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import site_notes
    from bot.views import answer as answer_view
    from bot.views import scan as scan_view
    from bot.views import triage as tb
    from knowledge.logscan import scan
    from knowledge.lookup import LookupResult, Match, finder
    from knowledge.site import Note, SiteNotes
    from knowledge.triage import load_tree
    from tests.slack_limits import assert_within_slack_limits
    from tests.test_bot_rendering import voted

    long = "x<!channel>" * 90  # 990 characters, markup included
    note = Note(
        long,
        "a.toml",
        long[:300],
        "https://wiki.example.com/" + "a" * 900,
        ("ftps://h:21",) * 20,
        "50000-50100",
        "C0NET",
        (long,) * 20,
        (long,) * 20,
    )
    tree = load_tree()
    every = {e.id: (note,) * 3 for e in finder().kb.entries}
    site = SiteNotes(
        "E" * 1000,
        every,
        {f: (note,) * 3 for f in ("passive-private-address", "data-connection-failed")},
        {s.id: (note,) * 3 for s in tree.steps},
        1,
    )
    monkeypatch.setattr(site_notes.SITE, "notes", site)
    for entry in finder().kb.entries:
        result = LookupResult(entry.code, [Match(entry, "code")])
        message = voted(answer_view.answer_message(result, ephemeral=True), result.matches)
        assert_within_slack_limits(message)
        assert "<!channel>" not in str(message.blocks)
    from tests.test_bot_site import PASSIVE_LOG

    assert_within_slack_limits(scan_view.scan_message(scan(PASSIVE_LOG), ephemeral=True))
    state = tree.start("ftp-425")
    while (question := tree.current_question(state)) is not None:
        state = tree.answer(state, question.id, question.options_for(state.entry_id, state.answer_map)[0].id)
    checklist = tb.checklist_message(
        "5e5510n0-0000-4000-8000-000000000000", tree.checklist(state), "425", "t", "ftp-425"
    )
    assert_within_slack_limits(checklist)
