"""Checks of the shipped triage tree (knowledge/data/triage.toml) and of the loader's error messages."""

from __future__ import annotations

import functools
import textwrap
from pathlib import Path

import pytest

from knowledge.triage import DEFAULT_PATH, Checklist, Tree, TriageState, TriageTreeError, load_tree
from knowledge.triage.paths import sample_codes
from tests.triage_walk import endings as shared_endings

# The ids the log scanner and the Slack bot rely on.
CONTRACT = {
    "protocol": {"ftp", "ftps-explicit", "ftps-implicit", "sftp", "unsure"},
    "client": {"filezilla", "winscp", "curl", "lftp", "script", "other"},
    "mode": {"passive", "active", "unsure"},
    "stage": {"connect", "login", "listing", "upload", "download", "midway"},
    "network": {"lan", "nat", "corporate", "vpn", "cloud", "unsure"},
    "server": {"vsftpd", "proftpd", "pureftpd", "filezilla-server", "iis", "openssh", "other", "unsure"},
}


@functools.cache
def endings() -> dict[str, list[tuple[TriageState, Checklist]]]:
    """Every final state of every path and its checklist, for one code of each class the tree tells apart."""
    return {code: [(e.state, e.checklist) for e in paths] for code, paths in shared_endings().items()}


def test_contract_questions_have_exactly_the_agreed_options() -> None:
    tree = load_tree()
    for question_id, options in CONTRACT.items():
        assert {o.id for o in tree.question(question_id).options} == options, question_id


def test_every_path_ends_in_a_checklist_with_user_and_admin_steps() -> None:
    tree = load_tree()
    for code, paths in endings().items():
        assert paths, code
        for state, checklist in paths:
            assert state.status == "checklist"
            assert tree.current_question(state) is None
            assert checklist.user_steps, (code, state.answers)
            assert checklist.admin_steps, (code, state.answers)


def test_every_question_is_asked_on_some_path() -> None:
    asked = {q for paths in endings().values() for state, _ in paths for q in state.asked}
    assert [q.id for q in load_tree().questions if q.id not in asked] == []


def test_every_step_and_note_shows_on_some_path() -> None:
    tree = load_tree()
    shown_steps: set[str] = set()
    shown_notes: set[str] = set()
    for paths in endings().values():
        for state, checklist in paths:
            shown_steps.update(s.id for s in (*checklist.user_steps, *checklist.admin_steps))
            shown_notes.update(n.id for n in tree.notes if n.applies(state.entry_id, state.answer_map))
    # fallback steps are the safety net for edits that leave a path without advice; they may stay unused
    assert [s.id for s in tree.steps if s.id not in shown_steps and not s.fallback] == []
    assert [n.id for n in tree.notes if n.id not in shown_notes] == []


def test_no_path_asks_a_question_twice_or_runs_long() -> None:
    for paths in endings().values():
        for state, _ in paths:
            assert len(set(state.asked)) == len(state.asked)
            assert len(state.answers) <= 8, state.answers


def test_every_step_names_a_source_and_a_person() -> None:
    for step in load_tree().steps:
        assert step.source.strip(), step.id
        assert step.who in ("user", "admin"), step.id


def test_sample_codes_cover_the_representative_codes() -> None:
    tree = load_tree()
    samples = sample_codes(tree)
    for code in ("ftp-425", "ftp-530", "ftp-550", "ftp-421", "ftp-534", "ftp-522", "winsock-10061"):
        assert code in samples
    # codes no pattern names fall in the same class as one of the samples
    for code in ("ftp-459", "client-connection-refused", "sftp-3", "winsock-10054"):
        signature = tuple(bool(p.match(code)) for p in _patterns(tree))
        assert signature in {tuple(bool(p.match(s)) for p in _patterns(tree)) for s in samples}, code


def _patterns(tree: Tree) -> list:
    from knowledge.triage.paths import code_patterns

    return code_patterns(tree)


def test_shipped_tree_is_cached_and_path_loads_fresh() -> None:
    assert load_tree() is load_tree()
    assert load_tree(DEFAULT_PATH) is not load_tree()
    assert load_tree(DEFAULT_PATH).version == load_tree().version


# -- malformed trees -------------------------------------------------------------------------------------

