"""The deployed-stack tier's own code, proven where AWS is not reachable (these run in every default run).

- the three scenarios of ``test_deployed_stack.py``, unchanged, against the real ASL and handlers on the
  emulator: only the Stack's ``sleep`` and ``settle`` differ (emulated time, no real waiting);
- the timeout path of the full scenario: the provisioning is stopped, its in-flight Lambdas end, the
  teardown still runs and leaves nothing; a teardown refused with Conflict is started again, boundedly;
- the leftover finder against moto's Tagging API, the history scan, the skip logic.
"""

from __future__ import annotations

import dataclasses
import json
import threading

import boto3
import pytest
from moto import mock_aws

from msk_pair.emulator.engine import _real_sleep
from tests.integration import scenarios, support
from tests.integration.support import Secret, Stack, Timeouts

REHEARSAL_TIMEOUTS = Timeouts(
    bad_input=60, teardown_of_nothing=60, provision=120, teardown=120, leftovers_settle=0, poll=0, long_poll=0
)
"""Real seconds on the emulator: a whole provisioning takes a few."""


def emulated(emu, timeouts: Timeouts = REHEARSAL_TIMEOUTS) -> Stack:
    """A Stack on the emulator. ``sleep`` lets emulated time pass for the observer and, as on AWS, lets the
    Lambda invocations that would have ended by then end; the real pause only yields to the engine's threads
    (as ``Emulator.wait`` does). ``settle``: the observer catches up with the execution's emulated time."""

    def sleep(seconds: float) -> None:
        emu.clock.advance(seconds)
        emu.runtime.settle(until=emu.clock.now())
        _real_sleep(0.05)

    return Stack(
        session=boto3.Session(region_name=emu.region),
        region=emu.region,
        state_machine_arn=emu.state_machine_arn,
        timeouts=timeouts,
        sleep=sleep,
        settle=emu.clock.catch_up,
    )


# -- the scenarios on the emulator ---------------------------------------------------------------------------
def test_bad_input_scenario_on_the_emulator(emu):
    scenarios.bad_input_fails_and_makes_nothing(emulated(emu), support.unique_deployment_name())


def test_teardown_of_a_missing_deployment_scenario_on_the_emulator(emu):
    scenarios.teardown_of_a_missing_deployment_succeeds(emulated(emu), support.unique_deployment_name())


def test_full_scenario_on_the_emulator_and_the_finder_ignores_what_is_only_listed(emu):
    stack = emulated(emu)
    deployment = support.unique_deployment_name()
    scenarios.provision_then_teardown(stack, deployment)
    # After the teardown the Tagging API still lists "previously tagged" resources (a terminated instance,
    # a deleted peering, keys pending deletion): the finder confirmed each gone with its own service.
    listed = support.tagged_arns(stack.session, "us-east-1", deployment)
    kinds = {arn.split(":")[5].split("/")[0] for arn in listed}
    assert {"instance", "vpc-peering-connection", "key"} <= kinds, listed
    assert support.leftovers(stack.session, deployment, ["us-east-1", "us-west-2"]) == {}


def test_a_provisioning_past_its_bound_is_stopped_and_still_torn_down(emu, monkeypatch):
    """The most expensive path to get wrong: the provisioning times out. It is stopped, its in-flight
    Lambdas end (the Stack's sleep of ``in_flight``), the teardown in ``finally`` runs and leaves nothing.

    The provisioning is held in ``Primary: launch client`` (its Lambda in flight) until the bound has passed
    and it was stopped: it cannot end first however fast the machine is (it once did, in under 1.5 s), and
    the held Lambda ends after the stop, as an in-flight Lambda does on AWS, making a client machine that
    the teardown must still find."""
    stopped = threading.Event()
    real_before = emu.faults.before

    def before(function, payload):
        if function == "ClientLaunchFunction" and payload.get("role") == "primary":
            assert stopped.wait(60), "the provisioning was not stopped"
        real_before(function, payload)

    monkeypatch.setattr(emu.faults, "before", before)
    stack = emulated(emu, dataclasses.replace(REHEARSAL_TIMEOUTS, provision=1.5))
    # released once StopExecution has been answered (moto, unlike AWS, says ABORTED only when the task returns)
    stack.session._session.register("after-call.sfn.StopExecution", lambda **_: stopped.set())
    deployment = support.unique_deployment_name()
    with pytest.raises(support.ExecutionTimeout):
        scenarios.provision_then_teardown(stack, deployment)
    assert stopped.is_set()
    sfn = stack.client("stepfunctions")
    runs = {
        e["name"].split("-")[2]: e["status"]
        for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
    }
    # On AWS a stopped execution is ABORTED (StopExecution); moto's engine may instead end it FAILED with the
    # error of the state it was retrying. Either way it no longer ran when the teardown started.
    assert runs["provision"] in ("ABORTED", "FAILED") and runs["teardown"] == "SUCCEEDED", runs
    assert support.leftovers(stack.session, deployment, ["us-east-1", "us-west-2"]) == {}


