"""Masks secrets in pasted logs: PASS arguments, passwords in URLs and option-style `password=...` values.

Every secret becomes `****`, so masking twice gives the same text, and newlines are never touched, so line
numbers stay valid. The patterns start with a literal (`PASS`, `ass`, `://`) because the regex engine then
skips through a multi-megabyte log at memchr speed; the letter before the literal is checked in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "****"

_REST_OF_LINE = r"(:?[ \t]+)(?=[^\s])([^\r\n]*?)(['\"]?)[ \t]*(?=\r?$)"
# `PASS secret` as every client writes it: `> PASS x`, `---> PASS x`, `*cmd* 'PASS x'`, `Command:\tPASS x`,
# vsftpd's `"PASS x"`. The argument runs to the end of the line (passwords may hold spaces and quotes); the
# closing quote of a Python repr() or a vsftpd log line stays.
_PASS_UPPER = re.compile("PASS" + _REST_OF_LINE, re.M)
# `pass x` / `Pass: x` in lower or mixed case, only where a command stands: at the start of the line,
# after a marker (`>`, `--->`) or a label (`Command:`).
_PASS_LOWER = re.compile("ass" + _REST_OF_LINE, re.M)
# IIS logs "PASS *** 530 1326 ..." - the password is already hidden and the columns after it matter.
_ALREADY_MASKED = re.compile(r"\*+[ \t]+\d{3}[ \t]")
_COMMAND_POSITION = re.compile(r"[ \t]*(?:[<>*.!-]+[ \t]*|[A-Za-z]+:[ \t]*)?")
_URL_USERINFO = re.compile(r"(://[^/\s:@'\"<>]*):([^@\s/'\"<>]+)@")
_VALUE = (
    r"(['\"]?[ \t]*[=:][ \t]*)(?!(?:[Yy]es|[Nn]o|YES|NO|[Tt]rue|[Ff]alse|\*+)\b)"
    r"(\"[^\"\r\n]*\"|'[^'\r\n]*'|[^\s,;&'\"]+)"
)
# (pattern, letters allowed right before the match) for password=..., passwd: ..., pwd=..., secret=...
_KEY_VALUES = (
    (re.compile("ass(?:word|wd|phrase)?" + _VALUE), "Pp"),
    (re.compile("ASS(?:WORD|WD|PHRASE)?" + _VALUE), "P"),
    (re.compile("wd" + _VALUE), "Pp"),
    (re.compile("WD" + _VALUE), "P"),
    (re.compile("ecret" + _VALUE), "Ss"),
    (re.compile("ECRET" + _VALUE), "S"),
)
# curl -u user:pw, --user user:pw, lftp -u user,pw
_USER_OPTION = re.compile(r"((?<!\S)(?:-u|--user)[ \t]+[^\s:,]+[:,])(\S+)")


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _mask_argument(before: str, separator: str, argument: str, quote: str) -> str:
    """`argument` + `quote` is the rest of the line after PASS; `before` the character in front of PASS."""
    if _ALREADY_MASKED.match(argument):
        return f"{separator}{argument}{quote}"
    if before in "'\"":
        rest = argument + quote
        end = rest.rfind(before)
        if end >= 0:  # "PASS x" 230 - (ProFTPD), *cmd* 'PASS x' (ftplib): mask up to the closing quote
            return f"{separator}{MASK}{rest[end:]}"
    return f"{separator}{MASK}{quote}"


def _mask_pass_upper(m: re.Match[str]) -> str:
    start = m.start()
    before = m.string[start - 1] if start else ""
    if before and _word_char(before):
        return m.group(0)  # inside a longer word: BYPASS, SURPASS
    return "PASS" + _mask_argument(before, m.group(1), m.group(2), m.group(3))


def _mask_pass_lower(m: re.Match[str]) -> str:
    text, start = m.string, m.start()
    if start == 0 or text[start - 1] not in "Pp":
        return m.group(0)
    line_start = text.rfind("\n", 0, start) + 1
    if not _COMMAND_POSITION.fullmatch(text, line_start, start - 1):
        return m.group(0)  # prose such as "I pass the file"
    before = text[start - 2] if start >= 2 else ""
    return "ass" + _mask_argument(before, m.group(1), m.group(2), m.group(3))


def _key_value_masker(letters: str) -> Callable[[re.Match[str]], str]:
    def mask(m: re.Match[str]) -> str:
        text, start = m.string, m.start()
        if start == 0 or text[start - 1] not in letters or (start > 1 and text[start - 2].isalpha()):
            return m.group(0)
        value = m.group(2)
        masked = f"{value[0]}{MASK}{value[0]}" if value[0] in "\"'" else MASK
        return m.group(0)[: m.start(2) - start] + masked

    return mask


_KEY_VALUE_MASKERS = tuple((pattern, _key_value_masker(letters)) for pattern, letters in _KEY_VALUES)


# The password a log shows before it is masked, when the client printed it ("> PASS 'x§y'"): quotes around it,
# %-escapes or characters outside ASCII mean a special character may have been mangled on the way.
_PASS_SHOWN = re.compile(r"(?<![A-Za-z])PASS[ \t]+([^\r\n]+)")
_MASKED_ALREADY = re.compile(r"\**(?:HIDDEN|hidden)?\**\)?$|\(hidden\)")


def odd_password(head: str) -> bool:
    """True when a PASS argument in `head` (unmasked text) is quoted, %-escaped or not ASCII."""
    if "PASS" not in head:
        return False
    for m in _PASS_SHOWN.finditer(head):
        argument = m.group(1).strip()
        if not argument or _MASKED_ALREADY.match(argument):
            continue
        if argument[0] in "'\"" and len(argument) > 2 and argument[-1] == argument[0]:
            return True
        if not argument.isascii() or re.search(r"%[0-9A-Fa-f]{2}", argument):
            return True
    return False


def mask_secrets(text: str) -> str:
    """Returns `text` with passwords replaced by `****`; everything else, line breaks included, is kept."""
    if "PASS" in text:
        text = _PASS_UPPER.sub(_mask_pass_upper, text)
    text = _PASS_LOWER.sub(_mask_pass_lower, text)
    if "://" in text:
        text = _URL_USERINFO.sub(rf"\1:{MASK}@", text)
    for pattern, masker in _KEY_VALUE_MASKERS:
        text = pattern.sub(masker, text)
    if "-u" in text:
        text = _USER_OPTION.sub(rf"\1{MASK}", text)
    return text
