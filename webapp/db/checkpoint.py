"""SQLite's WAL checkpoints on a thread of each process, not in the commit of a request.

In WAL mode a commit appends its pages to the -wal file; a checkpoint copies
them back into the database file and syncs both (two fsyncs). SQLite's own
autocheckpoint runs inside the commit that crosses 1,000 pages: under
callbacks, that is a checkpoint every hundred commits or so, each paid by one
request while it holds this app's write lock (db.fastpath.SQLiteWriteLock),
so every other writer waits on its fsyncs, and every page a commit adds
(an outbound webhook's event row, say) brings the next checkpoint nearer.

Here each process that serves or works runs a PASSIVE checkpoint every
EVERY seconds on a connection of its own: it copies what it can without
waiting for readers or writers, and no request waits for it. The app's
connections keep an autocheckpoint at SAFETY_NET_PAGES, so a process that
runs no thread (the CLI, a script) still bounds the WAL.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from sqlalchemy import Engine

from .per_process import PerProcess

log = logging.getLogger(__name__)

EVERY = 0.5  # seconds between two checkpoints
SAFETY_NET_PAGES = 10_000  # the commits' own autocheckpoint (40 MB of WAL), reached only without the thread


class _Checkpointer:
    """A daemon thread of this process checkpointing one database file's WAL every `every` seconds."""

    def __init__(self, path: str, every: float):
        self.path = path
        self.every = every
        self._connection: sqlite3.Connection | None = None
        self._connected_to = ""
        self._failing = False
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.thread.start()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None or self._connected_to != self.path:
            if self._connection is not None:
                self._connection.close()
            # mode=rw: a database file that is gone is not created anew, empty, by this thread.
            self._connection = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None,
                                               timeout=0, check_same_thread=False)
            self._connected_to = self.path
        return self._connection

    def checkpoint(self) -> None:
        try:
            self._connect().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # busy, or the file is away: the next round tries again
            if not self._failing:
                log.warning("SQLite checkpoint failed: %s", exc, extra={"event": "sqlite_checkpoint_failed"})
            self._failing = True
            if self._connection is not None:
                self._connection.close()
                self._connection = None
        else:
            self._failing = False

    def _run(self) -> None:
        while True:
            time.sleep(self.every)
            self.checkpoint()


_checkpointers: PerProcess[_Checkpointer] = PerProcess()


def keep_checkpoints(engine: Engine, every: float = EVERY) -> None:
    """Checkpoint `engine`'s SQLite file from a thread of this process (nothing for PostgreSQL or :memory:).

    Cheap to call often (a web server calls it per request): it starts the thread once per process (again
    after a fork) and otherwise only points it at `engine`'s file."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return
    _checkpointers.get(lambda: _Checkpointer(path, every)).path = path