def test_a_teardown_refused_with_conflict_is_started_again_a_bounded_number_of_times(emu):
    """While a provisioning of the deployment runs, its teardown is refused with Conflict (and touches nothing):
    run_teardown starts it again, at most TEARDOWN_ATTEMPTS times, and then reports the Conflict."""
    stack = emulated(emu)
    deployment = support.unique_deployment_name()
    request = support.sample_request(deployment)
    provisioning = support.start(stack, request, support.execution_name(deployment, "provision"))
    try:
        desc = support.run_teardown(stack, deployment, support.regions_of(request))
        assert desc["status"] == "FAILED" and desc["error"] == "Conflict", support.summary(desc)
        sfn = stack.client("stepfunctions")
        teardowns = [
            e
            for e in sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]
            if "-teardown-" in e["name"]
        ]
        assert len(teardowns) == support.TEARDOWN_ATTEMPTS
        assert {sfn.describe_execution(executionArn=e["executionArn"])["error"] for e in teardowns} == {"Conflict"}
    finally:  # leave nothing running in this emulator
        if support.stop_if_running(stack, provisioning, "test over"):
            stack.sleep(stack.timeouts.in_flight)


# -- helpers on moto ---------------------------------------------------------------------------------------------
@pytest.fixture
def aws(fake_credentials):
    with mock_aws():
        yield boto3.Session(region_name="us-east-1")


def test_the_finder_lists_tagged_resources_until_each_is_gone(aws):
    tags = [{"Key": "msk-pair:deployment", "Value": "it-0"}]
    ec2 = aws.client("ec2", region_name="us-west-2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}])["Vpc"][
        "VpcId"
    ]
    sm = aws.client("secretsmanager")
    secret = sm.create_secret(Name="AmazonMSK_it-0", SecretString="{}", Tags=tags)["ARN"]
    iam = aws.client("iam")
    iam.create_role(RoleName="msk-pair-it-0-client", AssumeRolePolicyDocument="{}")
    aws.client("ec2", region_name="us-west-2").create_vpc(CidrBlock="10.8.0.0/16")  # untagged: not ours
    ec2.create_vpc(  # another deployment's
        CidrBlock="10.7.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "msk-pair:deployment", "Value": "it-1"}]}],
    )

    found = support.leftovers(aws, "it-0", ["us-east-1", "us-west-2"])
    assert found == {
        "us-east-1": [secret],
        "us-west-2": [f"arn:aws:ec2:us-west-2:123456789012:vpc/{vpc}"],
        "iam": ["role/msk-pair-it-0-client"],
    }

    role_arn = iam.get_role(RoleName="msk-pair-it-0-client")["Role"]["Arn"]
    assert support._alive(aws, role_arn)  # should the Tagging API list IAM roles: confirmed with IAM too

    ec2.delete_vpc(VpcId=vpc)
    sm.delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)
    iam.delete_role(RoleName="msk-pair-it-0-client")
    assert support.leftovers(aws, "it-0", ["us-east-1", "us-west-2"]) == {}
    assert not support._alive(aws, role_arn)


def test_a_stuck_execution_is_stopped_at_its_bound_without_real_waiting(aws):
    """moto (without its engine) keeps an execution RUNNING forever: the poll gives up at the bound,
    stops it, and says so. The clock is fake: no real time passes."""
    role = aws.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    sfn = aws.client("stepfunctions")
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
    machine = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    stack = Stack(session=aws, region="us-east-1", state_machine_arn=machine, sleep=sleep, clock=lambda: now[0])
    with pytest.raises(support.ExecutionTimeout, match="still RUNNING after 100 s"):
        support.run_to_end(stack, {}, "stuck", timeout=100, poll=30)
    assert slept == [30, 30, 30, 10]
    (execution,) = sfn.list_executions(stateMachineArn=machine)["executions"]
    assert execution["status"] == "ABORTED"


def test_the_history_scan_finds_a_secret_in_any_json_form_and_never_shows_it():
    secret = Secret('pa"ss\\word-0123456789')
    events = [
        {"id": 1, "type": "TaskSucceeded", "output": json.dumps({"password": 'pa"ss\\word-0123456789'})},
        {
            "id": 2,
            "type": "TaskSucceeded",
            "output": json.dumps({"nested": json.dumps({"p": 'pa"ss\\word-0123456789'})}),
        },
        {"id": 3, "type": "TaskSucceeded", "output": json.dumps({"password": "something-else"})},
        {"id": 4, "type": "PassStateExited", "stateExitedEventDetails": {"output": 'pa"ss\\word-0123456789'}},
    ]
    assert support.events_containing(events, secret) == [1, 2, 4]
    assert support.events_containing(events[2:3], secret) == []
    assert "word" not in repr(secret) and "word" not in str(secret) and "word" not in f"{[secret]}"


