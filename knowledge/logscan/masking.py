"""Masks secrets in pasted logs: PASS arguments, passwords in URLs and option-style `password=...` values.

Every secret becomes `****`, so masking twice gives the same text, and newlines are never touched, so line
numbers stay valid. The patterns start with a literal (`PASS`, `ass`, `://`) because the regex engine then
skips through a multi-megabyte log at memchr speed; the letter before the literal is checked in Python.
mask_escaped_secrets finds the same secrets in escaped text (JSON, a Python repr), for the bot's logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "****"

# The rest of the line, to a CR or LF: a greedy run, which the engine scans much faster than a lazy one on a long
# line (a JSON document in a log record is one line); its closing quote and blanks are split off in Python.
_REST_OF_LINE = r"(:?[ \t]+)(?=[^\s])([^\r\n]*)"
# `PASS secret` as every client writes it: `> PASS x`, `---> PASS x`, `*cmd* 'PASS x'`, `Command:\tPASS x`,
# vsftpd's `"PASS x"`. The argument runs to the end of the line (passwords may hold spaces and quotes); the
# closing quote of a Python repr() or a vsftpd log line stays.
# Inside a longer word (BYPASS, SURPASS) it is no command, and the match does not end the search on that line.
# An argument that is MASK alone is left as it is: the callback would write it back unchanged.
_PASS_UPPER = re.compile(r"PASS(?<!\wPASS)(:?[ \t]+)(?=[^\s])(?!\*\*\*\*(?:[\r\n]|\Z))([^\r\n]*)", re.M)
# curl -v's `> PASS x` with no closing quote or masked IIS columns: _mask_pass_upper would write `> PASS ****`
# (the line holds no PASS before this one, and a "> " line is no W3C row), so a fixed string replaces it in C,
# without a Python call for each line (a curl log has one a session; a group reference would cost such a call).
_CURL_PASS = re.compile(r"\n> PASS (?=[^\s])(?!\*+[ \t]+\d{3}[ \t])[^\r\n]*[^\s'\"][ \t]*(?=[\r\n]|\Z)")
# `pass x` / `Pass: x` in lower or mixed case, only where a command stands: at the start of the line,
# after a marker (`>`, `--->`) or a label (`Command:`).
_PASS_LOWER = re.compile("ass" + _REST_OF_LINE, re.M)
# IIS logs "PASS *** 530 1326 ..." - the password is already hidden and the columns after it matter.
_ALREADY_MASKED = re.compile(r"\*+[ \t]+\d{3}[ \t]")
# ... but an anonymous login's password in clear ("PASS IEUser@ 530 1326 42 <session> -"): in a W3C row (time,
# then space-separated fields, no "Label:") the password is one field (IIS writes its spaces as "+") and the
# status columns after it stay.
_W3C_BEFORE_PASS = re.compile(r"(?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d (?:\S*[^:\s] )+(?:\[\d+\])?")
_W3C_AFTER_PASSWORD = re.compile(r"[ \t]+\S+([ \t]+(?:\d{3}|-)(?:[ \t][^\r\n]*)?)$")
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
# What _USER_OPTION needs (it starts with a lookbehind, so the engine cannot search for its literal itself). A
# regex, not `"-u " in text or ...`: str.__contains__ with a needle of several characters runs at about 1 GB/s,
# the engine's literal search some 2-3 times faster, and a 10 MB log paid for three such scans.
_USER_OPTION_MARK = re.compile(r"-(?:u[ \t]|-user)")


def _mask_argument(before: str, separator: str, rest: str) -> str:
    """`rest` is the rest of the line after PASS; `before` the character in front of PASS."""
    rest = rest.rstrip(" \t")
    quote = rest[-1] if rest[-1:] in ("'", '"') else ""  # the closing quote of a repr() or a vsftpd line stays
    if _ALREADY_MASKED.match(rest):
        return f"{separator}{rest}"
    if before in "'\"":
        end = rest.rfind(before)
        if end >= 0:  # "PASS x" 230 - (ProFTPD), *cmd* 'PASS x' (ftplib): mask up to the closing quote
            return f"{separator}{MASK}{rest[end:]}"
    return f"{separator}{MASK}{quote}"


def _mask_pass_upper(m: re.Match[str]) -> str:
    if not m.group(2).strip("*"):  # stars alone (FileZilla's own mask): what every way below writes
        return f"PASS{m.group(1)}{MASK}"
    return _mask_pass_command(m)


def _mask_pass_command(m: re.Match[str]) -> str:
    start = m.start()
    text = m.string
    before = text[start - 1] if start else ""
    line_start = text.rfind("\n", 0, start) + 1
    if before in " ]" and _W3C_BEFORE_PASS.fullmatch(text, line_start, start):
        columns = _W3C_AFTER_PASSWORD.match(m.group(1) + m.group(2))
        if columns is not None and not _ALREADY_MASKED.match(m.group(2)):
            return f"PASS{m.group(1)}{MASK}{columns.group(1)}"
    return "PASS" + _mask_argument(before, m.group(1), m.group(2))


def _mask_pass_lower(m: re.Match[str]) -> str:
    text, start = m.string, m.start()
    if start == 0 or text[start - 1] not in "Pp":
        return m.group(0)
    line_start = text.rfind("\n", 0, start) + 1
    if not _COMMAND_POSITION.fullmatch(text, line_start, start - 1):
        return m.group(0)  # prose such as "I pass the file"
    before = text[start - 2] if start >= 2 else ""
    return "ass" + _mask_argument(before, m.group(1), m.group(2))


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
        if "\n> PASS" in text[:65536]:  # only a shortcut: the general pass below gives the same text
            text = _CURL_PASS.sub(f"\n> PASS {MASK}", text)
        text = _PASS_UPPER.sub(_mask_pass_upper, text)
    text = _PASS_LOWER.sub(_mask_pass_lower, text)
    if "/" in text:  # one character: found at memchr speed; the substitution searches for "://" itself
        text = _URL_USERINFO.sub(rf"\1:{MASK}@", text)
    for pattern, masker in _KEY_VALUE_MASKERS:
        text = pattern.sub(masker, text)
    if _USER_OPTION_MARK.search(text):
        text = _USER_OPTION.sub(rf"\1{MASK}", text)
    return text


# One escape of JSON or a Python repr: \n, \t, \", \\, \u00e9, \U0001f600, \x07 ...
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)", re.S)
_COMMON_ESCAPES = (("\\n", "\n"), ("\\r", "\r"), ("\\t", "\t"), ('\\"', '"'), ("\\'", "'"), ("\\/", "/"))
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\", "/": "/"}
_HIGH_LOW_SURROGATES = re.compile("([\ud800-\udbff])([\udc00-\udfff])")
# What may not stand raw in a log line: line breaks, other control characters, lone surrogates.
_UNSAFE_IN_A_LINE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_ESCAPE_LEVELS = 3  # a JSON string inside JSON inside a repr: slack_sdk logs request bodies that way


def _unescape_one(m: re.Match[str]) -> str:
    code = m.group(1)
    if len(code) == 1:
        return _SIMPLE_ESCAPES.get(code, m.group(0))
    point = int(code[1:], 16)
    return chr(point) if point <= 0x10FFFF else m.group(0)


def _join_surrogates(m: re.Match[str]) -> str:
    return chr(0x10000 + (ord(m[1]) - 0xD800) * 0x400 + ord(m[2]) - 0xDC00)


def _unescape(text: str) -> str:
    """One level of escapes decoded; JSON's \\ud83d\\ude00 becomes one character."""
    if "\\\\" not in text:  # every backslash starts an escape: the common ones go at C speed
        for escape, char in _COMMON_ESCAPES:
            if escape in text:
                text = text.replace(escape, char)
        if "\\" not in text:
            return text
    return _HIGH_LOW_SURROGATES.sub(_join_surrogates, _ESCAPE.sub(_unescape_one, text))


