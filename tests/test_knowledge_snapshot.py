"""The compiled snapshot of the knowledge base: read when it matches its sources, rebuilt when not, never stale."""

import io
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from knowledge import base, snapshot
from knowledge.cli import main

ROOT = Path(__file__).resolve().parents[1]
TITLE = 'title = "Can\'t open data connection"'
SAME_SIZE_TITLE = 'title = "Could not open data socket"'  # as long as TITLE, so only the content tells them apart


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A copy of knowledge/data, and a cache directory of its own, for this process and the ones it starts."""
    copy = tmp_path / "data"
    shutil.copytree(base.PACKAGE_DATA, copy)
    monkeypatch.setenv("FTPCODE_KNOWLEDGE_DIR", str(copy))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return copy


def _edit_keeping_size_and_time(path: Path, old: str, new: str) -> None:
    before = path.stat()
    text = path.read_text()
    assert text.count(old) == 1 and len(old) == len(new)
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns


def _doctored(kb: base.KnowledgeBase) -> base.KnowledgeBase:
    """The knowledge base with 425's title changed: if a load returns this, it read the snapshot written here."""
    entries = [e._replace(title="DOCTORED") if e.id == "ftp-425" else e for e in kb.entries]
    return base.KnowledgeBase(entries, {e.id: e for e in entries})


def _title_of_425(directory: Path) -> str:
    kb, _ = snapshot.load(str(directory))
    return kb.by_id["ftp-425"].title


def _write_doctored(directory: Path) -> Path:
    """A snapshot of `directory` with the right key but 425's title changed (read as it is if nothing else differs)."""
    sources = snapshot._sources(str(directory))
    kb, digit_table = base.compile_sources(sources)
    path = snapshot.snapshot_path(str(directory))
    assert snapshot._write_snapshot(path, snapshot._key(str(directory), sources), _doctored(kb), digit_table) is None
    return Path(path)


def test_the_next_run_answers_from_an_edit(data):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def python(*args: str) -> str:
        done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60, env=env, cwd="/")
        return done.stdout

    assert python("-m", "knowledge.cli", "425").startswith("FTP 425: Can't open data connection")
    path = Path(snapshot.snapshot_path(str(data)))
    written = path.stat()
    check = "import sys, knowledge.cli; knowledge.cli.main(['425'], out=open(sys.devnull, 'w')); print([*sys.modules])"
    assert "'tomllib'" not in python("-c", check)  # answered from the snapshot: no TOML parsed
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == (written.st_mtime_ns, written.st_ino)

    _edit_keeping_size_and_time(data / "codes" / "ftp_replies_negative.toml", TITLE, SAME_SIZE_TITLE)
    assert python("-m", "knowledge.cli", "425").startswith("FTP 425: Could not open data socket")
    assert python("-m", "knowledge.cli", "425").startswith("FTP 425: Could not open data socket")  # the new snapshot


def test_the_snapshot_holds_what_the_toml_files_say(data):
    kb, digit_table = snapshot.load(str(data))  # built and written
    again, digits_again = snapshot.load(str(data))  # read back
    fresh = base.load_dir(data / "codes")
    assert again.entries == kb.entries == fresh.entries and len(fresh.entries) > 200
    assert all(type(e) is base.Entry for e in again.entries)
    assert again.by_id.keys() == fresh.by_id.keys()
    assert digits_again == digit_table == tomllib.loads((data / "digits.toml").read_text())


def test_a_matching_snapshot_is_what_is_read(data):
    """The premise of the tests below: a snapshot with the right key is used as it is."""
    _write_doctored(data)
    assert _title_of_425(data) == "DOCTORED"


def test_a_snapshot_from_another_interpreter_is_ignored(data, monkeypatch):
    _write_doctored(data)
    monkeypatch.setattr(sys, "version", sys.version + " (another build)")
    assert _title_of_425(data) == "Can't open data connection"