def test_the_output_contract_check_names_what_is_wrong():
    request = support.sample_request("it-0")
    side = {
        "region": "us-east-1",
        "vpcId": "vpc-1",
        "vpcCidr": "10.0.0.0/16",
        "clusterArn": "arn:aws:kafka:us-east-1:1:cluster/x/y",
        "bootstrapBrokersSaslScram": "b-1.x:9096,b-2.x:9096",
        "scramSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:AmazonMSK_it-0-abc",
        "kmsKeyArn": "arn:aws:kms:us-east-1:1:key/k",
        "clientInstanceId": "i-1",
        "clientSecurityGroupId": "sg-1",
        "commands": {"bootstrap": "c1", "verify": "c2"},
        "smokeTestPassed": True,
        "changes": {"cluster": [], "clientReplaced": False},
    }
    good = {
        "deploymentName": "it-0",
        "existedBefore": False,
        "primary": side,
        "secondary": {
            **side,
            "region": "us-west-2",
            "vpcCidr": "172.31.0.0/16",
            "clusterArn": "arn:aws:kafka:us-west-2:1:c",
        },
        "peering": {
            "vpcPeeringConnectionId": "pcx-1",
            "status": "active",
            "crossRegionCheck": {"primaryReachesSecondary": True, "secondaryReachesPrimary": True},
        },
        "replication": {
            "service": {
                "name": "msk-pair-mm2",
                "statusCommand": "aws ssm send-command ... systemctl status msk-pair-mm2",
            },
            "check": {"sent": 10, "seen": 10, "p50Ms": 31000.0, "p99Ms": 31009.0},
            "offsetSync": {"group": "msk-pair-canary", "primaryOffset": 10, "secondaryOffset": 10},
        },
    }
    assert support.contract_problems(good, request) == []
    bad = json.loads(json.dumps(good))
    bad["secondary"]["smokeTestPassed"] = False
    bad["primary"].pop("kmsKeyArn")
    bad["peering"]["crossRegionCheck"]["secondaryReachesPrimary"] = False
    bad["replication"]["check"]["seen"] = 7
    bad["existedBefore"] = "no"
    bad["primary"]["changes"] = []
    problems = support.contract_problems(bad, request)
    assert problems == [
        "replication.check {'sent': 10, 'seen': 7, 'p50Ms': 31000.0, 'p99Ms': 31009.0}",
        "existedBefore 'no'",
        "primary keys: missing ['kmsKeyArn'], extra []",
        "secondary.smokeTestPassed: False",
        "peering.crossRegionCheck {'primaryReachesSecondary': True, 'secondaryReachesPrimary': False}",
    ]
    # replication.engine none: exactly the rest
    none = {**request, "replication": {"engine": "none"}}
    assert support.contract_problems({k: v for k, v in good.items() if k != "replication"}, none) == []
    assert support.contract_problems(good, none) == [f"top-level keys {sorted(good)}"]


# -- when the tier runs ------------------------------------------------------------------------------------------
_SOME_CREDENTIALS = object()


class _Session:
    def __init__(self, region_name=None, credentials=_SOME_CREDENTIALS, configured_region=None):
        self.region_name = region_name or configured_region
        self._credentials = credentials

    def get_credentials(self):
        return self._credentials


def _never(**_):
    raise AssertionError("the credential chain was consulted without AWS_SAM_STACK_NAME")


def test_the_tier_is_skipped_without_a_stack_name_and_never_looks_for_credentials():
    assert support.find_target({}, session_factory=_never) == support.NO_STACK
    assert "AWS_SAM_STACK_NAME" in support.NO_STACK and "AWS_REGION" in support.NO_STACK


def test_the_tier_is_skipped_without_credentials_or_region_and_says_what_to_set():
    no_credentials = support.find_target(
        {"AWS_SAM_STACK_NAME": "msk-pair", "AWS_REGION": "eu-west-1"},
        session_factory=lambda **kw: _Session(credentials=None, **kw),
    )
    assert "boto3 finds no AWS credentials" in no_credentials and "AWS_PROFILE" in no_credentials
    no_region = support.find_target({"AWS_SAM_STACK_NAME": "msk-pair"}, session_factory=lambda **kw: _Session(**kw))
    assert "set AWS_REGION" in no_region


def test_the_region_comes_from_aws_region_then_aws_default_region_then_the_profile():
    def find(env, configured=None):
        return support.find_target(
            {"AWS_SAM_STACK_NAME": "s", **env}, lambda **kw: _Session(configured_region=configured, **kw)
        )

    assert find({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}) == support.Target("s", "eu-west-1")
    assert find({"AWS_DEFAULT_REGION": "us-east-2"}) == support.Target("s", "us-east-2")
    assert find({}, configured="ap-south-1") == support.Target("s", "ap-south-1")


def test_unique_deployment_names_follow_the_contract():
    from mskpair_core.config import DEPLOYMENT_NAME_RE

    names = {support.unique_deployment_name() for _ in range(50)}
    assert len(names) == 50
    assert all(DEPLOYMENT_NAME_RE.fullmatch(n) for n in names)
