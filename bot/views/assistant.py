"""The agent's Messages tab: the suggested prompts set when someone opens it, and the answers to the prompts that
are no question about a code."""

from __future__ import annotations

from bot.views.block_kit import Message, note

PROMPTS_TITLE = "Ask about an FTP, FTPS or SFTP problem"
READ_LOG = "Read my FileZilla log"
START_TRIAGE = "Start a triage"
# (title shown, message sent when clicked): the last two are answered below, the others as any question is.
PROMPTS = (
    ("Explain 425", "Explain 425"),
    ("My upload fails with 553", "My upload fails with 553"),
    (READ_LOG, READ_LOG),
    (START_TRIAGE, START_TRIAGE),
)
READING_STATUS = "is reading your log…"

_PROMPT_ANSWERS = {
    READ_LOG.lower(): (
        "Paste FileZilla's message log here, from the connection to the error, or share it as a text file (up to "
        "5 MB): I tell you which step failed and why. For more detail, set Edit > Settings > Debug > "
        "'Debug information in message log' to Verbose and try once more. Passwords in the log are masked, and I "
        "keep nothing of it."
    ),
    START_TRIAGE.lower(): (
        "Tell me the code or the error your client shows, such as `530` or `425 Can't open data connection`: "
        "I explain it, and *Start triage* under the answer walks you through the fix, one question at a time."
    ),
}


def prompt_answer(text: str) -> Message | None:
    """The answer to a suggested prompt that is no question about a code; None for anything else."""
    answer = _PROMPT_ANSWERS.get(" ".join(text.split()).lower().rstrip("."))
    return note(answer) if answer else None
