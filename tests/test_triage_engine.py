"""The triage engine: every path for representative codes, the conversation controls, typed answers, state."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.triage import Checklist, Tree, TriageError, TriageState, load_tree
from knowledge.triage.conditions import compile_code_pattern
from knowledge.triage.paths import walk

REPRESENTATIVE = [
    "ftp-425",
    "ftp-530",
    "ftp-550",
    "ftp-553",
    "ftp-421",
    "ftp-534",
    "ftp-522",
    "ftp-227",
    "ftp-426",
    "winsock-10061",
    "sftp-3",
    "ftp-459",  # no such code: the generic path
    "client-filezilla-connection-timed-out",  # a client message
]
FTP_LIKE = ("ftp", "ftps-explicit", "ftps-implicit", "unsure")


@pytest.fixture(scope="module")
def tree() -> Tree:
    return load_tree()


def answer_all(tree: Tree, state: TriageState, choices: dict[str, str]) -> TriageState:
    """Answer questions from `choices` (or the first option when not given) until the checklist."""
    while (question := tree.current_question(state)) is not None:
        state = tree.answer(state, question.id, choices.get(question.id, question.options[0].id))
    return state


# -- every path ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", REPRESENTATIVE)
def test_every_answer_combination_ends_in_a_checklist(tree: Tree, code: str) -> None:
    combinations = set()
    for state in walk(tree, code):
        assert state.status == "checklist"
        checklist = tree.checklist(state)
        assert isinstance(checklist, Checklist)
        assert checklist.user_steps and checklist.admin_steps, state.answers
        assert all(s.who == "user" for s in checklist.user_steps)
        assert all(s.who == "admin" for s in checklist.admin_steps)
        assert all("{code}" not in s.text for s in (*checklist.user_steps, *checklist.admin_steps))
        assert len(tree.transcript(state)) == len(state.answers)
        combinations.add(state.answers)
    # distinct paths end in distinct answer sets, and there is more than one way through
    assert len(combinations) > 1


def test_walk_counts_match_the_product_of_options_when_nothing_is_conditional(tmp_path: Path) -> None:
    small = load_tree(write(tmp_path, SMALL))
    # protocol (2) x mode (2, only for ftp-425 over ftp) -> ftp: 2, sftp: 1
    assert len(list(walk(small, "ftp-425"))) == 3
    assert len(list(walk(small, "ftp-530"))) == 2


# -- specific behaviour of the shipped tree --------------------------------------------------------------


def test_sftp_with_an_ftp_code_gets_the_note_and_no_mode_question(tree: Tree) -> None:
    state = tree.start("ftp-425")
    state = tree.answer(state, "protocol", "sftp")
    seen = []
    while (question := tree.current_question(state)) is not None:
        seen.append(question.id)
        state = tree.answer(state, question.id, question.options[0].id)
    assert "mode" not in seen
    assert "code-source" in seen
    checklist = tree.checklist(state)
    assert any("SFTP never sends FTP reply codes" in note and "425" in note for note in checklist.notes)


def test_ftp_user_with_425_is_asked_the_mode_and_gets_no_sftp_note(tree: Tree) -> None:
    state = answer_all(tree, tree.start("ftp-425"), {"protocol": "ftp"})
    assert "mode" in state.asked
    assert not any("SFTP" in note for note in tree.checklist(state).notes)


def test_no_path_for_sftp_asks_the_mode(tree: Tree) -> None:
    for code in ("ftp-425", "ftp-227", "winsock-10061", "sftp-3"):
        for state in walk(tree, code, {"protocol": "sftp"}):
            assert "mode" not in state.asked


def test_530_asks_about_anonymous_login_and_tls(tree: Tree) -> None:
    state = tree.start("ftp-530")
    asked = []
    while (question := tree.current_question(state)) is not None:
        asked.append(question.id)
        choice = {"protocol": "ftp", "tls-demanded": "yes", "client": "filezilla"}.get(question.id)
        state = tree.answer(state, question.id, choice or question.options[0].id)
    assert {"anonymous", "tls-demanded"} <= set(asked)
    user_text = " ".join(s.text for s in tree.checklist(state).user_steps)
    assert "explicit FTP over TLS" in user_text


def test_tls_question_is_not_asked_when_already_on_ftps(tree: Tree) -> None:
    state = answer_all(tree, tree.start("ftp-530"), {"protocol": "ftps-explicit"})
    assert "anonymous" in state.asked
    assert "tls-demanded" not in state.asked


@pytest.mark.parametrize("code", ["ftp-550", "ftp-553"])
def test_path_codes_ask_about_path_and_permissions(tree: Tree, code: str) -> None:
    state = answer_all(tree, tree.start(code), {"protocol": "ftp"})
    assert {"path-style", "path-permissions"} <= set(state.asked)
    assert "mode" not in state.asked


def test_421_asks_the_per_ip_question_only_for_connection_limits(tree: Tree) -> None:
    limited = answer_all(tree, tree.start("ftp-421"), {"closing-reason": "too-many"})
    assert "per-ip-limit" in limited.asked
    idle = answer_all(tree, tree.start("ftp-421"), {"closing-reason": "timeout"})
    assert "per-ip-limit" not in idle.asked


@pytest.mark.parametrize("code", ["ftp-534", "ftp-522"])
def test_tls_codes_ask_about_tls_settings(tree: Tree, code: str) -> None:
    state = answer_all(tree, tree.start(code), {"protocol": "ftps-explicit"})
    assert "tls-settings" in state.asked


def test_passive_range_question_follows_a_public_passive_address(tree: Tree) -> None:
    base = {"protocol": "ftp", "mode": "passive"}
    public = answer_all(tree, tree.start("ftp-425"), base | {"passive-address": "public"})
    assert "passive-range" in public.asked
    private = answer_all(tree, tree.start("ftp-425"), base | {"passive-address": "private"})
    assert "passive-range" not in private.asked
    active = answer_all(tree, tree.start("ftp-425"), {"protocol": "ftp", "mode": "active"})
    assert "passive-address" not in active.asked


def test_advice_follows_the_server_answer(tree: Tree) -> None:
    choices = {"protocol": "ftp", "mode": "passive", "passive-address": "private"}
    vsftpd = tree.checklist(answer_all(tree, tree.start("ftp-425"), choices | {"server": "vsftpd"}))
    proftpd = tree.checklist(answer_all(tree, tree.start("ftp-425"), choices | {"server": "proftpd"}))
    assert any("pasv_address" in s.text for s in vsftpd.admin_steps)
    assert not any("pasv_address" in s.text for s in proftpd.admin_steps)
    assert any("MasqueradeAddress" in s.text for s in proftpd.admin_steps)


def test_the_server_question_offers_only_servers_of_the_chosen_protocol(tree: Tree) -> None:
    def server_question(protocol: str) -> tuple[TriageState, list[str]]:
        state = tree.start("ftp-550", {"protocol": protocol})
        while (question := tree.current_question(state)) is not None and question.id != "server":
            state = tree.answer(state, question.id, question.options[0].id)
        assert question is not None
        return state, [o.id for o in question.options]

    sftp_state, sftp = server_question("sftp")
    _, ftps = server_question("ftps-explicit")
    assert sftp == ["openssh", "other", "unsure"]
    assert "openssh" not in ftps and {"vsftpd", "proftpd", "iis"} <= set(ftps)
    with pytest.raises(TriageError, match="no option 'vsftpd'"):
        tree.answer(sftp_state, "server", "vsftpd")
    # typed answers and numbers count the options shown: 1 is OpenSSH for an SFTP user
    assert tree.answer_text(sftp_state, "1").answer_of("server") == "openssh"
    assert tree.answer_text(sftp_state, "vsftpd") is None


def test_a_vsftpd_message_is_not_offered_sftp(tree: Tree) -> None:
    protocol = tree.current_question(tree.start("client-vsftpd-writable-chroot"))
    assert protocol is not None and protocol.id == "protocol"
    assert "sftp" not in [o.id for o in protocol.options]


def test_sftp_status_code_implies_the_protocol(tree: Tree) -> None:
    state = tree.start("sftp-3")
    assert state.answer_of("protocol") == "sftp"
    assert tree.current_question(state).id != "protocol"


@pytest.mark.parametrize(
    ("code", "question", "option"),
    [
        ("curl-7", "client", "curl"),
        ("client-winscp-anything", "client", "winscp"),
        ("client-vsftpd-x", "server", "vsftpd"),
    ],
)
def test_client_message_ids_imply_the_program(tree: Tree, code: str, question: str, option: str) -> None:
    state = answer_all(tree, tree.start(code), {})
    assert state.answer_of(question) == option
    assert question not in state.asked


def test_generic_path_for_codes_without_own_questions(tree: Tree) -> None:
    for code in ("ftp-459", "winsock-10054", "client-some-message"):
        state = answer_all(tree, tree.start(code), {"protocol": "ftp", "stage": "listing"})
        assert {"protocol", "client", "stage", "mode", "network", "server"} <= set(state.asked)
        assert tree.checklist(state).user_steps


# -- the conversation controls ---------------------------------------------------------------------------


def test_prefilled_answers_are_skipped_and_kept(tree: Tree) -> None:
    state = tree.start("ftp-425", {"protocol": "ftp", "client": "curl"})
    assert tree.current_question(state).id == "mode"
    assert state.asked == ()
    assert state.answer_of("client") == "curl"
    finished = answer_all(tree, state, {})
    assert ("Which program makes the connection?", "curl") in tree.transcript(finished)
    assert "client" not in finished.asked


def test_prefilled_answers_are_checked(tree: Tree) -> None:
    with pytest.raises(TriageError, match="no option 'gopher'"):
        tree.start("ftp-425", {"protocol": "gopher"})
    with pytest.raises(TriageError, match="no question 'colour'"):
        tree.start("ftp-425", {"colour": "blue"})


def test_back_restart_and_stop(tree: Tree) -> None:
    start = tree.start("ftp-425", {"client": "filezilla"})
    one = tree.answer(start, "protocol", "ftp")
    two = tree.answer(one, "mode", "active")
    assert tree.back(two) == one
    assert tree.back(tree.back(two)) == start
    assert tree.back(start) == start  # prefilled answers are not taken back
    assert tree.restart(two) == start
    stopped = tree.stop(two)
    assert stopped.status == "stopped"
    assert tree.current_question(stopped) is None
    with pytest.raises(TriageError):
        tree.answer(stopped, "network", "lan")
    with pytest.raises(TriageError):
        tree.back(stopped)
    assert tree.restart(stopped) == start


def test_back_from_the_checklist_asks_the_last_question_again(tree: Tree) -> None:
    done = answer_all(tree, tree.start("ftp-530"), {})
    assert done.status == "checklist"
    again = tree.back(done)
    assert again.status == "asking"
    assert tree.current_question(again).id == done.asked[-1]


def test_stale_question_and_wrong_option_raise(tree: Tree) -> None:
    state = tree.answer(tree.start("ftp-425"), "protocol", "ftp")
    with pytest.raises(TriageError, match="not the current one"):
        tree.answer(state, "protocol", "sftp")  # a second click on an older message's button
    with pytest.raises(TriageError, match="no option"):
        tree.answer(state, "client", "notepad")
    with pytest.raises(TriageError, match="not the current one"):
        tree.answer(state, "no-such-question", "x")


def test_feedback_after_the_checklist(tree: Tree) -> None:
    done = answer_all(tree, tree.start("ftp-421"), {})
    assert tree.feedback(done, fixed=True).status == "resolved"
    handoff = tree.feedback(done, fixed=False)
    assert handoff.status == "handoff"
    summary = tree.handoff_summary(handoff, "Service not available")
    assert "421" in summary and "Outcome: not fixed" in summary
    for question, label in tree.transcript(handoff):
        assert f"{question} {label}" in summary
    with pytest.raises(TriageError):
        tree.feedback(tree.start("ftp-421"), fixed=True)
    with pytest.raises(TriageError):
        tree.feedback(handoff, fixed=True)


def test_transcript_lists_questions_and_labels_in_order(tree: Tree) -> None:
    state = tree.answer(tree.answer(tree.start("ftp-425"), "protocol", "ftps-implicit"), "client", "winscp")
    assert tree.transcript(state) == [
        ("Which protocol does the connection use?", "FTPS implicit (port 990)"),
        ("Which program makes the connection?", "WinSCP"),
    ]


# -- typed answers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "option"),
    [
        ("sftp", "sftp"),
        ("SFTP", "sftp"),
        ("sftp://files.example.com", "sftp"),
        ("ftp://files.example.com", "ftp"),
        ("port 990", "ftps-implicit"),
        ("it's on port 22", "sftp"),
        ("FTPES", "ftps-explicit"),
        ("2", "ftps-explicit"),
        ("4", "sftp"),
        ("٤", "sftp"),  # any decimal digit int() reads
        ("not sure", "unsure"),
    ],
)
def test_answer_text_for_the_protocol(tree: Tree, text: str, option: str) -> None:
    state = tree.answer_text(tree.start("ftp-425"), text)
    assert state is not None
    assert state.answer_of("protocol") == option


@pytest.mark.parametrize("text", ["", "   ", "banana", "9", "0", "ftps", "-1", "²"])  # ² is a digit, not decimal
def test_answer_text_refuses_rubbish_and_ambiguity(tree: Tree, text: str) -> None:
    assert tree.answer_text(tree.start("ftp-425"), text) is None


def test_answer_text_for_other_questions(tree: Tree) -> None:
    state = tree.start("ftp-425", {"protocol": "ftp", "server": "vsftpd"})
    state = tree.answer_text(state, "FileZilla")
    assert state.answer_of("client") == "filezilla"
    state = tree.answer_text(state, "passive")
    assert state.answer_of("mode") == "passive"
    state = tree.answer_text(state, "behind my home router")
    assert state.answer_of("network") == "nat"
    state = tree.answer_text(state, "it shows 192.168.1.20")
    assert state.answer_of("passive-address") == "private"
    assert tree.answer_text(tree.stop(state), "yes") is None


# -- state ------------------------------------------------------------------------------------------------


def test_state_round_trips_through_json(tree: Tree) -> None:
    state = tree.answer(tree.start("ftp-425", {"client": "lftp"}), "protocol", "ftp")
    data = json.loads(json.dumps(state.to_dict()))
    assert data["entry_id"] == "ftp-425"
    assert data["answers"] == {"client": "lftp", "protocol": "ftp"}
    assert data["asked"] == ["protocol"]
    assert data["status"] == "asking"
    assert data["version"] == tree.version
    assert TriageState.from_dict(data) == state


@pytest.mark.parametrize(
    "broken",
    [
        None,
        {},
        {"entry_id": "ftp-425", "answers": {}, "asked": [], "status": "thinking", "version": 1},
        {"entry_id": "ftp-425", "answers": {"protocol": 1}, "asked": [], "status": "asking", "version": 1},
        {
            "entry_id": "ftp-425",
            "answers": {"protocol": "ftp"},
            "asked": [],
            "status": "asking",
            "version": 1,
        },
        {"entry_id": "ftp-425", "answers": {}, "asked": ["protocol"], "status": "asking", "version": 1},
        {"entry_id": "", "answers": {}, "asked": [], "status": "asking", "version": 1},
    ],
)
def test_from_dict_refuses_malformed_states(broken: object) -> None:
    with pytest.raises(TriageError):
        TriageState.from_dict(broken)


def test_a_state_the_tree_no_longer_knows_is_refused(tree: Tree) -> None:
    old = TriageState.from_dict(
        {
            "entry_id": "ftp-425",
            "answers": {"protocol": "gopher"},
            "asked": ["protocol"],
            "status": "asking",
            "version": 0,
        }
    )
    with pytest.raises(TriageError, match="restart"):
        tree.current_question(old)
    assert tree.restart(old).answers == ()
    stale_prefill = TriageState.from_dict(
        {
            "entry_id": "ftp-425",
            "answers": {"protocol": "gopher"},
            "asked": [],
            "prefilled": {"protocol": "gopher"},
            "status": "asking",
            "version": 0,
        }
    )
    restarted = tree.restart(stale_prefill)
    assert restarted.prefilled == () and restarted.version == tree.version
    assert tree.current_question(restarted).id == "protocol"


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("answer"), st.integers(min_value=0, max_value=9)),
        st.tuples(st.just("text"), st.text(max_size=12)),
        st.tuples(st.just("back"), st.none()),
        st.tuples(st.just("restart"), st.none()),
        st.tuples(st.just("stop"), st.none()),
        st.tuples(st.just("feedback"), st.booleans()),
    ),
    max_size=25,
)


def check_valid(tree: Tree, state: TriageState) -> None:
    data = state.to_dict()
    assert TriageState.from_dict(json.loads(json.dumps(data))) == state
    assert [q for q, _ in state.answers[len(state.prefilled) :]] == list(state.asked)
    question = tree.current_question(state)
    if state.status == "asking":
        assert question is not None and state.answer_of(question.id) is None
    else:
        assert question is None
    if state.status == "checklist":
        checklist = tree.checklist(state)
        assert checklist.user_steps and checklist.admin_steps


@settings(max_examples=150, deadline=None)
@given(code=st.sampled_from(REPRESENTATIVE), actions=ACTIONS)
def test_any_sequence_of_actions_keeps_the_state_valid(code: str, actions: list[tuple[str, object]]) -> None:
    tree = load_tree()
    state = tree.start(code)
    for action, value in actions:
        before = state
        try:
            if action == "answer":
                question = tree.current_question(state)
                option_id = question.options[value % len(question.options)].id if question else "none"
                state = tree.answer(state, question.id if question else "none", option_id)
            elif action == "text":
                state = tree.answer_text(state, value) or state
            elif action == "back":
                state = tree.back(state)
            elif action == "restart":
                state = tree.restart(state)
            elif action == "stop":
                state = tree.stop(state)
            else:
                state = tree.feedback(state, value)
        except TriageError:
            assert state == before
        check_valid(tree, state)


# -- the condition language, on a small tree of its own ---------------------------------------------------

SMALL = """
version = 3

