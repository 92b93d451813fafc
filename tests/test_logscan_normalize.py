"""normalize's shortcuts: Markdown-wrapped lines looked for with three searches that start with a literal (they
must find a line where the one pattern does), the end of a stripped text found in its last 4 KiB."""

from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge.logscan import normalize

_PIECES = st.sampled_from(["`", "``", "```", "*", "**", "***", " ", "\t", "\n", "a", ">", "PASS ********", "x`", "x**"])


@settings(max_examples=1000, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=12))
def test_wrapped_line_found_where_the_pattern_finds_one(pieces):
    head = "".join(pieces)
    assert normalize._wrapped_line(head) == bool(normalize._WRAPPED_LINE.search(head))


@given(text=st.text(alphabet=st.sampled_from(' \t\n\u3000"a'), max_size=40), window=st.integers(1, 12))
def test_stripped_end_is_the_length_of_the_stripped_text(text, window):
    assert normalize._stripped_end(text, window) == len(text.rstrip())
