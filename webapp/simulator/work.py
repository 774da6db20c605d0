"""Where the simulator's background work runs: timed steps on the scheduler, callbacks on a pool.

Both kinds are counted, so :meth:`Work.wait_idle` can tell when nothing is
pending anywhere. Every thread is a daemon and :meth:`Work.stop` never waits
for a callback still on the wire: a stopping simulator (SIGTERM) is gone at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable

from .scheduler import Scheduler

log = logging.getLogger(__name__)

_Task = tuple[Callable[[], None], "threading.Event | None", threading.Event]


class Work:
    """A scheduler for timed steps and a small pool for callback attempts, ordered per key."""

    def __init__(self, workers: int = 4) -> None:
        """Create idle machinery; threads start on first use."""
        self._lock = threading.Lock()
        self._scheduler = Scheduler()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._last: dict[Hashable, threading.Event] = {}
        self._inflight = 0  # pool tasks submitted and not finished
        self._handoffs = 0  # bumped on every schedule/submit, so wait_idle() sees no gap
        self._stopped = threading.Event()

    def after(self, delay: float, task: Callable[[], None]) -> None:
        """Run ``task`` on the scheduler thread after ``delay`` real seconds."""
        with self._lock:
            self._handoffs += 1
        self._scheduler.call_later(delay, task)

    def submit(self, key: Hashable, task: Callable[[], None]) -> None:
        """Run ``task`` on the pool once the previous task of the same ``key`` has finished."""
        with self._lock:
            if self._stopped.is_set():
                return
            if not self._threads:
                self._threads = [threading.Thread(target=self._run, name=f"exotel-sim-callback-{i}", daemon=True)
                                 for i in range(self._workers)]
                for thread in self._threads:
                    thread.start()
            previous = self._last.get(key)
            done = threading.Event()
            self._last[key] = done
            self._handoffs += 1
            self._inflight += 1
        self._queue.put((task, previous, done))

    def _run(self) -> None:
        """Pool loop: take a task, wait for its predecessor, run it."""
        while (item := self._queue.get()) is not None:
            task, previous, done = item
            try:
                if previous is not None:
                    previous.wait()  # earlier in the FIFO queue, so already running or done
                if not self._stopped.is_set():
                    task()
            except Exception:  # one broken delivery must not kill the pool
                log.exception("simulator callback task failed")
            finally:
                done.set()
                with self._lock:
                    self._inflight -= 1

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is scheduled, queued or running; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            # Work moves between the scheduler and the pool; an unchanged
            # hand-off count around both reads means nothing moved meanwhile.
            with self._lock:
                before = self._handoffs
            idle = self._scheduler.pending() == 0
            with self._lock:
                idle = idle and self._inflight == 0 and self._handoffs == before
            if idle:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def clear(self) -> None:
        """Drop every scheduled step and forget per-key ordering (running tasks finish)."""
        self._scheduler.clear()
        with self._lock:
            self._last.clear()

    def stop(self, timeout: float = 1.0) -> None:
        """Cancel everything pending; wait at most ``timeout`` for running tasks, never longer."""
        self._stopped.set()
        self._scheduler.stop(timeout)
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def stopped(self) -> threading.Event:
        """Set once :meth:`stop` was called."""
        return self._stopped
