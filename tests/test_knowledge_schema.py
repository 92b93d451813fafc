"""Every data file under knowledge/data/ against its schema, and the loaders' errors on bad files."""

import re
import shutil
from pathlib import Path

import pytest

from knowledge.base import DATA_DIR, KINDS, KnowledgeError, load, load_dir, load_file
from knowledge.datafiles import check_all, check_triage_codes
from knowledge.digits import DigitsError, load_table
from knowledge.popular import load_popular


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


# -- every data file, and the field list defined once -------------------------------------------------------

README = Path(__file__).resolve().parent.parent / "knowledge" / "README.md"


def test_every_data_file_has_a_loader_and_loads() -> None:
    checked = {p.name for p in check_all()}
    assert {"digits.toml", "popular.toml", "triage.toml", "client_messages.toml"} <= checked


def test_a_data_file_no_loader_claims_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR.parent, data)
    (data / "colours.toml").write_text('red = "ff0000"\n')
    with pytest.raises(KnowledgeError, match=r"^colours.toml: no loader checks this file"):
        check_all(data)


@pytest.mark.parametrize(
    ("file", "append", "error"),
    [
        (
            "probe.toml",
            '\n[[findings]]\nid = "x"\ntext = "t"\nsource = "s"\ncolour = "red"\n',
            r"probe.toml: finding x: fields",
        ),
        ("probe.toml", '\n[[findings]]\nid = "y"\nentry = "ftp-999"\ntext = "t"\nsource = "s"\n', r"entry 'ftp-999'"),
        ("findings.toml", '\n[broken]\nsummary = "{nowhere}"\nsource = "s"\n', r"findings.toml: finding 'broken'"),
    ],
)
def test_the_finding_wording_files_are_checked(tmp_path: Path, file: str, append: str, error: str) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR.parent, data)
    with (data / file).open("a") as handle:
        handle.write(append)
    with pytest.raises(KnowledgeError, match=error):
        check_all(data)


def test_the_field_list_is_the_entry_and_the_readme_table_matches_it() -> None:
    from knowledge.base import FILE_FIELDS, Entry

    assert set(FILE_FIELDS) == set(Entry._fields) - {"kind", "source_file"}
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", README.read_text(), re.M)
    assert {name for name, _ in rows} == set(FILE_FIELDS)
    assert {name for name, required in rows if required.strip() == "yes"} == {
        name for name, spec in FILE_FIELDS.items() if spec["required"]
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: 'extra = "x"\n' + t, "digits.toml: top level: unknown key(s) extra"),
        (lambda t: t.replace('source = "', 'sauce = "'), "unknown key(s) sauce"),
        (lambda t: re.sub(r"\n6 = \{[^\n]*\}", "", t), "digits.toml: first: needs exactly the digits"),
        (
            lambda t: t.replace('2 = { short = "positive completion", ', "2 = { "),
            "digits.toml: first.2: 'short' is missing",
        ),
        (
            lambda t: t.replace('0 = { short = "syntax",', '0 = { colour = "red", short = "syntax",'),
            "second.0: unknown field",
        ),
    ],
)
def test_digits_file_errors_name_the_file_and_row(tmp_path: Path, change, message) -> None:
    path = tmp_path / "digits.toml"
    path.write_text(change((DATA_DIR.parent / "digits.toml").read_text()))
    with pytest.raises(DigitsError) as error:
        load_table(path)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('ids = ["ftp-425", "ftp-999"]\n', "popular.toml: ids[1]: unknown id 'ftp-999'"),
        ('ids = ["ftp-425", "ftp-425"]\n', "popular.toml: ids[1]: 'ftp-425' is listed twice"),
        ('ids = ["ftp-425"]\ncolour = "red"\n', "popular.toml: top level: unknown key(s) colour"),
        ('codes = ["ftp-425"]\n', "popular.toml: top level: unknown key(s) codes"),
        ("ids = []\n", "popular.toml: 'ids' is missing"),
    ],
)
def test_popular_file_errors_name_the_file_and_id(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "popular.toml"
    path.write_text(text)
    with pytest.raises(KnowledgeError) as error:
        load_popular(load(), path)
    assert message in str(error.value)


def test_a_triage_code_that_names_no_entry_is_refused(tmp_path: Path) -> None:
    tree = (DATA_DIR.parent / "triage.toml").read_text().replace('"ftp-426", "ftp-227"', '"ftp-426", "ftp-2277"', 1)
    assert "ftp-2277" in tree
    path = tmp_path / "triage.toml"
    path.write_text(tree)
    with pytest.raises(KnowledgeError, match=r"^triage.toml: code 'ftp-2277' names no entry"):
        check_triage_codes(path, load())


def test_shipped_popular_ids_all_exist() -> None:
    assert len(load_popular(load())) >= 6
