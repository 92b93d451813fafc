"""Feedback on answers: what an answer was about, the signed values its vote buttons carry, and the one-way
hash that stands for a user in the stored rows.

No user id is stored with feedback. A user is stored as HMAC-SHA256(key, user id): the key comes from
FTPCODE_FEEDBACK_SECRET (or its _FILE) or, when that is not set, is a random key the bot keeps in its database.
Slack user ids are few and guessable, so a bare hash of one could be reversed by trying every member's id; the
keyed hash cannot be, by anyone without the key.

A vote button carries what the answer was about, signed with a key derived from the same secret: a value the
bot did not issue (a forged or edited payload) is refused, and a vote is counted once per user and answer by the
database (a unique index), so a replayed click changes nothing. Since 2026-12 the value is one line,
`u|answer id|issued|channel type|kind|subject|entries|MAC` (`d|…` for "No"), with a keyed BLAKE2b as its MAC;
buttons posted before carry signed JSON, which is still read (read_vote).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from knowledge.logscan import mask_secrets

QUERY_CHARS = 200
COMMENT_CHARS = 1000
CHANNEL_TYPES = ("command", "shortcut", "channel", "dm")
VOTES = ("up", "down")
_SPACE = re.compile(r"\s+")
_ANSWER_ID = re.compile(r"[A-Za-z0-9_-]{8,32}")
_SUBJECT = re.compile(r"[a-z0-9][a-z0-9._:-]{0,99}")
# One encoder for what is signed: json.dumps with arguments makes a new encoder on every call (3.9 against 3.3 us).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


USER_HASHES_KEPT = 4096


class FeedbackKeys:
    """The keys derived from one secret: one hashes user ids, one signs what vote buttons carry, one what other
    buttons and forms carry."""

    def __init__(self, secret: bytes) -> None:
        # HMAC states keyed once, copied for each message: half the cost of keying anew on the acknowledgement path
        self._user = hmac.new(hmac.new(secret, b"ftpcode: user id", hashlib.sha256).digest(), digestmod="sha256")
        self._sign = hmac.new(hmac.new(secret, b"ftpcode: feedback value", hashlib.sha256).digest(), digestmod="sha256")
        self._vote = hmac.new(secret, b"ftpcode: vote value", hashlib.sha256).digest()
        # The same people ask again and again; each answer's row needs its asker's hash (3-4 us of HMAC a row).
        self._user_hashes: dict[str, str] = {}

    def user_hash(self, user_id: str) -> str:
        """128 bits of HMAC-SHA256 of the user id, in hex: the same user always gets the same hash."""
        known = self._user_hashes.get(user_id)
        if known is None:
            keyed = self._user.copy()
            keyed.update(user_id.encode())
            if len(self._user_hashes) >= USER_HASHES_KEPT:
                self._user_hashes.clear()
            known = self._user_hashes[user_id] = keyed.hexdigest()[:32]
        return known

    def _mac(self, text: str) -> str:
        keyed = self._sign.copy()
        keyed.update(text.encode())
        return base64.urlsafe_b64encode(keyed.digest()[:12]).decode().rstrip("=")

    @staticmethod
    def _text(fields: dict[str, Any]) -> str:
        """What is signed: the fields as compact JSON, in their order (a reordered value does not verify)."""
        return _COMPACT.encode(fields)

    def sign(self, fields: dict[str, Any]) -> str:
        """`fields` (not empty) as compact JSON with its signature under "h"."""
        text = self._text(fields)
        return f'{text[:-1]},"h":"{self._mac(text)}"}}'

    def verify(self, raw: Any, unsigned: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """The fields of a value `sign` made, or None for anything else (forged, edited, not JSON). Fields in
        `unsigned` are returned but not part of the signature."""
        if not isinstance(raw, str) or len(raw) > 3000:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("h"), str):
            return None
        given = data.pop("h")
        loose = {key: data.pop(key) for key in unsigned if key in data}
        if not data or not hmac.compare_digest(given, self._mac(self._text(data))):
            return None
        return {**data, **loose}

    def vote_mac(self, text: str) -> str:
        """The MAC of a vote value's signed part: one call, against an HMAC's copy, update and digest (the
        acknowledgement of every answer makes one)."""
        return hashlib.blake2b(text.encode(), key=self._vote, digest_size=12).hexdigest()

    def answer_values(self, answered: Answered) -> tuple[str, str]:
        """The values of 👍 and 👎: the answer's fields, signed once, and which way the vote goes. The way is not
        signed: whoever could change it could as well press the other button."""
        tail = vote_tail(answered)[0]
        head, mac = self._signed(answered, tail)
        value = f"{head}{tail}|{mac}"
        return f"u|{value}", f"d|{value}"

    def answer_value_in_json(self, answered: Answered) -> str | None:
        """answer_values' value after its way ("u|"), as it stands inside a JSON string; None when the answer's id
        is not one new_answer_id makes. What changes from answer to answer (the id, the time, the MAC) needs no
        escaping, and the rest is escaped once for each kind of answer (vote_tail)."""
        if not _ANSWER_ID.fullmatch(answered.answer_id):
            return None
        tail, tail_in_json = vote_tail(answered)
        head, mac = self._signed(answered, tail)
        return f"{head}{tail_in_json}|{mac}"

    def _signed(self, answered: Answered, tail: str) -> tuple[str, str]:
        """A vote value's start (the answer's id and time), and the MAC of it followed by `tail`."""
        head = f"{answered.answer_id}|{answered.issued or int(time.time())}"
        return head, self.vote_mac(head + tail)


def new_secret() -> str:
    return secrets.token_hex(32)


# Answer ids need to be unique, not secret (what a button carries is signed). Each starts with the time in ms, in
# a base64 alphabet in ASCII order, so ids sort by time and an answer's row goes in at the end of the feedback
# table's indexes. Random ids spread the inserts over every page of two indexes: with 40,000 rows in the table
# a row cost 74-83 us of CPU to write, against 21-36 us with ids in time order. The rest is random, from a
# generator seeded once from the system's randomness, so the acknowledgement path makes no system call for one.
_IDS = random.Random(secrets.randbits(128))
_SORTED_BASE64 = bytes.maketrans(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
)


def new_answer_id(now_ns: int | None = None) -> str:
    """16 characters: 48 bits of the time in ms, 48 random bits."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    raw = ((ms & 0xFFFF_FFFF_FFFF) << 48 | _IDS.getrandbits(48)).to_bytes(12, "big")
    return base64.urlsafe_b64encode(raw).translate(_SORTED_BASE64).decode()


