"""The bot with no feedback on its acknowledged answers: `/ftpcode` answers in the ack without "Was this helpful?",
its buttons and the answer's row. Everything else is the bot as it is (`python -m bot`).

bench/bench_ack.py --without-feedback runs it beside the bot, to show what the feedback buttons add to an answer's
ack latency (issue 13: no more than 10%). Not for production: nobody could vote.
"""

from __future__ import annotations

import sys
from typing import Any

from bot import answered
from bot.__main__ import main


def answer_alone(worker: Any, reply: Any, text: str, who: dict, channel_type: str, response_type: str) -> Any:
    return answered.ack_response(reply.message, response_type)  # no row for the recorder, no feedback blocks


answered.in_ack = answer_alone

if __name__ == "__main__":
    sys.exit(main())
