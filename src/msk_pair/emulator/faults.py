"""Fault injection: make a handler fail, before or after it does its AWS work.

Tests (and ``msk-pair run --local --fail ...``) use this to prove that a failure
anywhere ends in teardown. ``after=True`` runs the handler first and raises after
its AWS calls succeeded, as a Lambda that times out before returning would: the
retried task must then find what the first attempt made, not make it twice.

A fault can also wait for a moment of emulated time (``not_before``) and hit whatever function runs
then (``function="*"``): "a failure at minute 10 of the cluster's creation" whatever state that is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from msk_pair.emulator import clock


@dataclass
class Fault:
    function: str
    error: str = "InjectedFault"
    message: str = "injected by the emulator"
    role: str | None = None
    times: int | None = 1
    after: bool = False
    state: str | None = None
    not_before: float | None = None  # emulated epoch seconds: the fault waits for this moment
    hits: int = 0

    def matches(self, function: str, payload: Any, after: bool) -> bool:
        if self.function not in ("*", function) or after != self.after:
            return False
        if self.not_before is not None and clock.now() < self.not_before:
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        event = payload if isinstance(payload, dict) else {}
        if self.role and event.get("role") != self.role:
            return False
        return not (self.state and event.get("state") != self.state)


def error_class(name: str) -> type[Exception]:
    return type(name, (Exception,), {})


class FaultPlan:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        function: str,
        *,
        error: str = "InjectedFault",
        message: str = "injected by the emulator",
        role: str | None = None,
        times: int | None = 1,
        after: bool = False,
        state: str | None = None,
        not_before: float | None = None,
    ) -> Fault:
        """Make ``function`` (``"*"``: any) raise ``error`` (for one ``role`` or Step Functions ``state`` only, and
        from emulated time ``not_before`` on, if given)."""
        fault = Fault(function, error, message, role, times, after, state, not_before)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def _check(self, function: str, payload: Any, after: bool) -> None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(function, payload, after):
                    fault.hits += 1
                    raise error_class(fault.error)(fault.message)

    def before(self, function: str, payload: Any) -> None:
        self._check(function, payload, after=False)

    def after(self, function: str, payload: Any) -> None:
        self._check(function, payload, after=True)