def _one_line(text: str) -> str:
    """`text` with line breaks, tabs, other control characters and lone surrogates escaped."""
    for escape, char in _COMMON_ESCAPES[:3]:
        text = text.replace(char, escape)
    return _UNSAFE_IN_A_LINE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def mask_escaped_secrets(text: str) -> str:
    """mask_secrets for text that may hold escaped text: a JSON document (slack_sdk logs Socket Mode envelopes
    raw at DEBUG), a Python repr. There `Command:\\tPASS x` and `\\npassword=x` escape mask_secrets, which sees
    the `t` and `n` of the escapes as letters.

    Text without a secret behind an escape comes back as mask_secrets gives it. Otherwise the escapes are decoded
    (up to three levels deep), the secrets masked, and line breaks, tabs and other control characters escaped
    again, so the result is still one line; quotes and backslashes then stay decoded.
    """
    masked = mask_secrets(text)
    if "\\" not in masked:
        return masked
    current, hidden = masked, False
    for _ in range(_ESCAPE_LEVELS):
        decoded = _unescape(current)
        if decoded == current:
            break
        current = mask_secrets(decoded)
        # `PASS ********` becomes `PASS ****`: no secret was behind that escape
        hidden = hidden or (current != decoded and current.replace("*", "") != decoded.replace("*", ""))
        if "\\" not in current:
            break
    return _one_line(current) if hidden else masked
