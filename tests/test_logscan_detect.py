"""detect_format searches most signatures from newline to newline, and looks for the branches of some before it
counts them; the counts must be those of the ^ patterns.
The SFTP marks are searched one branch at a time; they must be found where the whole pattern is."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.logscan import detect, summary

LOGS = Path(__file__).parent / "logs"
# lines of every format the tests hold, at times with their first characters cut off or more put before them
_LOG_LINES = sorted({line for path in LOGS.rglob("*.log") for line in path.read_text(errors="replace").splitlines()})
# what the signatures look for, to stand anywhere in a line (the unanchored branches too)
_MARKS = st.sampled_from(
    ["FTP Session 7 203.0.113.5 [", "proftpd[12]", "sshd[1]: ", "(000001)", "[Error] ", "Status:", "---> PASV",
     "230 ok", "* Trying ", "> USER a", "#Fields: cs-method", "error_perm: ", "Connected to a.", "ftp> "]
)  # fmt: skip
_LINES = st.one_of(
    st.builds(
        lambda before, mark, after: before + mark + after,
        st.sampled_from(["", "x ", "\n"]),
        _MARKS,
        st.sampled_from(["", "\n230 ok", " x"]),
    ),
    st.sampled_from(_LOG_LINES),
    st.builds(lambda line, cut: line[cut:], st.sampled_from(_LOG_LINES), st.integers(1, 12)),
    st.builds(str.__add__, st.sampled_from(["x ", "12 ", " ", "*"]), st.sampled_from(_LOG_LINES)),
    st.text(alphabet=st.sampled_from("*<>-#[]( :\t\\1ab"), max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_LINES, max_size=40), newline_first=st.booleans())
def test_signatures_count_the_same_from_newlines(lines, newline_first):
    head = "\n" * newline_first + "\n".join(lines)
    for (name, pattern, _weight), search in zip(detect._SIGNATURES, detect._SEARCHES, strict=True):
        assert detect._count(search, head, "\n" + head) == len(pattern.findall(head)), (name, pattern.pattern)


# what each branch of the SFTP marks looks for, whole or nearly
_SFTP_MARK_TEXTS = (
    "fzSftp", "Using SFTP protocol", "SSH_FX", "SSH_FXP_OPEN", "sftp>", "Error code: 3", "Error code: 3x",
     "Error message from server: ", "sshd[12]", "sshd[]", '"protocol": "sftp"', "Permission denied (publickey",
     "Permission denied (", "Authentication that can continue", "Command:\tpwd", "Command: ls", "Command:\tls x",
     "10:00:01 Status:\tConnected to h", "2024-05-01 10:00:01 Status:\tUsing username ", "Status:\tConnected to ",
     "Received too large (12 B) SFTP packet", "Network error: Connection to \"h\" ", "Cannot initialize SFTP protocol",
     "Opened channel for session", "Server sent command exit status",
     "subsystem request for sftp", "internal-sftp", "Remote version: SSH-", "Session protocol: SFTP", "[SFTP]",
     "File protocol: SFTP", "Transfer Protocol: SFTP", "No supported authentication methods", "Server refused our key",
     "Host key verification failed", "Status: Current directory is", "Status: Listing directory /"
)  # fmt: skip


_SFTP_MARKS = st.builds(str.__add__, st.sampled_from(["", "x ", "\n"]), st.sampled_from(_SFTP_MARK_TEXTS))


@pytest.mark.parametrize("head", [before + mark for mark in _SFTP_MARK_TEXTS for before in ("", "x ", "\n")])
def test_each_sftp_mark_found_alone_where_the_whole_pattern_finds_it(head):
    assert summary._sftp_marked(head) == bool(summary._SFTP_MARKS.search(head))


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.one_of(_LINES, _SFTP_MARKS), max_size=30))
def test_sftp_marks_found_one_branch_at_a_time_where_the_whole_pattern_is(lines):
    for head in ("\n".join(lines), *lines):  # each line alone too: in a long head one mark hides the others
        assert summary._sftp_marked(head) == bool(summary._SFTP_MARKS.search(head)), head
