"""Once a desk is up its start-up objects leave the collector's scans, and come back when it stops."""

from __future__ import annotations

import gc

from bot.app import heap


def test_settle_freezes_what_exists_and_release_hands_it_back() -> None:
    assert gc.get_freeze_count() == 0
    kept = [{"a desk's long-lived object": i} for i in range(100)]  # noqa: F841 — alive while frozen
    heap.settle()
    try:
        assert gc.get_freeze_count() >= 100
        assert gc.get_count()[0] < 100  # start-up's leftovers were collected first
    finally:
        heap.release()
    assert gc.get_freeze_count() == 0
