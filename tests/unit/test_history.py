"""msk_pair.history: the worst-case history size, walked from the ASL (any ASL: nothing there names a state).

The emulator runs that check the model event for event are in tests/statemachine/test_history_budget.py.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from msk_pair import asl, history
from msk_pair.history import Form, ModelError, Retries, WorstCase, execution_events
from mskpair_core import timing

LIMITS = {"maxClusterPolls": 120, "maxClientPolls": 30}


def _worst(definition: dict[str, Any], retries: Retries = Retries.ONCE_PER_LOOP) -> int:
    return history.at_most(execution_events(definition, WorstCase(retries)), LIMITS)


def _task(function: str, **kwargs: Any) -> dict[str, Any]:
    return asl.task(function, **kwargs)


def test_committed_model_is_what_the_committed_asl_gives(tmp_path):
    assert timing.MODEL_PATH.read_text() == history.render_model(json.loads(asl.ASL_PATH.read_text()))
    assert history.main(["--check"]) == 0
    out = tmp_path / "model.json"
    assert history.main(["--check", "--out", str(out)]) == 1
    assert history.main(["--out", str(out)]) == 0
    assert history.main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text().replace('"constant": ', '"constant": 1'))
    assert history.main(["--check", "--out", str(out)]) == 1


def test_hand_counted_machine():
    """A task with two retriers, a counted loop bounded at 4 polls, a Succeed; counted by hand."""
    check = _task("CheckFunction")
    check["Retry"] = [{"ErrorEquals": ["A"], "MaxAttempts": 2}, {"ErrorEquals": ["B"]}]  # B: 3 by default
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {**_task("WorkFunction", next_state="Poll: start"), "Retry": check["Retry"]},
            **asl.poll_loop(
                "Poll",
                check,
                result_path="$.poll",
                ready_path="$.poll.done",
                ready="yes",
                wait_seconds=10,
                max_polls=4,
                timeout_error="Timeout",
                timeout_cause="too long",
                next_state="Done",
            ),
            "Done": {"Type": "Succeed"},
        },
    }
    attempts = 1 + 2 + 3
    expected = (
        2  # ExecutionStarted, ExecutionSucceeded | ExecutionFailed
        + 2
        + 3 * attempts  # Work: Entered, Exited; Scheduled, Started, Failed|Succeeded per attempt
        + 2  # Poll: start (Pass)
        + 5 * (2 + 3)  # the check at counts 0..4, one attempt each
        + 3 * (attempts - 1)  # ... and one poll that exhausts both retriers (once per loop)
        + 5 * 2  # Poll: ready? (Choice), at counts 0..4
        + 4 * 2  # Poll: wait, at counts 0..3
        + 4 * 2  # Poll: count, at counts 0..3
        + 2  # Done (Succeed), or 1 for Poll: timed out (Fail): the longest way is Done
    )
    assert execution_events(definition) == (Form.of(expected),)
    every_poll = expected + 3 * (attempts - 1) * (5 - 1)  # each of the 5 checks exhausts its retriers
    assert execution_events(definition, WorstCase(Retries.EVERY_POLL)) == (Form.of(every_poll),)


def test_a_timing_bound_becomes_a_variable():
    definition = {
        "StartAt": "Wait for it: start",
        "States": asl.poll_loop(
            "Wait for it",
            {**_task("CheckFunction"), "Retry": []},
            result_path="$.it",
            ready_path="$.it.state",
            ready="READY",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClusterPolls",
            timeout_error="Timeout",
            timeout_cause="too long",
            next_state="Wait for it: done",
        )
        | {"Wait for it: done": {"Type": "Succeed"}},
    }
    # Per poll: check (5), ready? (2), wait (2), count (2); plus the last check and ready?, start, Succeed.
    assert execution_events(definition) == (Form.of(2 + 2 + 7 + 2, maxClusterPolls=11),)


def test_parallel_branches_add_up_and_a_failure_may_follow_the_longest():
    """A branch may fail at its very end after the others ran to their end: the Catch way counts all of them."""
    may_fail = {
        "StartAt": "L1",
        "States": {"L1": {"Type": "Pass", "Next": "L2"}, "L2": {**_task("LastFunction"), "Retry": []}},
    }
    short = {"StartAt": "S1", "States": {"S1": {"Type": "Pass", "End": True}}}
    definition = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [may_fail, short],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
                "Next": "Done",
            },
            "Recover": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }
    ok = 2 + 4 + (2 + 2 + 3) + 2 + 2  # execution, Parallel, L1 + L2 (one attempt), S1, Done
    caught = 2 + 4 + (2 + 1 + 3) + 2 + 2 + 2  # L2 fails uncaught in its branch (no Exited); Recover, Done
    assert caught > ok
    assert execution_events(definition) == (Form.of(caught),)


def test_the_model_follows_the_asl(monkeypatch):
    """A new wait loop in each region's teardown (as one waiting for CREATING would be) is counted at once."""
    before = execution_events(asl.build())
    definition = asl.build()
    added = 0
    for branch in definition["States"]["Teardown"]["Branches"]:
        role = branch["StartAt"].split(":")[0].lower()
        first = branch["StartAt"]
        loop = asl.poll_loop(
            f"{role}: wait until not CREATING",
            asl.task("ClusterStatusFunction", role=role),
            result_path="$.creating",
            ready_path="$.creating.state",
            ready="ACTIVE",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClusterPolls",
            timeout_error="TeardownFailed",
            timeout_cause="still CREATING",
            next_state=first,
        )
        branch["States"] = {**loop, **branch["States"]}
        branch["StartAt"] = f"{role}: wait until not CREATING: start"
        added += 1
    after = execution_events(definition)
    assert len(before) == len(after) == 1
    grown = after[0].coefficients["maxClusterPolls"] - before[0].coefficients["maxClusterPolls"]
    assert grown == added * (2 + 3 + 2 + 2 + 2)  # per poll: check (Entered, Exited, 1 attempt), ready?, wait, count


