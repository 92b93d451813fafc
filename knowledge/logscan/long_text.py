"""Searches in a long text (a pasted log of megabytes) that neither read it more than once nor copy it whole."""

from __future__ import annotations

from collections.abc import Sequence

_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")


class LatestMark:
    """body.rfind(mark, 0, pos) for positions that never decrease, each occurrence found once going forward
    (rfind from each of 10,000 replies read 16 MB back to their sessions' notes)."""

    def __init__(self, body: str, mark: str) -> None:
        self.body, self.mark = body, mark
        self.latest, self.upcoming = -1, body.find(mark)

    def moves(self, pos: int) -> bool:
        """Whether before(pos) would find a later mark than the last answer."""
        return 0 <= self.upcoming <= pos - len(self.mark)

    def before(self, pos: int) -> int:
        while self.moves(pos):
            self.latest, self.upcoming = self.upcoming, self.body.find(self.mark, self.upcoming + 1)
        return self.latest


def rfind_lowered(text: str, word: str, end: int, window: int = 1 << 16, start: int = 0) -> int:
    """text.lower().rfind(word, start, end) for ASCII text (`word` in lower case), lowering a window at a time
    from `end` back: the last USER of a stretch of megabytes is near its end."""
    window = max(window, len(word))
    while True:
        window_start = max(start, end - window)
        found = text[window_start:end].lower().rfind(word)
        if found >= 0:
            return window_start + found
        if window_start == start:
            return -1
        end = window_start + len(word) - 1  # a word across the window's start is in the next one


def fewer_lines(body: str, start: int, stop: int, n: int) -> bool:
    """body.count("\n", start, stop) < n, without counting all of a stretch of megabytes."""
    window_end = min(stop, start + 256 * n)
    if body.count("\n", start, window_end) >= n:
        return False
    return window_end >= stop or body.count("\n", start, stop) < n


def zero_digits(text: str) -> bytes:
    """ASCII `text` as bytes with its digits made 0s (positions stay)."""
    return text.encode("ascii").translate(_DIGITS_TO_ZERO)


def count_zeroed(text: str, needles: Sequence[bytes], start: int, stop: int, chunk: int = 1 << 18) -> list[int]:
    """[zero_digits(text).count(needle, start, stop) for needle in needles] for needles that cannot overlap
    themselves (each starts with a byte it holds nowhere else), a chunk at a time: two copies of a 10 MB log
    (encoded, translated) cost ~18 ms in a scan, page faults included, where chunks reuse their memory."""
    counts = [0] * len(needles)
    overlap = max(map(len, needles), default=1) - 1
    for at in range(start, stop, chunk):
        piece = zero_digits(text[at : min(at + chunk + overlap, stop)])
        for i, needle in enumerate(needles):
            counts[i] += piece.count(needle, 0, chunk + len(needle) - 1)  # the occurrences starting in the chunk
    return counts
