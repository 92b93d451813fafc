"""The garbage collector is off while a process starts: the imports and the app make some 40,000 objects that live
as long as the process and hardly any garbage (under 600 objects here), and its passes over them were about 5% of
the start (11-15 ms of `import bot.app`, gc.callbacks; bench/README.md).

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
