"""The deployed-stack tier's three checks, as functions of a :class:`~tests.integration.support.Stack`.

``test_deployed_stack.py`` runs them against a real stack (skipped unless one is configured);
``test_rehearsal.py`` runs the very same functions on the emulator in every default run, so what they
assert about the state machine is proven here even though AWS is not.
"""

from __future__ import annotations

import json

from tests.integration import support
from tests.integration.support import Stack


def bad_input_fails_and_makes_nothing(stack: Stack, deployment: str) -> None:
    """Overlapping CIDRs: FAILED with ``InvalidInput`` in the first state, the cause naming the field;
    nothing tagged with the deployment exists afterwards."""
    request = support.sample_request(deployment)
    request["secondary"]["vpcCidr"] = "10.0.128.0/17"  # inside the primary's 10.0.0.0/16
    desc = support.run_to_end(stack, request, support.execution_name(deployment, "bad-input"), stack.timeouts.bad_input)
    assert desc["status"] == "FAILED", support.summary(desc)
    assert desc.get("error") == "InvalidInput", support.summary(desc)
    assert "secondary.vpcCidr" in support.cause_message(desc.get("cause")), support.summary(desc)
    assert support.entered_states(support.history(stack, desc["executionArn"])) == ["Validate input"]
    assert support.settled_leftovers(stack, deployment, support.regions_of(request)) == {}


def teardown_of_a_missing_deployment_succeeds(stack: Stack, deployment: str) -> None:
    """``mode: teardown`` for a deployment that never existed: SUCCEEDED, and still nothing exists."""
    regions = support.regions_of(support.sample_request(deployment))
    assert support.leftovers(stack.session, deployment, regions) == {}, "a fresh deployment name is in use"
    desc = support.run_to_end(
        stack,
        support.teardown_request(deployment, regions),
        support.execution_name(deployment, "teardown"),
        stack.timeouts.teardown_of_nothing,
    )
    assert desc["status"] == "SUCCEEDED", support.summary(desc)
    assert support.settled_leftovers(stack, deployment, regions) == {}


def provision_then_teardown(stack: Stack, deployment: str) -> None:
    """Provision ``events/region-pair.json`` as ``deployment``: SUCCEEDED, the output contract, no SCRAM
    password anywhere in the execution history; then, always (``finally``), the teardown: SUCCEEDED and
    nothing tagged with the deployment left in either region or IAM."""
    request = support.sample_request(deployment)
    regions = support.regions_of(request)
    print(
        f"deployment {deployment}: if this run is killed, delete it with "
        f"`msk-pair teardown --deployment {deployment} --primary-region {regions[0]} --secondary-region {regions[1]}`"
    )
    arn = None
    stopped = False
    try:
        arn = support.start(stack, request, support.execution_name(deployment, "provision"))
        print(f"started {arn}")
        try:
            desc = support.wait_for_end(stack, arn, stack.timeouts.provision, stack.timeouts.long_poll)
        except support.ExecutionTimeout:
            stopped = True  # wait_for_end stopped it
            raise
        assert desc["status"] == "SUCCEEDED", support.summary(desc)
        output = json.loads(desc["output"])
        problems = support.contract_problems(output, request)
        assert problems == [], problems

        # The leftover finder sees what was made (so its empty answer after teardown means something).
        made = support.leftovers(stack.session, deployment, regions)
        for role, region in zip(("primary", "secondary"), regions, strict=True):
            assert output[role]["clusterArn"] in made.get(region, []), (role, made)
        assert made.get("iam"), made

        events = support.history(stack, arn)
        for role in ("primary", "secondary"):
            password = support.read_scram_password(stack, output[role]["scramSecretArn"])
            assert len(password) >= 16, f"the {role} secret's password is too short to be a generated one"
            leaking = support.events_containing(events, password)
            assert leaking == [], f"the {role} SCRAM password appears in history events {leaking}"
            assert support.events_containing([{"id": 0, "output": desc["output"]}], password) == []
    finally:
        # Never tear down under a running provisioning (its guard would refuse, and it would build on):
        # stop it if it still runs (an interrupted wait), then let its in-flight Lambdas end, as the rollback does.
        if arn is not None:
            stopped = support.stop_if_running(stack, arn, "the integration test is tearing down") or stopped
        if stopped:
            stack.sleep(stack.timeouts.in_flight)
        teardown = support.run_teardown(stack, deployment, regions)
        assert teardown["status"] == "SUCCEEDED", support.summary(teardown)
        assert support.settled_leftovers(stack, deployment, regions) == {}
