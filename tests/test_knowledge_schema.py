"""Every entry of the shipped knowledge base against the schema, and the loader's errors on bad files."""

from pathlib import Path

import pytest

from knowledge.base import DATA_DIR, KINDS, KnowledgeError, load, load_dir, load_file


def test_shipped_knowledge_loads_and_ids_are_unique():
    kb = load()
    assert len(kb.entries) == len(kb.by_id) > 200


@pytest.mark.parametrize("path", sorted(DATA_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_entry_is_complete(path):
    for entry in load_file(path):
        assert entry.kind in KINDS
        assert entry.title and entry.summary
        assert entry.causes and entry.user_action and entry.admin_action, entry.id
        assert entry.sources, f"{entry.id} has no source"
        assert len(entry.title) <= 140, f"{entry.id}: title too long for a Slack header"
        assert all(len(item) <= 600 for item in (*entry.causes, *entry.user_action, *entry.admin_action)), entry.id
        assert entry.id not in entry.related, f"{entry.id} names itself as related"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


GOOD = """kind = "ftp-reply"
[[entries]]
code = "999"
title = "t"
summary = "s"
causes = ["c"]
user_action = ["u"]
admin_action = ["a"]
sources = ["RFC 959"]
"""


def test_a_good_file_loads(tmp_path):
    (entry,) = load_file(_write(tmp_path, GOOD))
    assert entry.id == "ftp-999" and entry.standard


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('title = "t"\n', ""), "'title' is missing"),
        (lambda t: t.replace('causes = ["c"]', "causes = []"), "'causes' must not be empty"),
        (lambda t: t.replace('sources = ["RFC 959"]', 'sources = "RFC 959"'), "'sources' must be a list"),
        (lambda t: t + 'colour = "red"\n', "unknown field(s) colour"),
        (lambda t: t + "standard = false\n", "needs 'origin'"),
        (lambda t: t.replace('kind = "ftp-reply"', 'kind = "gopher"'), "top-level 'kind'"),
        (lambda t: t + "title2 = [", "not valid TOML"),
        (lambda t: t + 'protocols = { gopher = "x" }\n', "'protocols'"),
    ],
)
def test_malformed_entries_name_file_and_entry(tmp_path, change, message):
    with pytest.raises(KnowledgeError) as error:
        load_file(_write(tmp_path, change(GOOD)))
    assert message in str(error.value)
    assert str(error.value).startswith("bad.toml")


def test_related_ids_must_exist(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD + 'related = ["ftp-000"]\n')
    with pytest.raises(KnowledgeError, match="unknown id"):
        load_dir(tmp_path)


def test_duplicate_ids_are_refused(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(KnowledgeError, match="duplicate id 'ftp-999'"):
        load_dir(tmp_path)
