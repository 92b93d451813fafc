"""The garbage collector is off while a process starts: the imports and the app make some 40,000 objects that live
as long as the process and hardly any garbage (under 600 objects here), and its passes over them were 11-15 ms of
importing the bot's modules in one process (gc.callbacks; bench/README.md). Importing bot/__main__.py pauses it:
import it only in a process that runs the bot.

`pause()` comes first in bot/__main__.py; `resume()` where the process is about to serve or fork. What start-up
made is frozen (kept out of every later pass, as bot/warm_up.py does again once the process serves), so turning
the collector back on costs no pass over it.
"""

from __future__ import annotations

import gc


def pause() -> None:
    gc.disable()


def resume() -> None:
    gc.freeze()
    gc.enable()
