"""Emulated time: waits cost nothing in real time, yet every thread agrees on "now".

AWS service: none; emulated time. What it keeps true is AWS Step Functions' timing of a Parallel
  state.
Sources: Step Functions Developer Guide, "Parallel workflow state": it waits until every branch has
  ended, so it ends with its slowest branch.

Step Functions runs branches of a Parallel state side by side; moto's engine runs
each branch, and each task, in a thread of its own. A single global clock that
every Wait state pushes forward would add up the waits of parallel branches
(two 40-minute clusters would take 80 emulated minutes). Instead each thread
keeps its own emulated time, and time travels between threads the way Lamport
clocks carry it on messages:

- a thread that is started begins at its starter's time;
- ``Event.set`` stamps the event with the setter's time, and a thread that
  returns from ``Event.wait`` (or ``Thread.join``) moves to at least that stamp.

So a Parallel state ends at the time of its slowest branch (the engine's join is
an Event), and a task's result arrives at the task's time. Emulated AWS reads
:func:`now` to decide, say, whether a cluster created at t0 is ACTIVE yet.

``pace`` (real seconds per emulated second, 0 by default) lets the demo show
progress at a watchable speed; tests keep it at 0 and never sleep for real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_local = threading.local()


class VirtualClock:
    def __init__(self, start: float | None = None, pace: float = 0.0) -> None:
        self.start = float(start if start is not None else time.time())
        self.pace = pace
        self._high_water = self.start
        self._lock = threading.Lock()
        self._installed = False
        self._originals: dict[str, Any] = {}

    # -- reading and moving time -------------------------------------------------
    def now(self) -> float:
        """Emulated epoch seconds of the calling thread."""
        t = getattr(_local, "t", None)
        if t is None:
            t = self._high_water
            _local.t = t
        return t

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=UTC)

    def elapsed(self) -> float:
        """Emulated seconds since the clock started, for the calling thread."""
        return self.now() - self.start

    def latest(self) -> float:
        """The furthest any thread has got: what an observer outside the workflow sees."""
        return self._high_water

    def _set(self, t: float) -> None:
        _local.t = t
        with self._lock:
            if t > self._high_water:
                self._high_water = t

    def advance(self, seconds: float) -> None:
        """Move the calling thread's time forward (a Wait state, a retry backoff)."""
        if seconds <= 0:
            return
        self._set(self.now() + seconds)
        if self.pace:
            time.sleep(seconds * self.pace)

    sleep = advance

    def catch_up(self) -> None:
        """Bring the calling thread to the latest time (an observer after an execution)."""
        self._set(max(self.now(), self._high_water))

    def merge(self, t: float | None) -> None:
        if t is not None and t > self.now():
            self._set(t)

    # -- carrying time across threads ---------------------------------------------
    def install(self) -> None:
        """Patch thread start/join and Event set/wait to carry emulated time."""
        if self._installed:
            return
        clock = self
        orig_start = threading.Thread.start
        orig_join = threading.Thread.join
        orig_set = threading.Event.set
        orig_wait = threading.Event.wait
        self._originals = {"start": orig_start, "join": orig_join, "set": orig_set, "wait": orig_wait}

        def start(thread: threading.Thread) -> None:
            born = clock.now()
            bootstrap: Callable[[], None] = thread._bootstrap_inner  # type: ignore[attr-defined]

            def bootstrap_with_time() -> None:
                # Before anything else, even before the thread signals that it has started
                # (Thread.start waits on that Event): it must not stamp it with another time.
                _local.t = born
                try:
                    bootstrap()
                finally:
                    thread._vclock_end = clock.now()  # type: ignore[attr-defined]

            thread._bootstrap_inner = bootstrap_with_time  # type: ignore[attr-defined]
            orig_start(thread)

        def join(thread: threading.Thread, timeout: float | None = None) -> None:
            orig_join(thread, timeout)
            if not thread.is_alive():
                clock.merge(getattr(thread, "_vclock_end", None))

        def set_(event: threading.Event) -> None:
            stamp = clock.now()
            if stamp > getattr(event, "_vclock_stamp", 0.0):
                event._vclock_stamp = stamp  # type: ignore[attr-defined]
            orig_set(event)

        def wait(event: threading.Event, timeout: float | None = None) -> bool:
            result = orig_wait(event, timeout)
            if result:
                clock.merge(getattr(event, "_vclock_stamp", None))
            return result

        threading.Thread.start = start  # type: ignore[method-assign]
        threading.Thread.join = join  # type: ignore[method-assign]
        threading.Event.set = set_  # type: ignore[method-assign]
        threading.Event.wait = wait  # type: ignore[method-assign]
        self._installed = True

    def uninstall(self) -> None:
        if not self._installed:
            return
        threading.Thread.start = self._originals["start"]  # type: ignore[method-assign]
        threading.Thread.join = self._originals["join"]  # type: ignore[method-assign]
        threading.Event.set = self._originals["set"]  # type: ignore[method-assign]
        threading.Event.wait = self._originals["wait"]  # type: ignore[method-assign]
        self._installed = False


_current: VirtualClock | None = None


def current() -> VirtualClock:
    """The clock of the running emulator (a fresh one if none runs: real-time start)."""
    global _current
    if _current is None:
        _current = VirtualClock()
    return _current


def set_current(clock: VirtualClock | None) -> None:
    global _current
    _current = clock
    _local.__dict__.clear()


def now() -> float:
    return current().now()
