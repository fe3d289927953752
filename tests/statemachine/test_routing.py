"""State-machine routing, written as Step Functions Local mock-config test cases.

``MockConfigFile.json`` is in Step Functions Local's format: the same file runs on
the real Step Functions Local (``SFN_MOCK_CONFIG=... docker run amazon/aws-stepfunctions-local``,
then start ``<stateMachineArn>#<TestCase>``) and here, on moto's engine, which our
emulator teaches to read it (msk_pair/emulator/mock_config.py). Mocked states do
no AWS work; these tests pin which state follows which outcome.
"""

from __future__ import annotations

from pathlib import Path

import pytest

MOCK_CONFIG = Path(__file__).with_name("MockConfigFile.json")

# test case -> (status, error, states that must be entered, states that must not)
EXPECTED = {
    "HappyPath": (
        "SUCCEEDED",
        None,
        ["Create networks", "Build", "Wait for clusters ACTIVE", "Connect", "Verify", "Assemble output"],
        ["Teardown"],
    ),
    "InvalidInput": ("FAILED", "InvalidInput", ["Validate input"], ["Create networks", "Teardown"]),
    "NetworkFailureRollsBack": (
        "FAILED",
        "Boom",
        ["Roll back?", "Let in-flight tasks end", "Teardown", "Fail with original error"],
        ["Assemble output", "Teardown complete"],
    ),
    "RetainOnFailure": ("FAILED", "Boom", ["Roll back?", "Fail with original error"], ["Teardown"]),
    "TransientIsRetried": ("SUCCEEDED", None, ["Assemble output"], ["Teardown"]),
    "DeleteRetriedWhileInUse": ("SUCCEEDED", None, ["Teardown", "Teardown complete"], ["Create networks"]),
    "PeeringNeverActive": (
        "FAILED",
        "PeeringTimeout",
        ["Peering: wait until active: timed out", "Teardown", "Fail with original error"],
        ["Primary: route to peer"],
    ),
    "ClusterNeverActive": (
        "FAILED",
        "ClusterTimeout",
        ["Wait for clusters ACTIVE: timed out", "Primary: delete cluster", "Fail with original error"],
        ["Primary: associate secret"],
    ),
    "ClusterFailed": (
        "FAILED",
        "ResourceFailed",
        ["Teardown", "Primary: delete secret and key", "Fail with original error"],
        ["Primary: associate secret"],
    ),
    "ClientNeverOnline": (
        "FAILED",
        "ClientTimeout",
        [
            "Primary: wait for client online in SSM: timed out",
            "Primary: terminate client",
            "Teardown: delete client role",
        ],
        ["Primary: bootstrap client"],
    ),
    "BootstrapFailed": (
        "FAILED",
        "ResourceFailed",
        ["Primary: wait for client bootstrap", "Teardown", "Fail with original error"],
        ["Wait for clusters ACTIVE"],
    ),
    "CrossRegionCheckFails": (
        "FAILED",
        "ResourceFailed",
        ["Verify", "Teardown", "Teardown: delete client role", "Fail with original error"],
        ["Assemble output"],
    ),
    "TeardownFailureIsReported": ("FAILED", "TeardownFailed", ["Teardown", "Teardown failed"], ["Teardown complete"]),
    # Issue 12: a request that needs a replacement of a live deployment fails in Plan changes; nothing is made,
    # nothing rolled back.
    "ReplacementIsRefusedBeforeAnything": (
        "FAILED",
        "ReplacementRequired",
        ["Validate input", "Plan changes"],
        ["Create networks", "Roll back?", "Teardown"],
    ),
    # A failure on a deployment that existed rolls back only what this run made.
    "FailedUpdateRollsBackOnlyThisRun": (
        "FAILED",
        "ResourceFailed",
        ["Update clusters", "Roll back only what this run made", "Teardown", "Fail with original error"],
        ["Roll back everything", "Connect"],
    ),
    # MSK refuses DeleteCluster while CREATING: the rollback deletes the rest, then loops until it may.
    # (A mocked response is picked by retry count, not by loop pass, so each state answers once here; the
    # real emulator runs the loops in tests/statemachine/test_clusters.py.)
    "RollbackWaitsForACreatingCluster": (
        "FAILED",
        "Boom",
        [
            "Primary: delete secret and key",
            "Primary: wait until the cluster can be deleted",
            "Primary: delete cluster",
            "Primary: delete network",
            "Fail with original error",
        ],
        ["Teardown failed", "Primary: wait until the cluster can be deleted: timed out"],
    ),
}


@pytest.fixture
def mocked(emu, monkeypatch):
    monkeypatch.setenv("SFN_MOCK_CONFIG", str(MOCK_CONFIG))
    return emu


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_routing(mocked, case):
    status, error, entered, not_entered = EXPECTED[case]
    result = mocked.run({"deploymentName": "mock-dr"}, test_case=case)
    names = [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]
    assert result.status == status, (result.error, result.cause)
    assert result.error == error
    for state in entered:
        assert state in names, f"{state} not entered in {case}: {names}"
    for state in not_entered:
        assert state not in names, f"{state} entered in {case}"


def test_every_test_case_has_an_expectation():
    import json

    cases = json.loads(MOCK_CONFIG.read_text())["StateMachines"]["msk-pair"]["TestCases"]
    assert set(cases) == set(EXPECTED)


def test_rollback_deletes_the_secret_before_it_waits_for_the_cluster(mocked):
    result = mocked.run({"deploymentName": "mock-dr"}, test_case="RollbackWaitsForACreatingCluster")
    names = [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"] == "TaskStateEntered"]
    primary = [n for n in names if n.startswith("Primary:")]
    waiting = "Primary: wait until the cluster can be deleted"
    assert primary.index("Primary: delete secret and key") < primary.index(waiting)
    assert primary.index(waiting) < primary.index("Primary: delete cluster") < primary.index("Primary: delete network")


def test_mocked_retries_follow_the_retry_policy(mocked):
    result = mocked.run({"deploymentName": "mock-dr"}, test_case="DeleteRetriedWhileInUse")
    failures = [e for e in result.events if e["type"] == "TaskFailed"]
    assert len(failures) == 3  # three ResourceInUse, then success on the fourth attempt
