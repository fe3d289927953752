"""The fault matrix: every task state of the real state machine, generated from the ASL.

The AWS faults are injected *at the AWS call*, as the service's own error response
(``FaultPlan.add_aws``, ``msk_pair.emulator.aws_errors``: the code, HTTP status and message each
service returns), so botocore's parser and retries, the layer's classification and the state
machine's Retry and Catch are all on the path under test.

For each provisioning task state:
  (a) its AWS calls are refused for lack of permission (EC2 ``UnauthorizedOperation``, IAM
      ``AccessDenied``, the others ``AccessDeniedException``): the state is not retried, the run
      ends in teardown, then zero tagged resources in both regions (KMS keys pending deletion count
      as gone), and the execution fails with ``AccessDenied`` naming the service's code;
  (b+c) its first AWS call is throttled (every other state: answered 5xx) for longer than boto3
      retries, so ``Transient`` reaches the state machine, then a crash after its AWS work succeeded
      but before it returned (``Sandbox.Timedout``, as a Lambda timeout would): both are retried and
      the execution succeeds with no duplicate resource.
For each teardown task state (reached by a rollback):
  (b+c) the same two faults are retried and the rollback still leaves nothing;
  (a) a refused call is reported (``TeardownFailed``) and a teardown run afterwards cleans up.

A new state in src/msk_pair/asl.py is covered without writing a test.

The (b+c) faults are injected into every state of a phase in the same run (each state
throws once, then crashes once after its work, then succeeds): one run proves it for all
of them, and for their interplay. ``MSK_PAIR_FULL_MATRIX=1`` runs them one state per run
instead (slower; the failing state is then named by the test id).
"""

from __future__ import annotations

import json
import os

import pytest

from msk_pair.asl import task_states
from msk_pair.emulator import ssm as ssm_emulator
from msk_pair.emulator.aws_errors import DENIED, SERVER, THROTTLING
from msk_pair.emulator.inventory import inventory
from mskpair_core.aws import ACCESS_DENIED_CODES, BOTO_CONFIG
from tests.conftest import REGIONS, ROOT, TEARDOWN_REQUEST, leftovers

STATES = task_states(json.loads((ROOT / "statemachine" / "msk_pair.asl.json").read_text()))
PROVISIONING = [s for s in STATES if not s.teardown]
TEARDOWN = [s for s in STATES if s.teardown]
LAST_STATE = "Secondary: wait for verification"  # every resource exists by then

# What one deployment is made of: no step may make a second one of anything.
EXPECTED_PER_REGION = {
    "vpcs": 1,
    "subnets": 4,
    "internetGateways": 1,
    "routeTables": 2,  # the public one, and the VPC's main table (tagged, see network.create_network)
    "securityGroups": 2,  # the client's, and the VPC's default group (tagged)
    "instances": 1,
    "peeringConnections": 1,
    "clusters": 1,
    "secrets": 1,
    "kmsKeys": 1,
}


COMMANDS_PRIMARY = ("bootstrap", "verify", "canary")
COMMANDS_SECONDARY = ("bootstrap", "verify", "mm2-start", "replication-check")
# Teardown states whose failure must not stop the teardown: stopping MirrorMaker 2 before the client is
# terminated is a courtesy (the termination stops it anyway); its errors go on to the next state.
COURTESY = {"Secondary: stop MirrorMaker 2"}


def ids(states):
    return [s.name for s in states]


FULL = os.environ.get("MSK_PAIR_FULL_MATRIX") == "1"
PROVISIONING_GROUPS = [[s] for s in PROVISIONING] if FULL else [PROVISIONING]
TEARDOWN_GROUPS = [[s] for s in TEARDOWN] if FULL else [TEARDOWN]


def group_ids(groups):
    return [g[0].name if len(g) == 1 else f"all {len(g)} states" for g in groups]


# One request and botocore's retries (``max_attempts`` counts retries): an error answered this many
# times outlasts boto3 and reaches the state machine.
OUTLASTS_BOTO3 = BOTO_CONFIG.retries["max_attempts"] + 1


