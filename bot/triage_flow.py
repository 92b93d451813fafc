"""Runs triage conversations in Slack threads: the engine decides, this posts, updates and stores."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import logs, site_notes
from bot.config import Config
from bot.store import StaleSession, Store, TriageSession
from bot.views import triage as tb
from bot.views.block_kit import Message

if TYPE_CHECKING:
    from bot.worker import Work
from knowledge.lookup import finder
from knowledge.triage import Question, TriageError, TriageState, load_tree
from knowledge.triage.engine import code_label

logger = logging.getLogger("bot.triage")

CONTROL_WORDS = {"back": "back", "restart": "restart", "start over": "restart", "stop": "stop", "cancel": "stop"}


@dataclass
class Reply:
    """What to tell the clicking or typing user privately, if anything: a line, or a message with buttons."""

    ephemeral: str | None = None
    message: Message | None = None

    @property
    def text(self) -> str | None:
        return self.message.text if self.message else self.ephemeral

    def kwargs(self) -> dict:
        """For respond() or chat.postEphemeral: the message, or the line."""
        return self.message.kwargs() if self.message else {"text": self.ephemeral}


@dataclass
class Turn:
    """One turn of a triage: who acts, in which workspace, channel and thread, on which message (the question or
    checklist clicked, or the question a typed answer is for); and the session, once found."""

    user: str
    team: str
    channel: str
    thread_ts: str = ""
    message_ts: str = ""
    session: TriageSession | None = None

    @classmethod
    def of_click(cls, who: dict) -> Turn:
        """The turn of a click (who: payloads.interaction()): the clicked message, in its thread."""
        message_ts = who.get("message_ts") or ""
        thread_ts = who.get("thread_ts") or message_ts
        return cls(who["user"], who.get("team") or "", who.get("channel") or "", thread_ts, message_ts)


class Found(NamedTuple):
    """What a click on a question or a checklist found: the state and its open question (no state: the session
    has expired); for an answer to that question, the new state and the session saved with it (None when another
    click saved first)."""

    state: TriageState | None
    question: Question | None
    answer: tuple[TriageState, TriageSession | None] | None = None


class SessionGone(TriageError):
    """The session a click names is not there: closed and cleared, expired and cleared, or never this channel's."""


