"""A Slack stand-in on 127.0.0.1 and a harness that runs the bot as a real process."""

from tests.standin.delivery import Delivery
from tests.standin.process import BotProcess
from tests.standin.records import CallRecord
from tests.standin.socket_mode import NoSocketConnection
from tests.standin.standin import SlackStandIn

__all__ = ["BotProcess", "CallRecord", "Delivery", "NoSocketConnection", "SlackStandIn"]
