"""One object per process for the database's background threads (the clock keeper, the checkpointer)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    """Holds one `T` for this process: made on first use, and made again in a forked child (a thread started
    in the parent does not run there). Cheap to ask for often: a lock is taken only to make one."""

    def __init__(self) -> None:
        self._value: T | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def get(self, make: Callable[[], T]) -> T:
        value, pid = self._value, self._pid
        if value is not None and pid == os.getpid():
            return value
        with self._lock:
            if self._value is None or self._pid != os.getpid():
                self._value, self._pid = make(), os.getpid()
            return self._value
