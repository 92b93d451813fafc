"""Each input form people type, digit explanation, and the parser's robustness."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge import answer, digits
from knowledge.lookup import MAX_QUERY_CHARS, finder, lookup


def ids(query):
    return [m.entry.id for m in lookup(query).matches]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("425", "ftp-425"),
        ("ftp 425", "ftp-425"),
        ("FTP 530", "ftp-530"),
        ("10061", "winsock-10061"),
        ("winsock 10061", "winsock-10061"),
        ("WSAECONNREFUSED", "winsock-10061"),
        ("wsaeconnrefused", "winsock-10061"),
        ("ECONNREFUSED", "winsock-10061"),
        ("sftp 3", "sftp-3"),
        ("SSH_FX_PERMISSION_DENIED", "sftp-3"),
        ("425 Can't open data connection.", "ftp-425"),
        ("Response: 530 Login incorrect.", "ftp-530"),
        ("Error: 550 Permission denied", "ftp-550"),
        ("4xx", "ftp-4xx"),
        ("5XX", "ftp-5xx"),
        ("200 series", "ftp-2xx"),
        ("100", "ftp-100"),
        ("curl: (67) Access denied: 530", "curl-67"),
        ("curl 7", "curl-7"),
    ],
)
def test_input_forms(query, expected):
    assert ids(query)[0] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("can't open data connection", "ftp-425"),
        ("connection refused", "winsock-10061"),
        ("Failed to retrieve directory listing", "client-filezilla-failed-to-retrieve-directory-listing"),
        ("Server sent passive reply with unroutable address", None),
        ("Cannot initialize SFTP protocol", None),
        ("Permission denied (publickey).", None),
    ],
)
def test_free_text_finds_the_entry(query, expected):
    found = lookup(query).matches
    assert found, query
    if expected:
        assert expected in [m.entry.id for m in found]
    else:
        assert any(query.lower().rstrip(".") in (m.entry.message or m.entry.title).lower() for m in found)


def test_passive_mode_finds_the_passive_replies():
    assert {"ftp-227", "ftp-229"} & set(ids("passive mode"))


@pytest.mark.parametrize(
    ("query", "first"),
    [("passive mode", "ftp-227"), ("login incorrect", "ftp-530"), ("connection refused", "winsock-10061")],
)
def test_a_general_phrase_finds_the_code_before_a_clients_wording(query, first):
    assert ids(query)[0] == first


def test_ambiguous_small_number_shows_every_reading():
    kinds = {m.entry.kind for m in lookup("3").matches}
    assert "sftp-status" in kinds
    if lookup("curl 3").matches:
        assert kinds == {"sftp-status", "client-message"}


def test_several_codes_are_each_answered_errors_first():
    found = ids("I got 220 then 530 when I log in, and 425 later")
    assert found[:2] == ["ftp-530", "ftp-425"] and "ftp-220" in found


def test_numbers_in_addresses_ports_and_tuples_are_not_codes():
    assert ids("227 Entering Passive Mode (192,168,1,2,195,80)") == ["ftp-227"]
    for query in ("connecting to 10.0.0.5 port 443", "port 443 timed out", "server 192.168.100.250:2121"):
        assert [m for m in lookup(query).matches if m.reason != "text"] == [], query


def test_unknown_code_is_explained_by_digits_with_nearest_codes():
    (match,) = lookup("459").matches
    assert not match.known and not match.entry.standard
    assert [e.split("-")[1][:2] for e in match.entry.related] == ["45", "45", "45"]
    shown = answer.build(match)
    assert [d.short for d in shown.digits] == ["transient negative", "file system", "detail"]


@pytest.mark.parametrize("query", ["", "   ", "\x00\x07", "799", "asdfghjkl", "🙂🙂🙂", "<<<>>>&&&"])
def test_rubbish_gets_suggestions_not_errors(query):
    result = lookup(query)
    assert not result.matches and result.suggestions


def test_huge_input_is_cut_with_a_note():
    result = lookup("x" * (MAX_QUERY_CHARS * 3) + " 425")
    assert result.notes and len(result.query) == MAX_QUERY_CHARS


def test_digits_of_every_class_and_group():
    assert digits.explain("631")[0].short == "protected"
    assert digits.explain("241")[1].short == "unspecified"
    with pytest.raises(ValueError):
        digits.explain("731")


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(lambda b: b.decode("latin-1"))))
def test_lookup_never_raises(text):
    result = lookup(text)
    assert result.matches or result.suggestions
    for match in result.matches:
        answer.match_json(match)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=100, max_value=699))
def test_every_reply_shaped_number_is_explained(number):
    code = str(number)
    found = lookup(code).matches
    if digits.is_reply_code(code):
        assert found and found[0].entry.code == code
        assert len(answer.build(found[0]).digits) == 3


def test_a_client_message_names_its_entry_with_other_numbers_and_details() -> None:
    by_message = finder().by_message
    assert [e.id for e in by_message("Connection timed out after 45 seconds of inactivity")][:1] == [
        "client-filezilla-connection-timed-out-20s"
    ]
    packet = "Received too large (172781415 B) SFTP packet. Max supported packet size is 102400 B"
    assert [e.id for e in by_message(packet)] == ["client-winscp-received-too-large-sftp-packet"]
    assert by_message("Error code: 3") == [] and by_message("Permission denied") == []  # too common to name one
    assert by_message("20 秒后无活动，连接超时") == []
    pure_ftpd = "Authentication failed for user [Administrador]"  # a server's log: not WinSCP's message
    assert [e.id for e in by_message(pure_ftpd)] == ["client-winscp-authentication-failed"]
    assert by_message(pure_ftpd, client="Pure-FTPd") == []
    assert [e.id for e in by_message(packet, client="WinSCP")] == ["client-winscp-received-too-large-sftp-packet"]
