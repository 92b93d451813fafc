from slack_bolt import App

from bot.listeners import actions, commands, events, shortcuts


def register(app: App) -> None:
    commands.register(app)
    events.register(app)
    actions.register(app)
    shortcuts.register(app)
