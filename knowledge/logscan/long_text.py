"""Searches in a long text (a pasted log of megabytes) that neither read it more than once nor copy it whole."""

from __future__ import annotations


class LatestMark:
    """body.rfind(mark, 0, pos) for positions that never decrease, each occurrence found once going forward
    (rfind from each of 10,000 replies read 16 MB back to their sessions' notes)."""

    def __init__(self, body: str, mark: str) -> None:
        self.body, self.mark = body, mark
        self.latest, self.upcoming = -1, body.find(mark)

    def before(self, pos: int) -> int:
        while 0 <= self.upcoming <= pos - len(self.mark):
            self.latest, self.upcoming = self.upcoming, self.body.find(self.mark, self.upcoming + 1)
        return self.latest


def rfind_lowered(text: str, word: str, end: int, window: int = 1 << 16) -> int:
    """text.lower().rfind(word, 0, end) for ASCII text (`word` in lower case), lowering a window at a time from
    `end` back: the last USER of a stretch of megabytes is near its end."""
    window = max(window, len(word))
    while True:
        start = max(0, end - window)
        found = text[start:end].lower().rfind(word)
        if found >= 0:
            return start + found
        if start == 0:
            return -1
        end = start + len(word) - 1  # a word across the window's start is in the next one


def fewer_lines(body: str, start: int, stop: int, n: int) -> bool:
    """body.count("\n", start, stop) < n, without counting all of a stretch of megabytes."""
    window_end = min(stop, start + 256 * n)
    if body.count("\n", start, window_end) >= n:
        return False
    return window_end >= stop or body.count("\n", start, stop) < n
