"""detect_format searches most signatures from newline to newline; the counts must be those of the ^ patterns."""

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.logscan import detect

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
    for (name, pattern, _weight), (_, search, _, from_newline) in zip(
        detect._SIGNATURES, detect._SEARCHES, strict=True
    ):
        found = search.findall("\n" + head if from_newline else head)
        assert len(found) == len(pattern.findall(head)), (name, pattern.pattern)