def test_every_poll_retries_is_the_larger_reading():
    definition = asl.build()
    assert _worst(definition, Retries.EVERY_POLL) > _worst(definition)


def test_every_loop_of_the_machine_is_found_with_its_bound():
    loops = history.loop_passes(asl.build())
    assert loops["Wait for clusters ACTIVE"] == Form.of(1, maxClusterPolls=1)
    assert loops["Primary: wait for verification"] == Form.of(1, maxClientPolls=1)
    assert loops["Peering: wait until active"] == Form.of(asl.PEERING_MAX_POLLS + 1)
    assert len(loops) == sum(1 for s in _all_states(asl.build()) if s.endswith(": count"))


def _all_states(definition: dict[str, Any]) -> list[str]:
    names = []
    for name, state in definition["States"].items():
        names.append(name)
        for branch in state.get("Branches", []):
            names += _all_states(branch)
    return names


# -- what the walk refuses to guess --------------------------------------------------------------
def _machine(states: dict[str, Any], start: str = "A") -> dict[str, Any]:
    return {"StartAt": start, "States": states}


def test_a_cycle_without_a_counter_is_refused():
    spin = _machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}})
    with pytest.raises(ModelError, match="counter bounds"):
        execution_events(spin)


def test_a_loop_whose_counter_is_never_counted_is_refused():
    definition = copy.deepcopy(_hand_loop())
    definition["States"]["Poll: count"]["Parameters"] = {"count.$": "$.poll"}
    with pytest.raises(ModelError, match="counted"):
        execution_events(definition)


def test_a_loop_bound_that_is_not_a_timing_limit_is_refused():
    definition = copy.deepcopy(_hand_loop())
    rule = definition["States"]["Poll: ready?"]["Choices"][1]
    rule.pop("NumericGreaterThanEquals")
    rule["NumericGreaterThanEqualsPath"] = "$.somewhere.else"
    with pytest.raises(ModelError, match="not a timing limit"):
        execution_events(definition)


def test_states_the_model_cannot_count_are_refused():
    with pytest.raises(ModelError, match="Map"):
        execution_events(_machine({"A": {"Type": "Map", "ItemProcessor": {}, "End": True}}))
    sync = {"Type": "Task", "Resource": "arn:aws:states:::ecs:runTask.sync", "End": True}
    with pytest.raises(ModelError, match="not a Lambda"):
        execution_events(_machine({"A": sync}))
    parallel = {"Type": "Parallel", "Branches": [], "Retry": [{"ErrorEquals": ["X"]}], "End": True}
    with pytest.raises(ModelError, match="Retry on a Parallel"):
        execution_events(_machine({"A": parallel}))


def _hand_loop() -> dict[str, Any]:
    return _machine(
        {
            **asl.poll_loop(
                "Poll",
                {**_task("CheckFunction"), "Retry": []},
                result_path="$.poll",
                ready_path="$.poll.done",
                ready="yes",
                wait_seconds=10,
                max_polls=4,
                timeout_error="Timeout",
                timeout_cause="too long",
                next_state="Done",
            ),
            "Done": {"Type": "Succeed"},
        },
        start="Poll: start",
    )
