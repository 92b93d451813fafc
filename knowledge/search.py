"""Ranked free-text search over entries: titles, known message texts and names weigh most."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable

from knowledge.base import Entry

_WORD = re.compile(r"[a-z0-9_]+")
_STOP = frozenset(
    "a an and are as at be but by can cannot could did do does for from get got has have how i if in is it "
    "its me my no not of on or so that the then this to was what when why with you your ftp error".split()
)
# How much a word counts by where it stands in an entry.
_FIELD_WEIGHTS = (("title", 3.0), ("messages", 3.0), ("names", 3.0), ("summary", 1.5), ("body", 0.5))
_MIN_SHARE_OF_BEST = 0.45
_CODE_WEIGHT = 1.25


def words(text: str) -> list[str]:
    tokens = _WORD.findall(text.lower().replace("'", ""))
    # Numbers are read by the code parsers; as words they would match "10" in an address to SFTP status 10.
    return [t for t in tokens if len(t) > 1 and t not in _STOP and not t.isdigit()]


def _fields(entry: Entry) -> dict[str, str]:
    return {
        "title": entry.title,
        "messages": " ".join((entry.message, *entry.messages)),
        "names": " ".join((entry.name, *entry.aliases, entry.client)),
        "summary": entry.summary,
        "body": " ".join((entry.details, *entry.causes)),
    }


def _phrases(entry: Entry) -> list[str]:
    texts = (entry.title, entry.message, *entry.messages)
    return [" ".join(words(t)) for t in texts if len(words(t)) >= 2]


# On equal scores, the code itself explains more than one client's wording of it.
_KIND_ORDER = {"ftp-reply": 0, "winsock": 1, "sftp-status": 2, "client-message": 3}


class TextIndex:
    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = list(entries)
        self.postings: dict[str, dict[int, float]] = defaultdict(dict)
        for i, entry in enumerate(self.entries):
            fields = _fields(entry)
            for name, weight in _FIELD_WEIGHTS:
                for word in set(words(fields[name])):
                    postings = self.postings[word]
                    postings[i] = postings.get(i, 0.0) + weight
        self.phrases = [_phrases(e) for e in self.entries]
        total = len(self.entries)
        self.idf = {w: math.log(1 + total / len(p)) for w, p in self.postings.items()}

    def _tie_rank(self, i: int) -> tuple[int, str]:
        entry = self.entries[i]
        return (_KIND_ORDER[entry.kind], entry.id)

    def search(self, text: str, limit: int) -> list[tuple[Entry, float]]:
        query_words = list(dict.fromkeys(words(text)))[:60]
        if not query_words:
            return []
        scores: dict[int, float] = defaultdict(float)
        for word in query_words:
            for i, weight in self.postings.get(word, {}).items():
                scores[i] += weight * self.idf[word]
        if not scores:
            return []
        joined = " ".join(words(text))
        for i in scores:
            phrases = self.phrases[i]
            if joined in phrases:  # the whole query is this entry's title or message
                scores[i] *= 3.0
            elif any(p in joined or joined in p for p in phrases):
                scores[i] *= 2.0
        for i in scores:  # a code explains more than one client's wording of it, unless that wording was quoted
            if self.entries[i].kind != "client-message":
                scores[i] *= _CODE_WEIGHT
        best = max(scores.values())
        # One common word alone ("mode") is not a match worth showing.
        if best < 3.0:
            return []
        ranked = sorted(scores.items(), key=lambda item: (-round(item[1], 6), self._tie_rank(item[0])))
        return [(self.entries[i], s) for i, s in ranked[:limit] if s >= best * _MIN_SHARE_OF_BEST]
