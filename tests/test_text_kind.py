"""knowledge/text_kind.py: whether a text is a query or a log, decided in one place for every surface."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import text_kind

LOG = (Path(__file__).parent / "logs" / "filezilla_passive_nat.log").read_text()
CLIENT_ERROR = "Error: Connection timed out after 20 seconds of inactivity\nError: Failed to retrieve directory listing"


@pytest.mark.parametrize("text", ["425", "530 when I log in", "ECONNREFUSED", "can't open data connection", ""])
def test_a_question_is_a_query(text: str) -> None:
    assert not text_kind.looks_like_log(text)
    assert text_kind.read(text) == text_kind.Reading()
    assert not text_kind.read(text, whole_message=True).is_log


@pytest.mark.parametrize("text", [LOG, f"```\n{LOG}\n```", f"see this:\n{LOG}"])
def test_a_pasted_log_is_a_log_with_its_scan(text: str) -> None:
    assert text_kind.looks_like_log(text)
    reading = text_kind.read(text)
    assert reading.is_log and reading.found and reading.scan is not None and reading.scan.failure is not None


def test_a_code_block_naming_a_code_is_a_question_about_it() -> None:
    text = "```Error: 530 Login incorrect```"
    assert text_kind.looks_like_log(text)
    assert not text_kind.read(text).is_log


def test_a_code_block_with_nothing_in_it_is_a_log_with_nothing_found() -> None:
    reading = text_kind.read("```\nhello there\n```")
    assert reading.is_log and not reading.found


def test_a_message_of_a_few_lines_is_a_log_when_the_scan_finds_one() -> None:
    assert not text_kind.looks_like_log(CLIENT_ERROR)
    assert not text_kind.read(CLIENT_ERROR).is_log, "typed to the bot, two lines are a question"
    assert text_kind.read(CLIENT_ERROR, whole_message=True).found, "someone's message: read as a log first"
    assert not text_kind.read("my upload fails\nwith 553", whole_message=True).is_log


def test_text_given_as_a_log_is_always_scanned() -> None:
    reading = text_kind.read("the weather is nice today", given_as_log=True)
    assert reading.is_log and not reading.found
    assert text_kind.read(LOG, given_as_log=True).found


def test_a_long_paste_is_a_log_whatever_it_names() -> None:
    text = "425 " * (text_kind.LONG_PASTE_CHARS // 4 + 1)
    assert text_kind.looks_like_log(text) and not text_kind.names_a_code(text)
    assert text_kind.read(text).is_log


def test_a_clients_log_of_status_lines_only_is_a_log_in_which_nothing_failed() -> None:
    status_only = (Path(__file__).parent / "logs" / "wild" / "clean_filezilla_chinese_upload.log").read_text()
    assert text_kind.read(status_only, whole_message=True).found
    reading = text_kind.read(status_only, given_as_log=True)
    assert reading.found and reading.scan is not None
    assert not reading.scan.exchanges and reading.scan.failure is None and reading.scan.timeline
    assert not text_kind.read("Status: fine\nStatus: fine\nStatus: fine\nhello").found, "status lines of no client"
