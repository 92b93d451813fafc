from slack_bolt import App

from bot.listeners import actions, assistant, commands, events, functions, reactions, shortcuts
from bot.worker import Handler

MODULES = (commands, events, actions, shortcuts, assistant, functions, reactions)

# The jobs the listeners queue, by kind: each module's listeners and the work they queue live together.
JOBS: dict[str, Handler] = {kind: run for module in MODULES for kind, run in module.JOBS.items()}


def register(app: App) -> None:
    for module in MODULES:
        module.register(app)