GOOD = """
version = 1

[groups]
data = ["ftp-425"]

[[questions]]
id = "protocol"
text = "Which protocol?"
[[questions.options]]
id = "ftp"
label = "FTP"
[[questions.options]]
id = "sftp"
label = "SFTP"

[[questions]]
id = "mode"
text = "Which mode?"
ask_when = { code = ["@data"], protocol = ["ftp"] }
[[questions.options]]
id = "passive"
label = "Passive"
[[questions.options]]
id = "active"
label = "Active"

[[steps]]
id = "u"
who = "user"
text = "Do this."
source = "RFC 959"
fallback = true

[[steps]]
id = "a"
who = "admin"
text = "Do that."
source = "RFC 959"
fallback = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken_triage.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_the_minimal_good_tree_loads(tmp_path: Path) -> None:
    tree = load_tree(write(tmp_path, GOOD))
    assert [q.id for q in tree.questions] == ["protocol", "mode"]


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        ('protocol = ["ftp"] }', 'protocol = ["ftps"] }', "question 'mode'", "no option 'ftps'"),
        ('protocol = ["ftp"] }', 'protocl = ["ftp"] }', "question 'mode'", "unknown question 'protocl'"),
        ('code = ["@data"]', 'code = ["@nothing"]', "question 'mode'", "unknown group '@nothing'"),
        ('code = ["@data"]', 'code = ["FTP 425"]', "question 'mode'", "not a code pattern"),
        ('text = "Which mode?"', 'txt = "Which mode?"', "question 'mode'", "unknown field(s) txt"),
        ('text = "Which mode?"', 'text = ""', "question 'mode'", "'text' must be a non-empty string"),
        ('label = "Active"', f'label = "{"A" * 80}"', "option 'active'", "at most 75"),
        ('id = "active"', 'id = "passive"', "question 'mode'", "same id"),
        ('id = "mode"', 'id = "protocol"', "question 'protocol'", "used twice"),
        ('id = "mode"', 'id = "Mode!"', "question 2", "'id'"),
        (
            'source = "RFC 959"\nfallback = true\n\n[[steps]]\nid = "a"',
            'fallback = true\n\n[[steps]]\nid = "a"',
            "step 'u'",
            "'source'",
        ),
        ('who = "admin"', 'who = "boss"', "step 'a'", "'who' must be"),
        ("version = 1", "version = 0", "top level", "'version'"),
    ],
)
def test_malformed_tree_names_file_and_place(tmp_path: Path, old: str, new: str, where: str, problem: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(TriageTreeError) as caught:
        load_tree(path)
    message = str(caught.value)
    assert message.startswith("broken_triage.toml: ")
    assert where in message
    assert problem in message


def test_condition_on_a_later_question_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace(
        'id = "protocol"\ntext = "Which protocol?"',
        'id = "protocol"\ntext = "Which protocol?"\nask_when = { mode = ["active"] }',
    )
    with pytest.raises(TriageTreeError, match=r"broken_triage.toml: question 'protocol'.*'mode'.*before it"):
        load_tree(write(tmp_path, text))


def test_option_conditions_load_and_must_name_earlier_questions(tmp_path: Path) -> None:
    shown_for_ftp = 'id = "active"\nlabel = "Active"\nwhen = { protocol = ["ftp"] }'
    tree = load_tree(write(tmp_path, GOOD.replace('id = "active"\nlabel = "Active"', shown_for_ftp)))
    assert [o.id for o in tree.question("mode").options_for("ftp-425", {"protocol": "sftp"})] == ["passive"]
    later = 'id = "ftp"\nlabel = "FTP"\nwhen = { mode = ["active"] }'
    with pytest.raises(TriageTreeError, match=r"question 'protocol': option 'ftp': when.*'mode'.*before it"):
        load_tree(write(tmp_path, GOOD.replace('id = "ftp"\nlabel = "FTP"', later)))


def test_step_condition_naming_an_unknown_option_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace('id = "u"\nwho = "user"', 'id = "u"\nwho = "user"\nwhen = { mode = ["sideways"] }')
    with pytest.raises(TriageTreeError, match=r"broken_triage.toml: step 'u': when.*no option 'sideways'"):
        load_tree(write(tmp_path, text))


def test_missing_fallback_is_refused(tmp_path: Path) -> None:
    text = GOOD.rsplit("fallback = true", 1)[0]
    with pytest.raises(TriageTreeError, match=r"broken_triage\.toml: steps: no fallback step for who = 'admin'"):
        load_tree(write(tmp_path, text))


def test_preset_with_unknown_option_is_refused(tmp_path: Path) -> None:
    text = GOOD + '\n[[presets]]\nwhen = { code = ["sftp-*"] }\nanswers = { protocol = "ssh" }\n'
    with pytest.raises(TriageTreeError, match=r"broken_triage.toml: preset 1: question 'protocol' has no option 'ssh'"):
        load_tree(write(tmp_path, text))


def test_invalid_toml_and_missing_file_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(TriageTreeError, match=r"^broken_triage.toml: not valid TOML"):
        load_tree(write(tmp_path, GOOD + "\n[[questions]\nid = \n"))
    with pytest.raises(TriageTreeError, match=r"^nowhere.toml: cannot read"):
        load_tree(tmp_path / "nowhere.toml")
