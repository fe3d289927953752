"""The rollback's "Let in-flight tasks end" Wait, and the emulator rule that relies on it.

On AWS a Lambda invoked by a Task keeps running after its branch is stopped, until it returns or
reaches its Timeout ("The amount of time (in seconds) that Lambda allows a function to run before
stopping it", AWS::Serverless::Function Timeout / Lambda CreateFunction API reference). The rollback
waits IN_FLIGHT_WAIT_SECONDS before it looks for what to delete, so that nothing is still being made.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from msk_pair.asl import IN_FLIGHT_WAIT_SECONDS
from msk_pair.emulator import clock as clock_mod
from msk_pair.emulator.cfn import load_template
from msk_pair.emulator.engine import BranchStopped, InFlight, LambdaRuntime, template_functions
from msk_pair.emulator.faults import FaultPlan
from tests.conftest import ROOT


def test_the_rollback_waits_at_least_every_functions_timeout():
    specs = template_functions(load_template(ROOT), ROOT)
    assert specs
    longest = max(spec.timeout for spec in specs.values())
    assert longest <= IN_FLIGHT_WAIT_SECONDS, {k: s.timeout for k, s in specs.items() if s.timeout > 120}


def _runtime() -> LambdaRuntime:
    return LambdaRuntime(specs={}, layer_path=ROOT, faults=FaultPlan())


def _branch(running: bool) -> SimpleNamespace:
    return SimpleNamespace(is_running=lambda: running)


def test_settle_waits_for_a_stopped_branchs_invocation_even_if_its_clock_is_ahead():
    runtime = _runtime()
    now = clock_mod.now()
    # a sibling branch whose own emulated time is far ahead of the Wait's end; its branch is stopped
    runtime._in_flight["sibling"] = InFlight(ends=now + 10_000, branch=_branch(running=False))
    with pytest.raises(TimeoutError):  # it would wait for the invocation to end (here it never does)
        runtime.settle(until=now + IN_FLIGHT_WAIT_SECONDS, real_timeout=0.01)
    runtime._in_flight.pop("sibling")
    runtime.settle(until=now + IN_FLIGHT_WAIT_SECONDS, real_timeout=0.01)


def test_settle_does_not_wait_for_a_running_branch_that_ends_after_the_wait():
    runtime = _runtime()
    now = clock_mod.now()
    runtime._in_flight["running"] = InFlight(ends=now + 10_000, branch=_branch(running=True))
    runtime.settle(until=now + IN_FLIGHT_WAIT_SECONDS, real_timeout=1)  # returns at once


def test_a_stopped_branch_cannot_start_an_invocation():
    runtime = _runtime()
    with pytest.raises(BranchStopped), runtime.task_invocation(_branch(running=False), "anything"):
        pass
    assert runtime._in_flight == {}
    with runtime.task_invocation(_branch(running=True), "anything"):
        assert len(runtime._in_flight) == 1
    assert runtime._in_flight == {}
