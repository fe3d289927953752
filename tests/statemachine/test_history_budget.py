"""The history model (msk_pair.history) against real executions on the emulator, and the refusal end to end.

For a run, the model walks the ASL along the path the run took, with the run's own polls,
retries and transitions (read from its history), and predicts its event count: it must be
the emulator's, exactly. The worst case for the run's timing must be at least that.
"""

from __future__ import annotations

import json
from typing import Any

from msk_pair import history
from msk_pair.asl import ASL_PATH
from msk_pair.emulator import msk as msk_emulator
from mskpair_core.timing import HISTORY_BUDGET, HISTORY_EVENT_LIMIT
from tests.conftest import leftovers

DEFINITION = json.loads(ASL_PATH.read_text())


def _config(result: Any) -> dict[str, Any]:
    exited = next(
        e["stateExitedEventDetails"]
        for e in result.events
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Validate input"
    )
    return json.loads(exited["output"])["config"]


def _model_holds(result: Any) -> dict[str, int]:
    """The model's prediction for this run is its event count, and its worst case is not below it."""
    assert history.observed_events(DEFINITION, result.events) == len(result.events)
    timing = _config(result)["timing"]
    limits = {"maxClusterPolls": timing["maxClusterPolls"], "maxClientPolls": timing["maxClientPolls"]}
    assert history.at_most(history.execution_events(DEFINITION), limits) >= len(result.events)
    return limits


def _checks(result: Any, loop: str) -> int:
    return sum(1 for e in result.events if e.get("stateEnteredEventDetails", {}).get("name") == loop)


def test_the_model_counts_a_provisioning_event_for_event(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    assert any(e["type"] == "LambdaFunctionFailed" for e in result.events)  # retries are part of what is counted
    _model_holds(result)


def test_the_model_counts_a_rollback_from_a_wait_loop_at_its_limit(emu, sample):
    """The clusters' wait loop runs to its limit (as the worst case assumes), then the whole teardown (which
    waits for the cluster to leave CREATING: MSK refuses to delete it before)."""
    msk_emulator.slow_next_cluster(15 * 60, region="us-east-1")
    sample["timing"] = {"pollSeconds": 60, "clusterTimeoutMinutes": 5}
    result = emu.run(sample)
    assert (result.status, result.error) == ("FAILED", "ClusterTimeout"), result.cause
    assert leftovers() == {}
    limits = _model_holds(result)
    at_most = history.loop_passes(DEFINITION)["Wait for clusters ACTIVE"].value(limits)
    assert _checks(result, "Wait for clusters ACTIVE") == at_most == limits["maxClusterPolls"] + 1


def test_timing_over_the_history_budget_fails_in_the_first_state_and_makes_nothing(emu, sample):
    sample["timing"] = {"pollSeconds": 5, "clusterTimeoutMinutes": 720, "clientTimeoutMinutes": 180}
    result = emu.run(sample)
    assert (result.status, result.error) == ("FAILED", "InvalidInput")
    message = json.loads(result.cause)["errorMessage"]
    assert message.startswith("timing: pollSeconds 5 with clusterTimeoutMinutes 720 and clientTimeoutMinutes 180 ")
    assert f"budget of {HISTORY_BUDGET:,}" in message and f"at {HISTORY_EVENT_LIMIT:,} events" in message
    assert "use a pollSeconds of at least " in message
    entered = [e["stateEnteredEventDetails"]["name"] for e in result.events if "stateEnteredEventDetails" in e]
    assert entered == ["Validate input"]
    assert leftovers() == {}
    assert history.observed_events(DEFINITION, result.events) == len(result.events)  # the uncaught failure's way
