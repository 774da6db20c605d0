"""A stoppable, time-ordered task scheduler run by one daemon thread."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Scheduler:
    """Run callables after a delay, in due-time order, on one worker thread.

    Tasks must be quick (they only change state or hand work to a pool), so a
    single thread keeps every call's timeline in order. The thread starts on
    the first :meth:`call_later`, so an idle simulator owns no threads.
    """

    def __init__(self, name: str = "exotel-sim-scheduler") -> None:
        """Create an idle scheduler; ``name`` names its worker thread."""
        self._name = name
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()  # tie-breaker: equal due times keep FIFO order
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._running = 0  # tasks popped but not finished, for wait_idle()
        self._stopped = False

    def call_later(self, delay: float, task: Callable[[], None]) -> bool:
        """Schedule ``task`` in ``delay`` seconds; False once stopped."""
        with self._cond:
            if self._stopped:
                return False
            heapq.heappush(self._queue, (time.monotonic() + max(0.0, delay), next(self._seq), task))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return True

    def clear(self) -> None:
        """Drop every pending task (running ones finish)."""
        with self._cond:
            self._queue.clear()
            self._cond.notify_all()

    def pending(self) -> int:
        """Return how many tasks are queued or running."""
        with self._cond:
            return len(self._queue) + self._running

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel everything pending and join the worker thread."""
        with self._cond:
            self._stopped = True
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        """Worker loop: sleep until the earliest task is due, then run it."""
        while True:
            with self._cond:
                while not self._stopped:
                    if not self._queue:
                        self._cond.wait()
                        continue
                    wait = self._queue[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                _, _, task = heapq.heappop(self._queue)
                self._running += 1
            try:
                task()
            except Exception:  # one broken task must not kill every timeline
                log.exception("simulator task failed")
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()
