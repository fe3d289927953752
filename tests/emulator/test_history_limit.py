"""The emulator ends a Standard execution at 25,000 history events, as AWS does (msk_pair.emulator.history_limit).

AWS: "Maximum execution history size: 25,000 events" (Step Functions service quotas);
"If the event number 25,000 is ExecutionSucceeded, the execution finishes successfully. If
the event number 25,000 isn't ExecutionSucceeded, the ExecutionFailed event is logged"
(https://docs.aws.amazon.com/step-functions/latest/dg/bp-history-limit.html), with
``States.Runtime`` "The execution reached the maximum number of history events (25000)."
and no Catch (github.com/loads/ardere/issues/86, github.com/floci-io/floci/issues/2734).

The machines here are made of Pass states: moto's engine parses every JSONPath it
evaluates anew (a Choice costs about a millisecond), a Pass with ``ResultPath: null``
almost nothing, so 25,000 events cost a second or two of CPU. The history is read from
the emulated Step Functions backend, the list GetExecutionHistory returns: moto's
GetExecutionHistory serializes all 25,000 events in one page, about 10 s of CPU.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from msk_pair.emulator.engine import ACCOUNT_ID, Emulator
from mskpair_core.timing import HISTORY_EVENT_LIMIT, HISTORY_LIMIT_CAUSE, HISTORY_LIMIT_ERROR

CPU_SECONDS_PER_RUN = 30.0  # a few seconds on a quiet machine; far from the minutes a real wait would take


def _pass(next_state: str) -> dict[str, Any]:
    return {"Type": "Pass", "ResultPath": None, "Next": next_state}


class Run:
    def __init__(self, described: dict[str, Any], events: list[dict[str, Any]], cpu: float) -> None:
        self.status = described["status"]
        self.described = described
        self.events = events
        self.cpu = cpu


def _run(emu: Emulator, name: str, definition: dict[str, Any]) -> Run:
    sfn = boto3.client("stepfunctions", region_name=emu.region)
    arn = sfn.create_state_machine(
        name=name,
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{name}",
        type="STANDARD",
    )["stateMachineArn"]
    cpu = time.process_time()
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        time.sleep(0.05)  # real time: moto's execution thread runs meanwhile (Emulator.wait polls the same way)
    cpu = time.process_time() - cpu
    backend = stepfunctions_parser_backends[ACCOUNT_ID][emu.region]
    return Run(described, backend.get_execution_history(execution)["events"], cpu)


def _assert_ended_by_the_limit(run: Run) -> None:
    events = run.events
    assert [e["id"] for e in events] == list(range(1, HISTORY_EVENT_LIMIT + 1))
    last = events[-1]
    assert last["type"] == "ExecutionFailed"
    assert last["executionFailedEventDetails"] == {"error": HISTORY_LIMIT_ERROR, "cause": HISTORY_LIMIT_CAUSE}
    assert events[-2]["type"] not in {"ExecutionFailed", "ExecutionSucceeded"}  # 24,999 is the last real event
    assert sum(e["type"].startswith("Execution") for e in events) == 2  # started, failed: nothing after the limit
    described = run.described
    assert (described["status"], described["error"], described["cause"]) == (
        "FAILED",
        "States.Runtime",
        "The execution reached the maximum number of history events (25000).",
    )


def test_a_loop_that_never_ends_fails_at_event_25000(emu: Emulator) -> None:
    forever = {"StartAt": "Spin", "States": {"Spin": _pass("Spin again"), "Spin again": _pass("Spin")}}
    run = _run(emu, "forever", forever)
    _assert_ended_by_the_limit(run)
    assert {e["type"] for e in run.events[1:-1]} == {"PassStateEntered", "PassStateExited"}
    assert run.cpu < CPU_SECONDS_PER_RUN


def test_the_limit_ends_the_execution_inside_a_parallel_and_no_catch_runs(emu: Emulator) -> None:
    """As in the real workflow: the loops live in Parallel branches whose Catch leads to the rollback."""
    machine = {
        "StartAt": "Build",
        "States": {
            "Build": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Spin", "States": {"Spin": _pass("Spin again"), "Spin again": _pass("Spin")}},
                    {"StartAt": "Other", "States": {"Other": {"Type": "Pass", "End": True}}},
                ],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Roll back"}],
                "Next": "Done",
            },
            "Roll back": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    run = _run(emu, "branch-forever", machine)
    _assert_ended_by_the_limit(run)
    types = [e["type"] for e in run.events]
    assert "ParallelStateFailed" not in types and "ParallelStateExited" not in types
    entered = {e["stateEnteredEventDetails"]["name"] for e in run.events if "stateEnteredEventDetails" in e}
    assert entered == {"Build", "Spin", "Spin again", "Other"}  # never "Roll back" nor "Done"


def _counted(rounds: int, passes: int, tail: int) -> dict[str, Any]:
    """``rounds`` times ``passes`` Pass states and a count, then ``tail`` Pass states and Succeed.

    Its history: ExecutionStarted, Start (2), rounds x (2 passes + Count 2 + More? 2), 2 per tail
    Pass, Done (2), ExecutionSucceeded.
    """
    states: dict[str, Any] = {
        "Start": {"Type": "Pass", "Result": {"n": 0}, "ResultPath": "$.c", "Next": "P0"},
        **{f"P{i}": _pass(f"P{i + 1}" if i + 1 < passes else "Count") for i in range(passes)},
        "Count": {
            "Type": "Pass",
            "Parameters": {"n.$": "States.MathAdd($.c.n, 1)"},
            "ResultPath": "$.c",
            "Next": "More?",
        },
        "More?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.c.n", "NumericLessThan": rounds, "Next": "P0"}],
            "Default": "T0",
        },
        **{f"T{i}": _pass(f"T{i + 1}" if i + 1 < tail else "Done") for i in range(tail)},
        "Done": {"Type": "Succeed"},
    }
    return {"StartAt": "Start", "States": states}


@pytest.mark.parametrize(
    ("tail", "status"),
    [(1, "SUCCEEDED"), (2, "FAILED")],
    ids=["event-25000-is-ExecutionSucceeded", "two-events-more"],
)
def test_event_25000_may_be_execution_succeeded_and_nothing_else(emu: Emulator, tail: int, status: str) -> None:
    rounds, passes = 176, 69  # 1 + 2 + 176 x (2 x 69 + 4) + 2 x 1 + 2 + 1 = 25,000 events with one tail Pass
    assert 1 + 2 + rounds * (2 * passes + 4) + 2 * tail + 2 + 1 == HISTORY_EVENT_LIMIT + 2 * (tail - 1)
    run = _run(emu, f"counted-{tail}", _counted(rounds, passes, tail))
    assert run.status == status
    if status == "FAILED":
        _assert_ended_by_the_limit(run)
    else:
        assert [e["id"] for e in run.events] == list(range(1, HISTORY_EVENT_LIMIT + 1))
        assert run.events[-1]["type"] == "ExecutionSucceeded"
