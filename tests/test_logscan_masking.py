"""mask_secrets and the scanner's guarantee that no password reaches its result; hypothesis for robustness."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from knowledge.logscan import mask_escaped_secrets, mask_secrets, masking, scan

SECRET = "Sup3r-Secr3t!"

LINES_WITH_SECRET = [
    f"> PASS {SECRET}",
    f"*cmd* 'PASS {SECRET}'",
    f"---> PASS {SECRET}",
    f"Command:\tPASS {SECRET}",
    f"2024-05-01 10:00:01 4242 1 Command: PASS {SECRET}",
    f"> 2024-05-01 10:00:01.261 PASS {SECRET}",
    f'Tue May  1 10:00:01 2024 [pid 12] [bob] FTP command: Client "1.2.3.4", "PASS {SECRET}"',
    f'198.51.100.9 UNKNOWN bob [01/May/2024:10:00:02 +0000] "PASS {SECRET}" 230 -',
    f"pass {SECRET}",
    f"Command:\tPass: {SECRET}",
    f"copy-peer: EOF on ftp://alice:{SECRET}@127.0.0.1:2121/hello.txt",
    f"password={SECRET}&user=bob",
    f'"password": "{SECRET}"',
    f"curl -u bob:{SECRET} ftp://example.com/",
    f"lftp -u bob,{SECRET} ftp.example.com",
    f"BYPASS the cache, then PASS {SECRET}",  # a word holding PASS does not hide the command after it
    f"> PASS {SECRET}\r> TYPE I",  # a lone CR ends a line
]


@pytest.mark.parametrize("line", LINES_WITH_SECRET)
def test_secret_is_masked(line: str) -> None:
    masked = mask_secrets(line)
    assert SECRET not in masked
    assert "****" in masked
    assert mask_secrets(masked) == masked


def test_rest_is_kept() -> None:
    text = '198.51.100.9 UNKNOWN bob [01/May/2024:10:00:02 +0000] "PASS x" 230 -\nUSER bob\n331 ok\n'
    assert mask_secrets(text) == text.replace('"PASS x"', '"PASS ****"')
    iis = "2024-05-01 10:00:02 198.51.100.77 50123 - 203.0.113.5 21 PASS *** 530 1326 41 sess -"
    assert mask_secrets(iis) == iis
    assert (
        mask_secrets("User name: alice (Password: Yes, Key file: No)")
        == "User name: alice (Password: Yes, Key file: No)"
    )
    assert mask_secrets("BYPASS the cache; I pass the file to you") == "BYPASS the cache; I pass the file to you"


def test_iis_row_keeps_its_columns_after_a_password_in_clear() -> None:
    # IIS writes an anonymous login's password as typed; the status columns after it say what happened
    row = "2023-12-29 08:11:51 10.211.55.53 - 10.211.55.52 21 PASS IEUser@ 530 1326 42 59aec49f-3f2b -"
    assert mask_secrets(row) == row.replace("IEUser@", "****")
    assert mask_secrets("17:40:30 ip4 - 21 [138]PASS guest@my.net 530") == "17:40:30 ip4 - 21 [138]PASS **** 530"
    assert mask_secrets("10:00:01 Command: PASS s3cret 530 x") == "10:00:01 Command: PASS ****"  # a label: no row


def test_scan_result_never_holds_the_secret() -> None:
    text = "\n".join(["220 hi", "USER bob", "331 pw", *LINES_WITH_SECRET, "530 Login incorrect."])
    result = scan(text)
    dumped = json.dumps(result.to_json()) + json.dumps(result.timeline) + json.dumps(result.triage_prefill)
    assert SECRET not in dumped


_PASSWORDS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="*"), min_size=6, max_size=30
)
_TEMPLATES = st.sampled_from(
    ["> PASS {}", "*cmd* 'PASS {}'", "---> PASS {}", "Command:\tPASS {}", 'x "PASS {}" 230 -', "< 230 ok\n> PASS {}\n"]
)


@given(password=_PASSWORDS, template=_TEMPLATES, before=st.text(max_size=50), after=st.text(max_size=50))
def test_pass_argument_never_leaks(password: str, template: str, before: str, after: str) -> None:
    line = template.format(password)
    text = f"{before}\n{line}\n{after}"
    assume(password not in before and password not in after and password not in template)
    masked = mask_secrets(text)
    assert password not in masked
    assert masked.count("\n") == text.count("\n")


@given(st.text(max_size=2000))
def test_mask_is_idempotent(text: str) -> None:
    once = mask_secrets(text)
    assert mask_secrets(once) == once
    assert once.count("\n") == text.count("\n")


# PASS lines where the shortcuts for curl's `> PASS x` and an argument that is MASK alone must step aside
_PASS_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "> PASS hunter2",
                "> PASS  two spaces",
                "> PASS\ttab",
                "> PASS:x",
                "> PASS 'quoted'",
                '> PASS "quoted',
                "> PASS x \t",
                "> PASS *** 530 1326 ",
                "> PASS ****",
                "> PASS ****  ",
                "> PASS ********",
                "'PASS ***",
                "*cmd* 'PASS ***'",
                "10:00:01 1.2.3.4 PASS *****",
                "[1]PASS **",
                "> PASS ",
                "> PASS x\rTYPE I",
                "> PASS x PASS y",
                "> > PASS x",
                "PASS ****",
                "Command:\tPASS ****",
                '"PASS ****"',
                "10:00:01 1.2.3.4 PASS **** 530 1326 ",
                "10:00:01 1.2.3.4 PASS x 530 1326 ",
                "'PASS x' PASS ****",
            ]
        ),
        st.text(alphabet="> PASS*x'\"\t\r530", max_size=20),
    ),
    max_size=12,
)


@settings(max_examples=300)
@given(_PASS_LINES)
def test_pass_shortcuts_give_what_the_callback_gives(lines: list[str]) -> None:
    text = "\n".join(lines)
    everything_by_callback = re.compile(r"PASS(?<!\wPASS)(:?[ \t]+)(?=[^\s])([^\r\n]*)", re.M)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(masking, "_PASS_UPPER", everything_by_callback)
        patched.setattr(masking, "_CURL_PASS", re.compile("(?!)"))
        slow = mask_secrets(text)
    assert mask_secrets(text) == slow


@settings(max_examples=300)
@given(_PASS_LINES)
def test_stars_alone_are_masked_as_any_argument(lines: list[str]) -> None:
    for m in masking._PASS_UPPER.finditer("\n".join(lines)):
        assert masking._mask_pass_upper(m) == masking._mask_pass_command(m)


_LOGGISH = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "Status:\tConnecting to 10.0.0.1:21...",
                "Response:\t227 Entering Passive Mode (10,0,0,5,195,92).",
                "Command:\tPASV",
                "< 530 no",
                "> PASS x",
                "*   Trying 1.2.3.4:21...",
                "<--- 211-Feat",
                "<--- 211 End",
                "---> AUTH TLS",
                "*cmd* 'USER a'",
                "*resp* '331 b'",
                "#Fields: date time cs-method sc-status",
                "kex_exchange_identification: banner line 0: 220 x",
                "Received message too long 1416128883",
                "curl: (7) Failed",
                "SSH-2.0-OpenSSH_9.2p1",
                'FTP response: Client "1.2.3.4", "220 x"',
                "```",
                "&lt; 421 busy",
                "211-",
                "211 ",
                "PORT 1,2,3,4,5,6",
                "425 no",
                "150 ok",
            ]
        ),
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    ),
    max_size=60,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_LOGGISH)
def test_scan_never_raises_on_logish_text(lines: list[str]) -> None:
    result = scan("\n".join(lines))
    json.dumps(result.to_json())
    assert isinstance(result.timeline, list) and isinstance(result.codes, list)


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_scan_never_raises_on_any_text(text: str) -> None:
    json.dumps(scan(text).to_json())


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(st.text(min_size=1, max_size=20), st.integers(min_value=1_000, max_value=300_000))
def test_scan_never_raises_on_huge_lines(chunk: str, repeat: int) -> None:
    text = (chunk * (repeat // len(chunk) + 1))[:repeat]
    json.dumps(scan(text).to_json())
    json.dumps(scan("Response:\t" + text + "\nCommand:\tPASS " + text).to_json())


# ----- escaped text: the bot's logs hold JSON envelopes and reprs of request bodies -----


def _json(text: str) -> str:
    return json.dumps(text)[1:-1]


def _json_unicode(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _repr(text: str) -> str:
    return repr(text)[1:-1]


# How a pasted log reaches a log line: raw, a JSON string (ASCII or not), a repr, JSON in JSON, JSON in a repr.
_ENCODINGS = {
    "raw": [],
    "json": [_json],
    "json_unicode": [_json_unicode],
    "repr": [_repr],
    "json_in_json": [_json, _json],
    "json_in_repr": [_json_unicode, _repr],
}
_SECRET_LINES = st.sampled_from(
    [
        "Command:\tPASS {}",
        "> PASS {}",
        "---> PASS {}",
        "*cmd* 'PASS {}'",
        "pass {}",
        "Command:\tPass: {}",
        "password={}",
        "\tpasswd: {}",
        '"password": "{}"',
        "secret={}&user=bob",
    ]
)
# Letters of any script, digits, punctuation and symbols. Not blanks or quotes, nor `,;&`: mask_secrets ends a
# `password=` value there (`password=x&user=bob`), escaped or not. Not `*`, the mask itself.
_UNICODE_PASSWORDS = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S"), exclude_characters="*'\",;&", max_codepoint=0x1FFFF),
    min_size=6,
    max_size=20,
)


def _encode(text: str, encoding: str) -> str:
    for encode in _ENCODINGS[encoding]:
        text = encode(text)
    return text


def _forms(password: str, encoding: str) -> list[str]:
    """The password as it stands in the text after each step of the encoding."""
    forms = [password]
    for encode in _ENCODINGS[encoding]:
        forms.append(encode(forms[-1]))
    return forms


@settings(max_examples=300, deadline=None)
@given(
    password=_UNICODE_PASSWORDS,
    template=_SECRET_LINES,
    encoding=st.sampled_from(sorted(_ENCODINGS)),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_escaped_secret_never_leaks(password: str, template: str, encoding: str, before: str, after: str) -> None:
    forms = _forms(password, encoding)
    context = _encode(f"{before}\n\n{after}", encoding) + template
    assume(not any(form in context for form in forms))
    log = f"{before}\n{template.format(password)}\n{after}"
    line = 'on_message invoked: (message: {"text": "' + _encode(log, encoding) + '"})'

    masked = mask_escaped_secrets(line)
    for form in forms:
        assert form not in masked
    masked.encode("utf-8")  # no lone surrogate from a half-decoded escape
    if encoding != "raw":
        assert "\n" not in masked and "\r" not in masked, "an escaped line must stay one line"


_CLEAN_LINES = [
    "Status:\tConnecting to 10.0.0.1:21...",
    "Response:\t227 Entering Passive Mode (10,0,0,5,195,92).",
    "Command:\tPASS ********",
    "Response:\t530 Please login with USER and PASS.",
    "User name: alice (Password: Yes, Key file: No)",
    "ünïcødé 💥 错误 \\ C:\\new\\table",
    '*cmd* "RETR a\'b"',
]


@given(st.lists(st.sampled_from(_CLEAN_LINES), max_size=12), st.sampled_from(sorted(_ENCODINGS)))
def test_escaped_text_without_secrets_is_kept(lines: list[str], encoding: str) -> None:
    line = "on_message invoked: " + _encode("\n".join(lines), encoding)
    assert mask_escaped_secrets(line) == mask_secrets(line)


@given(st.text(max_size=500))
def test_escaped_masking_never_raises_and_is_stable(text: str) -> None:
    once = mask_escaped_secrets(text)
    assert mask_escaped_secrets(once) == once
