from slack_bolt import App

from bot import digest
from bot.listeners import actions, assistant, commands, events, feedback, functions, reactions, shortcuts
from bot.worker import Handler

MODULES = (commands, events, actions, shortcuts, assistant, functions, reactions, feedback)

# The jobs the listeners queue, by kind: each module's listeners and the work they queue live together. The
# weekly digest is queued by a chore (bot/housekeeping.py), not a listener.
JOBS: dict[str, Handler] = {kind: run for module in MODULES for kind, run in module.JOBS.items()} | digest.JOBS


def register(app: App) -> None:
    for module in MODULES:
        module.register(app)