def throttle_then_crash(emu, states):
    faults = []
    for n, state in enumerate(states):
        kind = THROTTLING if n % 2 == 0 else SERVER
        faults.append(emu.faults.add_aws(state.function, kind, state=state.name, times=OUTLASTS_BOTO3))
        emu.faults.add(state.function, state=state.name, error="Sandbox.Timedout", message="Task timed out", after=True)
    return faults


def assert_every_state_was_retried(result, states, faults):
    unanswered = [s.name for s, f in zip(states, faults, strict=True) if f.hits < OUTLASTS_BOTO3]
    assert not unanswered, f"states whose AWS calls were not failed past boto3's retries: {unanswered}"
    failed = {}
    for event in result.events:
        if event["type"] == "LambdaFunctionFailed":
            failed[event["id"]] = event["lambdaFunctionFailedEventDetails"]["error"]
    # each state's first attempt was a Transient, its second a crash after its work
    errors = [e for e in failed.values()]
    assert errors.count("Transient") >= len(states)
    assert errors.count("Sandbox.Timedout") >= len(states)


def test_the_matrix_covers_every_task_state():
    assert len(PROVISIONING) > 30 and len(TEARDOWN) > 10
    assert any(s.name == LAST_STATE for s in PROVISIONING)


@pytest.mark.parametrize("state", PROVISIONING, ids=ids(PROVISIONING))
def test_a_refused_call_rolls_back_everything(emu, sample, state):
    refused = emu.faults.add_aws(state.function, DENIED, state=state.name, times=None)
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "AccessDenied", (result.error, result.cause)
    assert refused.hits == 1, refused.answered  # sent once: neither boto3 nor the state machine retried it
    code = refused.answered[0].split()[-1]
    assert code in ACCESS_DENIED_CODES and code in result.cause and "is not authorized" in result.cause
    assert leftovers() == {}


@pytest.mark.parametrize("states", PROVISIONING_GROUPS, ids=group_ids(PROVISIONING_GROUPS))
def test_throttle_and_crash_after_success_are_retried_without_duplicates(emu, sample, states):
    faults = throttle_then_crash(emu, states)
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert_every_state_was_retried(result, states, faults)
    made = inventory("orders-dr", REGIONS)
    for region in REGIONS:
        assert {k: len(v) for k, v in made[region].items()} == EXPECTED_PER_REGION, region
    assert {k: len(v) for k, v in made["iam"].items()} == {"roles": 1, "instanceProfiles": 1}
    # none sent twice: bootstrap and verification on both; the canary on the primary; MirrorMaker 2's start
    # and the replication check on the secondary
    for region, kinds in zip(REGIONS, (COMMANDS_PRIMARY, COMMANDS_SECONDARY), strict=True):
        sent = [c["comment"].split()[1] for c in ssm_emulator.sent_commands(region)]
        assert sorted(sent) == sorted(kinds), sent


@pytest.mark.parametrize("states", TEARDOWN_GROUPS, ids=group_ids(TEARDOWN_GROUPS))
def test_rollback_retries_throttles_and_crashes_and_leaves_nothing(emu, sample, states):
    emu.faults.add("ClientCommandStatusFunction", state=LAST_STATE, error="HardFault", times=None)
    faults = throttle_then_crash(emu, states)
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "HardFault", result.cause
    assert_every_state_was_retried(result, states, faults)
    assert leftovers() == {}


@pytest.mark.parametrize("state", TEARDOWN, ids=ids(TEARDOWN))
def test_a_refused_call_in_teardown_is_reported_and_a_later_teardown_cleans_up(emu, sample, state):
    emu.faults.add("ClientCommandStatusFunction", state=LAST_STATE, error="HardFault", times=None)
    refused = emu.faults.add_aws(state.function, DENIED, state=state.name, times=None)
    result = emu.run(sample)
    assert result.status == "FAILED"
    if state.name in COURTESY:  # the rollback goes on, and ends with the original error
        assert result.error == "HardFault", result.cause
        assert leftovers() == {}
        return
    assert result.error == "TeardownFailed"
    assert refused.hits >= 1 and "is not authorized" in result.cause, (refused.answered, result.cause)
    emu.faults.clear()
    again = emu.run(TEARDOWN_REQUEST)
    assert again.status == "SUCCEEDED", again.cause
    assert leftovers() == {}
