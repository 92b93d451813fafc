"""FTP protocol facts every parser and rule shares (RFC 959, RFC 2428): command verbs, the reply line, the
data-connection commands and the decoding of PASV/PORT and EPSV/EPRT addresses."""

from __future__ import annotations

import re

FTP_VERBS = frozenset(
    "ABOR ACCT ADAT ALLO APPE AUTH CCC CDUP CLNT CONF CWD DELE ENC EPRT EPSV FEAT HELP HOST LANG LIST MDTM "
    "MFMT MIC MKD MLSD MLST MODE NLST NOOP OPTS PASS PASV PBSZ PORT PROT PWD QUIT REIN REST RETR RMD RNFR RNTO "
    "SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD XPWD XRMD".split()
)
# A reply: exactly three digits, then a space, a hyphen or the end of the line ("4660/P5" is no reply).
REPLY_LINE = r"[1-6]\d\d(?:[ -][^\n]*|[ \t]*(?=\n|\Z))"
# The code at the start of a reply, and "-" when the reply goes on over more lines (RFC 959 4.2).
REPLY_CODE = re.compile(r"([1-6]\d\d)(?=[ -]|$)(-?)")
DATA_SETUP = frozenset(("PASV", "EPSV", "PORT", "EPRT", "LPSV", "LPRT"))
DATA_COMMANDS = frozenset(("LIST", "NLST", "MLSD", "RETR", "STOR", "STOU", "APPE"))
# h1,h2,h3,h4,p1,p2 of a 227 reply or a PORT command
HOST_PORT_NUMBERS = re.compile(r"(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3}),\s*(\d{1,3})")
EPRT_ARGUMENT = re.compile(r"\|[12]\|([0-9A-Fa-f.:]+)\|(\d+)\|")
EPSV_PORT = re.compile(r"\(\|\|\|(\d+)\|\)")


def verb(command: str | None) -> str | None:
    """The command's first word in upper case, None for no command."""
    if not command:
        return None
    return command.split(None, 1)[0].upper()


def decode_pasv(text: str) -> tuple[str, int] | None:
    """(address, port) of a 227 reply or a PORT argument: h1.h2.h3.h4 and p1*256+p2."""
    m = HOST_PORT_NUMBERS.search(text)
    if not m:
        return None
    parts = [int(g) for g in m.groups()]
    if any(p > 255 for p in parts):
        return None
    return ".".join(map(str, parts[:4])), parts[4] * 256 + parts[5]


def decode_eprt(text: str) -> tuple[str, int] | None:
    """(address, port) of an EPRT argument |1|address|port|."""
    m = EPRT_ARGUMENT.search(text)
    return (m.group(1), int(m.group(2))) if m else None