[groups]
data = ["ftp-425", "ftp-426"]

[[questions]]
id = "protocol"
text = "Which protocol?"
[[questions.options]]
id = "ftp"
label = "FTP"
keywords = ["ftp"]
[[questions.options]]
id = "sftp"
label = "SFTP"
keywords = ["sftp", "ssh"]

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
id = "only-active"
who = "user"
when = [{ mode = ["active"] }, { code = ["winsock-*"] }]
text = "Use passive mode for {code}."
source = "RFC 959"

[[steps]]
id = "not-sftp"
who = "admin"
when = { code = ["ftp-4xx"] }
unless = { protocol = ["sftp"] }
text = "Open the passive range."
source = "RFC 959"

[[steps]]
id = "user-fallback"
who = "user"
fallback = true
text = "Send the log."
source = "RFC 959"

[[steps]]
id = "admin-fallback"
who = "admin"
fallback = true
text = "Read the log."
source = "RFC 959"

[[notes]]
id = "sftp-note"
when = { code = ["ftp-*"], protocol = ["sftp"] }
text = "SFTP does not send {code}."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "small_triage.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def ids(checklist: Checklist) -> tuple[list[str], list[str]]:
    return [s.id for s in checklist.user_steps], [s.id for s in checklist.admin_steps]


def test_conditions_fallbacks_and_notes_on_a_small_tree(tmp_path: Path) -> None:
    small = load_tree(write(tmp_path, SMALL))
    active = small.answer(small.answer(small.start("ftp-425"), "protocol", "ftp"), "mode", "active")
    assert ids(small.checklist(active)) == (["only-active"], ["not-sftp"])
    assert small.checklist(active).user_steps[0].text == "Use passive mode for 425."
    passive = small.answer(small.answer(small.start("ftp-425"), "protocol", "ftp"), "mode", "passive")
    assert ids(small.checklist(passive)) == (["user-fallback"], ["not-sftp"])
    sftp = small.answer(small.start("ftp-425"), "protocol", "sftp")
    assert sftp.status == "checklist"
    assert ids(small.checklist(sftp)) == (["user-fallback"], ["admin-fallback"])
    assert small.checklist(sftp).notes == ("SFTP does not send 425.",)
    winsock = small.answer(small.start("winsock-10060"), "protocol", "ftp")
    assert ids(small.checklist(winsock)) == (["only-active"], ["admin-fallback"])
    assert winsock.version == 3


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("ftp-425", ["ftp-425"], ["ftp-4250", "ftp-42", "xftp-425"]),
        ("ftp-4xx", ["ftp-400", "ftp-459", "ftp-4xx"], ["ftp-500", "ftp-45", "ftp-4000", "sftp-400"]),
        ("ftp-42x", ["ftp-425", "ftp-42x"], ["ftp-435"]),
        ("winsock-*", ["winsock-10061", "winsock-"], ["ftp-425", "xwinsock-1"]),
        ("client-proxy-x", ["client-proxy-x"], ["client-proxy-1"]),
    ],
)
def test_code_patterns(pattern: str, matches: list[str], misses: list[str]) -> None:
    compiled = compile_code_pattern(pattern)
    assert all(compiled.match(code) for code in matches)
    assert not any(compiled.match(code) for code in misses)