def test_a_snapshot_from_another_version_of_ftpcode_is_ignored(data, tmp_path, monkeypatch):
    code = [tmp_path / "base.py", tmp_path / "snapshot.py"]  # stand-ins for the installed code
    for copy, original in zip(code, (base.__file__, snapshot.__file__), strict=True):
        shutil.copy(original, copy)
    monkeypatch.setattr(snapshot, "_CODE_FILES", tuple(map(str, code)))
    _write_doctored(data)
    assert _title_of_425(data) == "DOCTORED"
    with code[0].open("a") as handle:
        handle.write("# the next release\n")
    assert _title_of_425(data) == "Can't open data connection"


def test_a_same_size_edit_with_the_old_modification_time_is_seen(data):
    assert _title_of_425(data) == "Can't open data connection"
    _edit_keeping_size_and_time(data / "codes" / "ftp_replies_negative.toml", TITLE, SAME_SIZE_TITLE)
    assert _title_of_425(data) == "Could not open data socket"


def test_a_new_or_removed_source_file_is_seen(data):
    assert "ftp-999" not in snapshot.load(str(data))[0].by_id
    extra = data / "codes" / "zz_site.toml"
    extra.write_text(
        'kind = "ftp-reply"\n[[entries]]\ncode = "999"\ntitle = "t"\nsummary = "s"\ncauses = ["c"]\n'
        'user_action = ["u"]\nadmin_action = ["a"]\nsources = ["s"]\nstandard = false\norigin = "a test"\n'
    )
    assert "ftp-999" in snapshot.load(str(data))[0].by_id
    extra.unlink()
    assert "ftp-999" not in snapshot.load(str(data))[0].by_id
    (data / "codes" / ".#winsock.toml").write_text("an editor's lock file, not knowledge [")
    assert len(snapshot.load(str(data))[0].entries) > 200


def _damage(blob: bytes, how: str) -> bytes:
    inside_text = blob.index(b"DOCTORED") + 2  # still valid marshal data, only the file's CRC tells
    return {
        "truncated": blob[: len(blob) // 2],
        "empty": b"",
        "one byte changed": blob[:inside_text] + b"c" + blob[inside_text + 1 :],
        "not a snapshot": b"\x00" * len(blob),
    }[how]


@pytest.mark.parametrize("how", ["truncated", "empty", "one byte changed", "not a snapshot"])
def test_a_damaged_snapshot_is_ignored_and_rebuilt(data, how):
    path = _write_doctored(data)
    path.write_bytes(_damage(path.read_bytes(), how))
    assert _title_of_425(data) == "Can't open data connection"
    key = snapshot._key(str(data), snapshot._sources(str(data)))
    assert snapshot._read_snapshot(str(path), key) is not None  # rebuilt whole


def test_a_snapshot_others_may_write_is_not_read(data):
    path = _write_doctored(data)
    path.chmod(0o666)
    assert _title_of_425(data) == "Can't open data connection"


def test_without_a_writable_cache_the_knowledge_is_loaded_in_memory(data, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))  # cannot be created, even by root
    assert _title_of_425(data) == "Can't open data connection"
    out = io.StringIO()
    assert main(["kb", "build"], out=out) == 1
    assert "entries" in out.getvalue() and "checked" in out.getvalue()


def test_kb_build_checks_the_files_and_writes_the_snapshot(data, capsys):
    out = io.StringIO()
    assert main(["kb", "build"], out=out) == 0
    assert snapshot.snapshot_path(str(data)) in out.getvalue()
    assert Path(snapshot.snapshot_path(str(data))).is_file()
    assert main(["kb"], out=io.StringIO()) == 2

    negative = data / "codes" / "ftp_replies_negative.toml"
    negative.write_text(negative.read_text().replace(TITLE, 'title = ""', 1))
    assert main(["kb", "build"], out=io.StringIO()) == 1
    assert "ftp_replies_negative.toml" in capsys.readouterr().err
    with pytest.raises(base.KnowledgeError, match="'title' must be a non-empty string"):
        snapshot.load(str(data))  # a broken file is never answered from an older snapshot
