"""Fault injection: make a handler fail, before or after it does its AWS work.

AWS service: none; a test tool that makes a handler, or one AWS call, fail. What the AWS call
  answers is AWS's own error (aws_errors.py).
Sources: aws_errors.py, per error.

Tests (and ``msk-pair run --local --fail ...``) use this to prove that a failure
anywhere ends in teardown. ``after=True`` runs the handler first and raises after
its AWS calls succeeded, as a Lambda that times out before returning would: the
retried task must then find what the first attempt made, not make it twice.

A fault can also wait for a moment of emulated time (``not_before``) and hit whatever function runs
then (``function="*"``): "a failure at minute 10 of the cluster's creation" whatever state that is.

:meth:`FaultPlan.add_aws` injects one level lower, *at the AWS call*: while the matching function (and
state) runs, its AWS requests are answered with the service's own error response (throttling, a 5xx,
an authorization failure; :mod:`msk_pair.emulator.aws_errors`) before moto sees them. botocore parses
it and retries it as on AWS, and the handler's error classification
(:func:`mskpair_core.aws.translate_errors`) decides what the state machine sees: the whole path a real
AWS error takes is under test, not a name chosen by the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from msk_pair.emulator import aws_errors, clock

_running = threading.local()  # .function / .payload: the handler this thread runs (set by the Lambda runtime)


@contextmanager
def running(function: str, payload: Any) -> Iterator[None]:
    """Mark the handler the current thread runs, for faults injected at its AWS calls."""
    saved = getattr(_running, "current", None)
    _running.current = (function, payload)
    try:
        yield
    finally:
        _running.current = saved


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


@dataclass
class AwsFault:
    """Answer the AWS calls of ``function`` (in ``state``) with ``kind``'s error of the called service."""

    function: str
    kind: str  # aws_errors.THROTTLING | SERVER | DENIED
    state: str | None = None
    service: str | None = None  # boto3 client name; None: any service
    operation: str | None = None  # None: any operation
    times: int | None = 1
    hits: int = 0
    answered: list[str] = field(default_factory=list)  # "<service>:<Operation> <code>" per answer

    def matches(self, function: str, payload: Any, service: str, operation: str) -> bool:
        if self.function not in ("*", function):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        if self.service not in (None, service) or self.operation not in (None, operation):
            return False
        event = payload if isinstance(payload, dict) else {}
        return not (self.state and event.get("state") != self.state)


def error_class(name: str) -> type[Exception]:
    return type(name, (Exception,), {})


class FaultPlan:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.aws_faults: list[AwsFault] = []
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

    def add_aws(
        self,
        function: str,
        kind: str,
        *,
        state: str | None = None,
        service: str | None = None,
        operation: str | None = None,
        times: int | None = 1,
    ) -> AwsFault:
        """Answer ``function``'s AWS calls (in ``state``; of ``service``/``operation``) with AWS's own ``kind``
        error, ``times`` times (``None``: always). Each answer is one HTTP response: botocore's own retries
        consume them one by one."""
        if kind not in aws_errors.KINDS:
            raise ValueError(f"kind must be one of {aws_errors.KINDS}, not {kind!r}")
        fault = AwsFault(function, kind, state, service, operation, times)
        with self._lock:
            self.aws_faults.append(fault)
        return fault

    def aws_response(self, event_name: str, url: str) -> Any:
        """The error response for a request about to be sent (botocore's ``before-send``), or None."""
        current = getattr(_running, "current", None)
        if current is None or not self.aws_faults:
            return None
        function, payload = current
        service, operation = aws_errors.service_of_event(event_name)
        with self._lock:
            for fault in self.aws_faults:
                if fault.matches(function, payload, service, operation):
                    fault.hits += 1
                    error = aws_errors.first(service, fault.kind)
                    fault.answered.append(f"{service}:{operation} {error.code}")
                    break
            else:
                return None
        iam_prefix = {"stepfunctions": "states", "resourcegroupstaggingapi": "tag"}.get(service, service)
        return aws_errors.http_response(error, url, action=f"{iam_prefix}:{operation}")

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.aws_faults.clear()

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