class TriageFlow:
    def __init__(self, client: WebClient, store: Store, config: Config) -> None:
        self.client = client
        self.store = store
        self.config = config
        self.tree = load_tree()

    @classmethod
    def for_work(cls, work: Work) -> TriageFlow:
        return cls(work.client, work.store, work.config)  # type: ignore[arg-type]

    # -- starting ------------------------------------------------------------------------------------------

    def start(self, turn: Turn, entry_id: str, prefilled: dict[str, str] | None = None) -> Reply:
        """Starts a triage in the turn's thread, unless someone else's is open there: that one is theirs to finish."""
        try:
            current = self.store.triage_in_thread(turn.channel, turn.thread_ts)
            if current is not None and current.user_id != turn.user and self._open(current):
                return Reply(tb.someone_elses_triage_text(current.user_id))
            state = self.tree.start(entry_id, prefilled)
            turn.session = self.store.create_triage(turn.channel, turn.thread_ts, turn.user, state.to_dict(), turn.team)
            logs.note(triage=turn.session.id)
            self._post_next(turn.session, state)
        except TriageError as exc:
            return self._failed(turn, exc, entry_id)
        return Reply()

    def _open(self, session: TriageSession) -> bool:
        try:
            status = TriageState.from_dict(session.state).status
        except TriageError:
            return False
        return status in ("asking", "checklist") and not self._expired(session)

    def start_in_dm(self, turn: Turn, entry_id: str, prefilled: dict[str, str] | None = None) -> Reply:
        """For /ftpcode, whose answer has no thread: the triage runs in a thread of the user's DM with the bot."""
        try:
            channel = self.client.conversations_open(users=turn.user)["channel"]["id"]
            entry = finder().kb.by_id.get(entry_id)
            title = f"{code_label(entry_id)}: {entry.title}" if entry else code_label(entry_id)
            root = self.client.chat_postMessage(
                channel=channel, text=f"Triage for {title}. I ask a few questions in this thread."
            )
        except SlackApiError as exc:
            logger.error("could not open a DM for triage: %s", exc.response.get("error"))
            return Reply("I could not open a direct message.")
        reply = self.start(Turn(turn.user, turn.team, channel, root["ts"]), entry_id, prefilled)
        return reply if reply.text else Reply("I started the triage in our direct messages.")

    # -- answering -----------------------------------------------------------------------------------------

    def click(self, turn: Turn, raw_value: str, blocks: list[dict]) -> Reply:
        """A button of a question or a checklist. Whatever goes wrong with the session reaches the user as a
        message with Start over (the clicked button names the triage's code), never only as a log line."""
        fields = tb.parse_value(raw_value)
        try:
            return self._click(turn, fields, blocks)
        except TriageError as exc:
            return self._failed(turn, exc, fields.get("e", ""))

    def _click(self, turn: Turn, fields: dict[str, str], blocks: list[dict]) -> Reply:
        found = self.store.together(self._find, turn, fields)
        assert turn.session is not None
        logs.note(triage=turn.session.id)
        if isinstance(found, Reply):
            return found
        if found.state is None:
            self._expire(turn.session)
            return Reply("This triage has expired: start it again with the button in the thread.")
        if "f" in fields:
            return self._feedback(turn, found.state, fields["f"] == "fixed", blocks)
        assert found.question is not None
        if found.answer is None:
            return self._control(turn, found.state, found.question, fields["c"])
        new_state, saved = found.answer
        label = found.question.option(fields["o"]).label  # type: ignore[union-attr]
        return self._advanced(turn, saved, new_state, tb.answered_message(found.question, label, turn.user))

    def _find(self, turn: Turn, fields: dict[str, str]) -> Reply | Found:
        """The session a click names (in `turn`), what to tell the user when that is all, or what the click found;
        an answer is saved at once. In the database's thread (the store's `together`): no Web API call here."""
        session = self.store.triage_by_id(fields.get("s", ""))
        if session is None or session.channel_id != turn.channel:
            raise SessionGone(f"no triage {fields.get('s', '')!r} in this channel")
        turn.session = session
        if self._expired(session):
            return Found(None, None)
        if refusal := self._refuse(turn):
            return refusal
        state = TriageState.from_dict(session.state)
        question = self.tree.current_question(state)
        if "f" in fields:
            return Found(state, question)
        if question is None or fields.get("q") != question.id:
            return Reply("That question was already answered; carry on below.")
        if "c" in fields:
            return Found(state, question)
        new_state = self.tree.answer(state, question.id, fields.get("o", ""))
        return Found(state, question, (new_state, self._save(session, new_state, turn.user)))

    def typed(self, turn: Turn, text: str) -> bool:
        """A message in a thread: True when it belonged to an open triage there (and was handled)."""
        session = self.store.triage_in_thread(turn.channel, turn.thread_ts)
        if session is None:
            return False
        turn.session = session
        logs.note(triage=session.id)
        try:
            reply = self._typed(turn, text)
        except TriageError as exc:
            # The thread is where the triage runs: what went wrong, and Start over, go there for all to see.
            failed = self._failed(turn, exc, str(session.state.get("entry_id") or ""))
            self._post(session, failed.message or tb.note_message(failed.ephemeral or ""))
            return True
        if reply is None:
            return False
        if reply.text:
            self.tell(turn, reply)
        return True

    def _typed(self, turn: Turn, text: str) -> Reply | None:
        """None when the text is not for the triage (it is not asking anything)."""
        session = turn.session
        assert session is not None
        state = TriageState.from_dict(session.state)
        if state.status != "asking":
            return None
        if self._expired(session):
            self._expire(session)
            return Reply()
        if refusal := self._refuse(turn):
            return refusal
        question = self.tree.current_question(state)
        if question is None:
            return None
        word = text.strip().lower()
        # Only the message that asks this very question becomes its transcript line.
        turn.message_ts = session.message_asking(question.id) or ""
        if word in CONTROL_WORDS:
            return self._control(turn, state, question, CONTROL_WORDS[word])
        new_state = self.tree.answer_text(state, text)
        if new_state is None:
            if asked_ts := self._post(session, tb.asked_again(self._question(session, question, state))):
                self.store.note_question(session.id, question.id, asked_ts)
            return Reply()
        label = question.option(new_state.answer_of(question.id) or "")  # type: ignore[arg-type]
        answered = tb.answered_message(question, label.label if label else text, turn.user)
        if not turn.message_ts:  # a session from before question messages were remembered
            self._post(session, answered)
        return self._advance(turn, new_state, answered)

    def tell(self, turn: Turn, reply: Reply) -> None:
        """The reply, to the turn's user only, in the turn's thread."""
        try:
            self.client.chat_postEphemeral(
                channel=turn.channel, user=turn.user, thread_ts=turn.thread_ts or None, **reply.kwargs()
            )
        except SlackApiError as exc:
            logger.info("ephemeral note failed: %s", exc.response.get("error"))

    # -- internals -----------------------------------------------------------------------------------------

    def _failed(self, turn: Turn, exc: TriageError, entry_id: str) -> Reply:
        """A session that is gone, or one this tree cannot follow any more (an old or broken state): the user is
        told, with a button that starts the triage of the same code again in the same thread."""
        session = turn.session
        logger.info("triage %s: %s (%s)", session.id if session else "-", exc.__class__.__name__, exc)
        what = tb.GONE_TEXT if isinstance(exc, SessionGone) else tb.CANNOT_FOLLOW_TEXT
        if entry_id not in finder().kb.by_id:
            return Reply(f"{what} {tb.START_NEW_TEXT}")
        channel = session.channel_id if session else turn.channel
        thread_ts = session.thread_ts if session else turn.thread_ts
        return Reply(message=tb.start_over_message(what, entry_id, channel, thread_ts))

    def _expired(self, session: TriageSession) -> bool:
        return time.time() - session.updated_at > self.config.triage_ttl_days * 86400

    def _expire(self, session: TriageSession) -> None:
        """Says so in the thread with a button to start again, and forgets this and any other expired session."""
        self.store.expire_triage(self.config.triage_ttl_days * 86400)
        prefilled = session.state.get("prefilled")  # what a log told stays known when starting again
        prefill = prefilled if isinstance(prefilled, dict) else {}
        self._post(session, tb.expired_message(str(session.state.get("entry_id", "")), prefill))

    def _refuse(self, turn: Turn) -> Reply | None:
        session = turn.session
        assert session is not None
        if session.team_id and turn.team and session.team_id != turn.team:
            return Reply("This triage belongs to another workspace.")
        if session.user_id and session.user_id != turn.user:
            return Reply(tb.not_yours_text(session.user_id))
        return None

    def _save(
        self, session: TriageSession, state: TriageState, user_id: str, fixed_by: tuple[str, ...] = ()
    ) -> TriageSession | None:
        try:
            return self.store.save_triage(session, state.to_dict(), user_id=user_id, fixed_by=fixed_by)
        except StaleSession:
            return None

    def _advance(self, turn: Turn, state: TriageState, replace_with: Message | None) -> Reply:
        assert turn.session is not None
        return self._advanced(turn, self._save(turn.session, state, turn.user), state, replace_with)

    def _advanced(
        self, turn: Turn, saved: TriageSession | None, state: TriageState, replace_with: Message | None
    ) -> Reply:
        """After `state` was saved (`saved`; None when another click saved first)."""
        if saved is None:
            return Reply("Someone answered at the same moment; the thread shows where things stand.")
        turn.session = saved
        # The next question first: it is what the user waits for; the answered one becomes a transcript line after.
        self._post_next(saved, state)
        if replace_with is not None and turn.message_ts:
            self._update(turn.channel, turn.message_ts, replace_with)
        return Reply()

    def _control(self, turn: Turn, state: TriageState, question: Question, control: str) -> Reply:
        session = turn.session
        assert session is not None
        if control == "handover":
            saved = self._save(session, state, "")  # no owner: whoever answers next
            if saved:
                self._post(session, tb.note_message("Anyone in this thread may answer the next question now."))
            return Reply() if saved else Reply("Someone answered at the same moment.")
        actions = {"back": self.tree.back, "restart": self.tree.restart, "stop": self.tree.stop}
        if control not in actions:
            raise TriageError(f"no control {control!r}")
        new_state = actions[control](state)
        what = {"back": "went back a step", "restart": "started over", "stop": "stopped"}[control]
        closed = tb.closed_question_message(question, what.capitalize(), turn.user)
        if control == "stop":
            saved = self._save(session, new_state, turn.user)
            if saved and turn.message_ts:
                self._update(turn.channel, turn.message_ts, closed)
            self._post(session, tb.note_message("Triage stopped. Ask me again any time."))
            return Reply()
        return self._advance(turn, new_state, closed)

    def _feedback(self, turn: Turn, state: TriageState, fixed: bool, blocks: list[dict]) -> Reply:
        session = turn.session
        assert session is not None
        if state.status != "checklist":
            return Reply("This triage is already closed.")
        new_state = self.tree.feedback(state, fixed)
        checklist = self.tree.checklist(state)
        shown = tuple(s.id for s in (*checklist.user_steps, *checklist.admin_steps)) if fixed else ()
        saved = self._save(session, new_state, turn.user, shown)
        if saved is None:
            return Reply("Someone answered at the same moment.")
        outcome = "Fixed, said" if fixed else "Still broken, said"
        if turn.message_ts:
            text = f"Checklist: {outcome.lower()} <@{turn.user}>"
            kept = tb.without_buttons(blocks, f"{outcome} <@{turn.user}>")
            self._update(turn.channel, turn.message_ts, Message(text, kept))
        if fixed:
            self._post(saved, tb.thanks_message())
        else:
            self._hand_off(saved, new_state, turn.user)
        return Reply()

    def _hand_off(self, session: TriageSession, state: TriageState, user_id: str) -> None:
        entry = finder().kb.by_id.get(state.entry_id)
        summary = self.tree.handoff_summary(state, entry.title if entry else "")
        channel = site_notes.handoff_channel(state.entry_id, self.config.escalation_channel)
        if channel:
            permalink = None
            try:
                permalink = self.client.chat_getPermalink(channel=session.channel_id, message_ts=session.thread_ts)[
                    "permalink"
                ]
            except SlackApiError as exc:
                logger.info("no permalink for the triage thread: %s", exc.response.get("error"))
            message = tb.escalation_message(summary, permalink, self.config.escalation_mention, user_id)
            try:
                self.client.chat_postMessage(channel=channel, **message.kwargs())
                self._post(session, tb.handoff_posted_message(channel))
                return
            except SlackApiError as exc:
                logger.error("hand-off to the escalation channel failed: %s", exc.response.get("error"))
        self._post(session, tb.handoff_copy_message(summary))

    def _post_next(self, session: TriageSession, state: TriageState) -> None:
        question = self.tree.current_question(state)
        code = code_label(state.entry_id)
        if question is not None:
            if posted_ts := self._post(session, self._question(session, question, state)):
                self.store.note_question(session.id, question.id, posted_ts)
            return
        entry = finder().kb.by_id.get(state.entry_id)
        title = entry.title if entry else "your problem"
        checklist = self.tree.checklist(state)
        self._post(session, tb.checklist_message(session.id, checklist, code, title, state.entry_id))

    def _question(self, session: TriageSession, question: Question, state: TriageState) -> Message:
        step, code = len(state.asked) + 1, code_label(state.entry_id)
        return tb.question_message(session.id, question, step, code, state.entry_id, can_go_back=bool(state.asked))

    def _post(self, session: TriageSession, message: Message) -> str | None:
        """Posts in the triage's thread; the message's ts, or None when Slack refused it."""
        try:
            posted = self.client.chat_postMessage(
                channel=session.channel_id, thread_ts=session.thread_ts, **message.kwargs()
            )
        except SlackApiError as exc:
            logger.error("triage post failed: %s", exc.response.get("error"))
            return None
        return posted.get("ts")

    def _update(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(channel=channel, ts=ts, **message.kwargs())
        except SlackApiError as exc:
            logger.info("could not update the question message: %s", exc.response.get("error"))