def clean_query(text: str) -> str:
    """What is stored of a query: passwords masked, whitespace folded, at most QUERY_CHARS characters."""
    return _clean_short_query(text) if len(text) <= QUERY_CHARS else _clean_query(text)


def _clean_query(text: str) -> str:
    return _SPACE.sub(" ", mask_secrets(text)).strip()[:QUERY_CHARS]


# The same few queries (`425`, `530`) come again and again, and masking runs eight patterns over each.
_clean_short_query = lru_cache(maxsize=256)(_clean_query)


def clean_comment(text: str) -> str:
    """What is stored of a comment: control characters gone, at most COMMENT_CHARS characters; escaped on display."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", mask_secrets(text))
    return text.strip()[:COMMENT_CHARS]


class Answered(NamedTuple):
    """What one answer was about: enough to record it, and to vote on it later. (A named tuple: one is made for
    every answer in an acknowledgement, in a third of a frozen dataclass's time.)"""

    answer_id: str
    subject: str  # the knowledge entry (ftp-425) or scan finding (passive-private-address) answered
    kind: str  # "entry" or "finding"
    channel_type: str  # one of CHANNEL_TYPES
    query: str  # clean_query() of what was asked
    entries: tuple[str, ...] = ()  # the entries the answer showed, to draw a private answer again after a vote
    issued: int = 0  # time.time() when answered, in seconds


def vote_tail(answered: Answered) -> tuple[str, str]:
    """The end of an answer's vote value after its id and time (`|channel type|kind|subject|entries`), and the
    same as it stands inside a JSON string."""
    return _vote_tail(answered.channel_type, answered.kind, answered.subject, answered.entries)


@lru_cache(maxsize=1024)
def _vote_tail(channel_type: str, kind: str, subject: str, entries: tuple[str, ...]) -> tuple[str, str]:
    tail = f"|{channel_type}|{kind}|{subject}|{','.join(entries)[:400]}"
    return tail, json.dumps(tail)[1:-1]


@dataclass(frozen=True)
class Vote:
    """A vote button's value, verified: the answer it is about and which way it goes."""

    answer_id: str
    subject: str
    kind: str
    channel_type: str
    issued: int
    vote: str
    entries: tuple[str, ...]

    def to_payload(self) -> dict[str, Any]:
        return {
            "answer_id": self.answer_id,
            "subject": self.subject,
            "kind": self.kind,
            "channel_type": self.channel_type,
            "issued": self.issued,
            "vote": self.vote,
            "entries": list(self.entries),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Vote:
        return cls(
            data["answer_id"],
            data["subject"],
            data["kind"],
            data["channel_type"],
            int(data["issued"]),
            data["vote"],
            tuple(data.get("entries") or ()),
        )


def read_vote(keys: FeedbackKeys, raw: Any) -> Vote | None:
    """The vote a button value holds, or None when the value is not one the bot signed, or makes no sense."""
    if not isinstance(raw, str) or len(raw) > 3000:
        return None
    if raw[1:2] != "|":
        return _read_json_vote(keys, raw)
    parts = raw.split("|")
    if len(parts) != 8 or not raw.isascii():  # compare_digest takes ASCII text only
        return None
    way, answer_id, issued, channel_type, kind, subject, entries, mac = parts
    if not hmac.compare_digest(mac, keys.vote_mac(raw[2 : -len(mac) - 1])) or not _ISSUED.fullmatch(issued):
        return None
    return _vote(answer_id, subject, kind, channel_type, int(issued), _WAYS.get(way), entries)


_WAYS = {"u": "up", "d": "down"}
_ISSUED = re.compile(r"[0-9]{1,15}")


def _read_json_vote(keys: FeedbackKeys, raw: str) -> Vote | None:
    """A value as buttons carried it before the one-line form: signed JSON, the way under "v"."""
    data = keys.verify(raw, unsigned=("v",))
    if data is None:
        return None
    issued = data.get("t")
    if not isinstance(issued, int):
        return None
    return _vote(data.get("a"), data.get("s"), data.get("k"), data.get("c"), issued, data.get("v"), data.get("m", ""))


def _vote(
    answer_id: Any, subject: Any, kind: Any, channel_type: Any, issued: int, vote: Any, entries: Any
) -> Vote | None:
    if not (isinstance(answer_id, str) and _ANSWER_ID.fullmatch(answer_id)):
        return None
    if not (isinstance(subject, str) and _SUBJECT.fullmatch(subject)) or kind not in ("entry", "finding"):
        return None
    if channel_type not in CHANNEL_TYPES or vote not in VOTES or not isinstance(entries, str):
        return None
    return Vote(answer_id, subject, kind, channel_type, issued, vote, tuple(e for e in entries.split(",") if e))
