"""The heap once a desk is up: what start-up built stays out of later garbage collections.

A desk builds its long-lived objects once — the config, the language models' Python side,
the gettext catalogues and Babel's locale data, calendars, the roster — and keeps them for
the life of the process, yet the cyclic collector walks every one of them again at each
full collection, and under a burst of messages (millions of short-lived objects) those
come often: without this, a burst of new tickets ran ≈ 1,650 msgs/s, with it ≈ 1,990
(`bench/ingest.py`'s burst, alternating runs). So once the desk is running, the garbage
start-up left is collected and the rest is frozen (`gc.freeze`): later collections skip
it. Objects made afterwards are collected as always. When the desk stops (a fenced desk
that stands by, say), the frozen objects are handed back, so a desk that is let go can be
collected.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """After start-up: collect what it left, freeze what stays."""
    gc.collect()
    gc.freeze()


def release() -> None:
    """When the desk stops: what was frozen is collected as usual again."""
    gc.unfreeze()
