"""Pairs replies with the commands they answer and joins multi-line replies ("211-Features:" ... "211 End")."""

from __future__ import annotations

from collections import defaultdict

from knowledge.logscan.events import COMMAND, REPLY, Event
from knowledge.logscan.ftp import REPLY_CODE
from knowledge.logscan.model import Exchange


def build_exchanges(events: list[Event]) -> list[Exchange]:
    """Returns the exchanges in log order. A command nobody answered becomes an exchange with code None.

    Server logs interleave sessions: their events are split by session key and paired per session.
    """
    by_session: dict[str | None, list[Event]] = defaultdict(list)
    for event in events:
        by_session[event[3]].append(event)
    if len(by_session) <= 1:
        return _pair(events, None)
    exchanges: list[Exchange] = []
    for key, session_events in by_session.items():
        exchanges.extend(_pair(session_events, key))
    exchanges.sort(key=lambda e: e.line)
    return exchanges


def _pair(events: list[Event], key: str | None) -> list[Exchange]:
    """One session's exchanges. Plain locals instead of a state object: this loop runs once per log line."""
    exchanges: list[Exchange] = []
    emit = exchanges.append
    code_match = REPLY_CODE.match
    command: str | None = None
    command_verb: str | None = None
    command_line = 0
    answered = False  # a 1xx came: the command waits for its final reply, but was not ignored
    ml_code: str | None = None  # open multi-line reply
    ml_line = 0
    ml_parts: list[str] = []
    for line, kind, text, _key in events:
        if kind == REPLY:
            if ml_code is not None:
                ml_parts.append(text)
                if not (text.startswith(ml_code) and text[3:4] in (" ", "")):
                    continue
                code, line, text = ml_code, ml_line, "\n".join(ml_parts)
                ml_code = None
            else:
                m = code_match(text)
                if m is None:
                    code = None
                elif m.group(2):
                    ml_code, ml_line, ml_parts = m.group(1), line, [text]
                    continue
                else:
                    code = m.group(1)
            if code == "220" and command is not None and command_verb != "REIN":
                # a new greeting: the client reconnected, and the command before it never got its answer
                if not answered:
                    emit(Exchange(command_line, command, None, "", command_line, key, command_verb))
                command = command_verb = None
                answered = False
            emit(Exchange(line, command, code, text, command_line if command else None, key, command_verb))
            if code is not None and code[0] == "1":
                answered = True
            else:
                command = command_verb = None
                answered = False
        elif kind == COMMAND:
            if ml_code is not None:  # the server never closed its multi-line reply
                emit(Exchange(ml_line, command, ml_code, "\n".join(ml_parts), command_line, key, command_verb))
                ml_code = None
                answered = True
            if command is not None and not answered:
                emit(Exchange(command_line, command, None, "", command_line, key, command_verb))
            command, command_line, answered = text, line, False
            head = text.split(None, 1)
            command_verb = head[0].upper() if head else None
    if ml_code is not None:
        emit(Exchange(ml_line, command, ml_code, "\n".join(ml_parts), command_line, key, command_verb))
        answered = True
    if command is not None and not answered:
        emit(Exchange(command_line, command, None, "", command_line, key, command_verb))
    exchanges.sort(key=lambda e: e.line)  # an unanswered command is emitted late; nearly sorted, so cheap
    return exchanges
