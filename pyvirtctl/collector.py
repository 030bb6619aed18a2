"""The cyclic garbage collector around start-up, for the program's own process only.

A run imports ~190 modules before its command does anything; every object they create lives until
exit, yet the collector walks them again and again while they are being made, and once more at exit.
`pause()` (the process entry points call it first) turns the collector off; `resume()` (called when
a command starts running) freezes what exists by then - the imported modules, classes and functions -
out of every later pass and turns it back on, so long-running commands (consoles, watches, transfers)
collect their own garbage as usual. Measured: ~25 ms less CPU for a whole `vmexport download` run.

A library caller of `cli.main` never calls `pause()`, so its collector is left as it was.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Back on after `pause()`, with everything made so far frozen; nothing when it was not paused."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
