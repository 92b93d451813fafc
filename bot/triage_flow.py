"""Runs triage conversations in Slack threads: the engine decides, this posts, updates and stores."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import logs
from bot.config import Config
from bot.knowledge_once import finder, triage_tree
from bot.store import StaleSession, Store, TriageSession
from bot.views import site_notes as site_view
from bot.views import triage as tb
from bot.views.block_kit import Message

if TYPE_CHECKING:
    from bot.worker import Work
from knowledge.triage import Question, TriageError, TriageState
from knowledge.triage.engine import code_label

logger = logging.getLogger("bot.triage")

CONTROL_WORDS = {"back": "back", "restart": "restart", "start over": "restart", "stop": "stop", "cancel": "stop"}


@dataclass
class Reply:
    """What to tell the clicking or typing user privately, if anything."""

    ephemeral: str | None = None


class TriageFlow:
    def __init__(self, client: WebClient, store: Store, config: Config) -> None:
        self.client = client
        self.store = store
        self.config = config
        self.tree = triage_tree()

    @classmethod
    def for_work(cls, work: Work) -> TriageFlow:
        return cls(work.client, work.store, work.config)  # type: ignore[arg-type]

    # -- starting ------------------------------------------------------------------------------------------

    def start(
        self,
        entry_id: str,
        channel: str,
        thread_ts: str,
        user_id: str,
        team_id: str = "",
        prefilled: dict[str, str] | None = None,
    ) -> Reply:
        """Starts a triage in a thread, unless someone else's is open there: that one is theirs to finish."""
        current = self.store.triage_in_thread(channel, thread_ts)
        if current is not None and current.user_id != user_id and self._open(current):
            return Reply(tb.someone_elses_triage_text(current.user_id))
        state = self.tree.start(entry_id, prefilled)
        session = self.store.create_triage(channel, thread_ts, user_id, state.to_dict(), team_id)
        logs.note(triage=session.id)
        self._post_next(session, state)
        return Reply()

    def _open(self, session: TriageSession) -> bool:
        try:
            status = TriageState.from_dict(session.state).status
        except (TriageError, KeyError, TypeError, ValueError):
            return False
        return status in ("asking", "checklist") and not self._expired(session)

    def start_in_dm(
        self, entry_id: str, user_id: str, team_id: str = "", prefilled: dict[str, str] | None = None
    ) -> str | None:
        """For /ftpcode, whose answer has no thread: the triage runs in a thread of the user's DM with the bot."""
        try:
            channel = self.client.conversations_open(users=user_id)["channel"]["id"]
            entry = finder().kb.by_id.get(entry_id)
            title = f"{code_label(entry_id)}: {entry.title}" if entry else code_label(entry_id)
            root = self.client.chat_postMessage(
                channel=channel, text=f"Triage for {title}. I ask a few questions in this thread."
            )
        except SlackApiError as exc:
            logger.error("could not open a DM for triage: %s", exc.response.get("error"))
            return None
        self.start(entry_id, channel, root["ts"], user_id, team_id, prefilled)
        return channel

    # -- answering -----------------------------------------------------------------------------------------

    def click(
        self, raw_value: str, user_id: str, team_id: str, channel: str, message_ts: str, blocks: list[dict]
    ) -> Reply:
        fields = tb.parse_value(raw_value)
        session = self.store.triage_by_id(fields.get("s", ""))
        if session is None or session.channel_id != channel:
            return Reply("This triage is no longer open. Start a new one from an answer.")
        logs.note(triage=session.id)
        if self._expired(session):
            self._expire(session)
            return Reply("This triage has expired: start it again with the button in the thread.")
        if refusal := self._refuse(session, user_id, team_id):
            return refusal
        try:
            state = TriageState.from_dict(session.state)
            question = self.tree.current_question(state)
            if "f" in fields:
                fixed = fields["f"] == "fixed"
                return self._feedback(session, state, fixed, user_id, channel, message_ts, blocks)
            if question is None or fields.get("q") != question.id:
                return Reply("That question was already answered; carry on below.")
            if "c" in fields:
                return self._control(session, state, question, fields["c"], user_id, channel, message_ts)
            new_state = self.tree.answer(state, question.id, fields.get("o", ""))
        except (TriageError, KeyError, TypeError, ValueError) as exc:
            logger.info("triage %s: click not understood (%s)", session.id, exc.__class__.__name__)
            return Reply(tb.START_OVER_TEXT)
        label = question.option(fields["o"]).label  # type: ignore[union-attr]
        answered = tb.answered_message(question, label, user_id)
        return self._advance(session, new_state, user_id, channel, message_ts, answered)

    def typed(self, text: str, user_id: str, team_id: str, channel: str, thread_ts: str) -> bool:
        """A message in a thread: True when it belonged to an open triage there (and was handled)."""
        session = self.store.triage_in_thread(channel, thread_ts)
        if session is None:
            return False
        logs.note(triage=session.id)
        try:
            state = TriageState.from_dict(session.state)
        except (TriageError, KeyError, TypeError, ValueError):
            self._post(session, tb.note_message(tb.START_OVER_TEXT))
            return True
        if state.status != "asking":
            return False
        if self._expired(session):
            self._expire(session)
            return True
        if refusal := self._refuse(session, user_id, team_id):
            self._ephemeral(channel, user_id, refusal.ephemeral or "", thread_ts)
            return True
        question = self.tree.current_question(state)
        if question is None:
            return False
        word = text.strip().lower()
        # Only the message that asks this very question becomes its transcript line.
        question_ts = session.message_asking(question.id)
        if word in CONTROL_WORDS:
            reply = self._control(session, state, question, CONTROL_WORDS[word], user_id, channel, question_ts)
        else:
            new_state = self.tree.answer_text(state, text)
            if new_state is None:
                if asked_ts := self._post(
                    session,
                    tb.ask_again_message(
                        session.id,
                        question,
                        len(state.asked) + 1,
                        code_label(state.entry_id),
                        can_go_back=bool(state.asked),
                    ),
                ):
                    self.store.note_question(session.id, question.id, asked_ts)
                return True
            label = question.option(new_state.answer_of(question.id) or "")  # type: ignore[arg-type]
            answered = tb.answered_message(question, label.label if label else text, user_id)
            if not question_ts:  # a session from before question messages were remembered
                self._post(session, answered)
            reply = self._advance(session, new_state, user_id, channel, question_ts, answered)
        if reply.ephemeral:
            self._ephemeral(channel, user_id, reply.ephemeral, thread_ts)
        return True

    # -- internals -----------------------------------------------------------------------------------------

    def _expired(self, session: TriageSession) -> bool:
        return time.time() - session.updated_at > self.config.triage_ttl_days * 86400

    def _expire(self, session: TriageSession) -> None:
        """Says so in the thread with a button to start again, and forgets this and any other expired session."""
        self.store.expire_triage(self.config.triage_ttl_days * 86400)
        prefilled = session.state.get("prefilled")  # what a log told stays known when starting again
        prefill = prefilled if isinstance(prefilled, dict) else {}
        self._post(session, tb.expired_message(str(session.state.get("entry_id", "")), prefill))

    def _refuse(self, session: TriageSession, user_id: str, team_id: str) -> Reply | None:
        if session.team_id and team_id and session.team_id != team_id:
            return Reply("This triage belongs to another workspace.")
        if session.user_id and session.user_id != user_id:
            return Reply(tb.not_yours_text(session.user_id))
        return None

    def _save(
        self, session: TriageSession, state: TriageState, user_id: str, fixed_by: tuple[str, ...] = ()
    ) -> TriageSession | None:
        try:
            return self.store.save_triage(session, state.to_dict(), user_id=user_id, fixed_by=fixed_by)
        except StaleSession:
            return None

    def _advance(self, session, state, user_id, channel, message_ts, replace_with: Message | None) -> Reply:
        saved = self._save(session, state, user_id)
        if saved is None:
            return Reply("Someone answered at the same moment; the thread shows where things stand.")
        # The next question first: it is what the user waits for; the answered one becomes a transcript line after.
        self._post_next(saved, state)
        if replace_with is not None and message_ts:
            self._update(channel, message_ts, replace_with)
        return Reply()

    def _control(self, session, state, question: Question, control: str, user_id, channel, message_ts) -> Reply:
        if control == "handover":
            saved = self._save(session, state, "")  # no owner: whoever answers next
            if saved:
                self._post(session, tb.note_message("Anyone in this thread may answer the next question now."))
            return Reply() if saved else Reply("Someone answered at the same moment.")
        actions = {"back": self.tree.back, "restart": self.tree.restart, "stop": self.tree.stop}
        new_state = actions[control](state)
        what = {"back": "went back a step", "restart": "started over", "stop": "stopped"}[control]
        closed = tb.closed_question_message(question, what.capitalize(), user_id)
        if control == "stop":
            saved = self._save(session, new_state, user_id)
            if saved and message_ts:
                self._update(channel, message_ts, closed)
            self._post(session, tb.note_message("Triage stopped. Ask me again any time."))
            return Reply()
        return self._advance(session, new_state, user_id, channel, message_ts, closed)

    def _feedback(self, session, state, fixed: bool, user_id, channel, message_ts, blocks: list[dict]) -> Reply:
        if state.status != "checklist":
            return Reply("This triage is already closed.")
        new_state = self.tree.feedback(state, fixed)
        checklist = self.tree.checklist(state)
        shown = tuple(s.id for s in (*checklist.user_steps, *checklist.admin_steps)) if fixed else ()
        saved = self._save(session, new_state, user_id, shown)
        if saved is None:
            return Reply("Someone answered at the same moment.")
        outcome = "Fixed, said" if fixed else "Still broken, said"
        if message_ts:
            text = f"Checklist: {outcome.lower()} <@{user_id}>"
            self._update(channel, message_ts, Message(text, tb.without_buttons(blocks, f"{outcome} <@{user_id}>")))
        if fixed:
            self._post(saved, tb.thanks_message())
        else:
            self._hand_off(saved, new_state, user_id)
        return Reply()

    def _hand_off(self, session: TriageSession, state: TriageState, user_id: str) -> None:
        entry = finder().kb.by_id.get(state.entry_id)
        summary = self.tree.handoff_summary(state, entry.title if entry else "")
        channel = site_view.handoff_channel(state.entry_id, self.config.escalation_channel)
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
            step = len(state.asked) + 1
            message = tb.question_message(session.id, question, step, code, can_go_back=bool(state.asked))
            if posted_ts := self._post(session, message):
                self.store.note_question(session.id, question.id, posted_ts)
            return
        entry = finder().kb.by_id.get(state.entry_id)
        title = entry.title if entry else "your problem"
        checklist = self.tree.checklist(state)
        self._post(session, tb.checklist_message(session.id, checklist, code, title, state.entry_id))

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

    def _ephemeral(self, channel: str, user_id: str, text: str, thread_ts: str | None) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user_id, text=text, thread_ts=thread_ts)
        except SlackApiError as exc:
            logger.info("ephemeral note failed: %s", exc.response.get("error"))
