"""Overlap bench: why the desk does not decide the next batch while the last one commits.

    python bench/overlap.py [--messages 64] [--reps 3]

In a burst the desk alternates: decide a batch in Python on the event loop, then commit it
in one call on aiosqlite's worker thread while the loop waits (`storage/sqlite.py`). Deciding
batch N+1 during batch N's commit looks like free parallelism on two cores: SQLite releases
the GIL while it steps a statement. It is not: the worker takes the GIL back after every
statement, and a thread that wants the GIL from a busy one waits for the interpreter's
switch interval (5 ms by default). This bench measures that, on the desk's own schema.

One transaction of `--messages` of the ingest floor's messages (ticket, message, event, two
outbox rows each: `bench/ingest.py`) on a worker thread, three ways: with the main thread
idle (what the desk does: it awaits the commit), and with the main thread running pure
Python meanwhile (what overlapping would do) at the default switch interval and at 0.5 ms.
Prints the medians and each one's ratio to the idle case. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest import floor_batch, floor_message  # bench/ is this script's directory

from storage.migrations import apply_sqlite_migrations

Message = list[tuple[str, tuple[Any, ...]]]


def open_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    apply_sqlite_migrations(conn)
    return conn


def busy_python(stop: threading.Event) -> None:
    """Stands for deciding the next batch: plain Python that never waits."""
    while not stop.is_set():
        sum(i * i for i in range(200))


def commit_on_worker(conn: sqlite3.Connection, batch: list[Message], *, busy: bool) -> float:
    """Seconds from handing the transaction to the worker thread until it is done."""
    done = threading.Event()
    elapsed: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        floor_batch(conn, batch)
        elapsed.append(time.perf_counter() - start)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    if busy:
        busy_python(done)
    worker.join()
    return elapsed[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=64, help="messages in the one transaction")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    default_interval = sys.getswitchinterval()
    ways = (("main thread idle (the desk: it awaits the commit)", None),
            (f"main thread busy, switch interval {default_interval * 1e3:g} ms (default)", default_interval),
            ("main thread busy, switch interval 0.5 ms", 0.0005))
    results: dict[str, list[float]] = {label: [] for label, _ in ways}
    with tempfile.TemporaryDirectory(prefix="dutydesk-overlap-") as tmp:
        conn = open_db(Path(tmp) / "overlap.db")
        first = 0
        try:
            for _ in range(args.reps):
                for label, interval in ways:
                    batch = [floor_message(first + i) for i in range(args.messages)]
                    first += args.messages
                    sys.setswitchinterval(interval or default_interval)
                    try:
                        results[label].append(commit_on_worker(conn, batch, busy=interval is not None))
                    finally:
                        sys.setswitchinterval(default_interval)
        finally:
            conn.close()
    idle = statistics.median(results[ways[0][0]])
    print(f"one transaction of {args.messages} messages ({5 * args.messages} inserts) on a worker thread, "
          f"medians of {args.reps}:")
    for label, _ in ways:
        seconds = statistics.median(results[label])
        print(f"  {seconds * 1e3:9.1f} ms  {seconds / idle:7.1f} x   {label}")


if __name__ == "__main__":
    main()
