"""The knowledge base covers the reference list and the article, and corrects the article where it errs."""

import re

import pytest

from knowledge.base import load
from knowledge.lookup import finder
from tests.reference import article_codes, reference_json


@pytest.fixture(scope="module")
def kb():
    return load()


def test_every_article_code_is_known(kb):
    codes = article_codes()
    assert len(codes) > 50, "the article's table was not read"
    missing = [c for c in codes if not (kb.get("ftp-reply", c) or kb.get("winsock", c))]
    assert missing == []


def test_every_reference_reply_code_is_known(kb):
    codes = {r["code"] for r in reference_json()["ftp_replies"]}
    assert [c for c in sorted(codes) if kb.get("ftp-reply", c) is None] == []


def test_non_standard_codes_are_marked(kb):
    for reply in reference_json()["ftp_replies"]:
        if reply["source"].startswith("non-standard") and reply["code"] not in ("232",):
            entry = kb.get("ftp-reply", reply["code"])
            assert not entry.standard and entry.origin, reply["code"]


def test_codes_with_two_standard_meanings_say_so(kb):
    for code in ("521", "522"):
        text = " ".join((kb.get("ftp-reply", code).summary, kb.get("ftp-reply", code).details))
        assert "RFC 4217" in " ".join(kb.get("ftp-reply", code).sources)
        assert re.search(r"two", text, re.I), code


def test_winsock_sftp_and_clients_are_covered(kb):
    data = reference_json()
    for row in data["winsock"]:
        entry = kb.get("winsock", row["code"])
        assert entry is not None and entry.name == row["name"], row["code"]
    for row in data["sftp_status"]:
        entry = kb.get("sftp-status", str(row["code"]))
        assert entry is not None and entry.name == row["name"], row["code"]
        assert entry.openssh == row["in_v3"], row["code"]
    texts = {m.lower() for e in kb.of_kind("client-message") for m in (e.message, *e.messages, e.title) if m}
    missing = [row["message"] for row in data["client_messages"] if row["message"].lower() not in texts]
    # Where the reference quotes a wording the client's source does not print (curl 10, 17, 64: issue 12's audit),
    # the entry quotes the source; the reference's wording must still lead a user to that entry.
    misled = [
        message
        for message in missing
        if not (found := finder().lookup(message).matches) or found[0].entry.kind != "client-message"
    ]
    assert misled == []
    assert len(missing) <= 3, missing
    assert len(kb.of_kind("winsock")) >= 25 and len(kb.of_kind("client-message")) >= 40


def test_article_errata_are_noted_on_the_entries(kb):
    for erratum in reference_json()["seed_errata"]:
        code = erratum["code"]
        entry = kb.get("ftp-reply", code) or kb.get("winsock", code)
        if entry is None:  # digit-level errata (x4x, x0x..x5x) are about the digits table
            continue
        assert entry.notes, f"{code}: the article's mistake is not noted"
