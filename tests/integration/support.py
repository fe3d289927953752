"""Plumbing for the deployed-stack tier: find the stack's state machine, run an execution to its end with
bounded real-time polling, read its history, scan it for a secret, and list what a deployment left behind.

Written against the real boto3 APIs (each call names its API reference page). The same code runs on the
emulator in ``test_rehearsal.py``, where only ``Stack.sleep``/``Stack.settle`` differ. Nothing here calls
AWS, reads credentials or builds a client at import time: collecting the tier costs nothing.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from msk_pair.asl import IN_FLIGHT_WAIT_SECONDS
from msk_pair.cli import STACK_OUTPUT
from mskpair_core.client_machine import client_role_name
from mskpair_core.tags import DEPLOYMENT_TAG

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FILE = ROOT / "events" / "region-pair.json"

STACK_VAR = "AWS_SAM_STACK_NAME"
FULL_VAR = "MSK_PAIR_INTEGRATION_FULL"
MOTO_ACCOUNT = "123456789012"  # moto's default account: seeing it means boto3 is not talking to AWS

HOW_TO_RUN = (
    f"set {STACK_VAR}=<name of a deployed msk-pair stack>, AWS_REGION=<its region> and AWS credentials "
    "boto3 can find (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); "
    "see README, 'Integration tests against a deployed stack'"
)
NO_STACK = f"deployed-stack tier: {STACK_VAR} is not set: {HOW_TO_RUN}"
FULL_ONLY = (
    f"full provisioning and teardown on AWS (~1.5 h, ~$2 of MSK brokers): also set {FULL_VAR}=1 (explicit opt-in)"
)


# -- where the tier runs ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A deployed stack the tier may run against."""

    stack_name: str
    region: str


def find_target(environ: Mapping[str, str], session_factory: Callable[..., Any] = boto3.Session) -> Target | str:
    """The stack to test, or the reason to skip the tier (what to set).

    Looks at credentials only when ``AWS_SAM_STACK_NAME`` is set, so a default run never walks boto3's
    credential chain (no instance-metadata probe on a CI machine). Region: ``AWS_REGION``, then
    ``AWS_DEFAULT_REGION``, then the profile's ``region``.
    """
    stack_name = environ.get(STACK_VAR, "").strip()
    if not stack_name:
        return NO_STACK
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    try:
        session = session_factory(region_name=region) if region else session_factory()
        region = region or session.region_name
        credentials = session.get_credentials()
    except BotoCoreError as exc:  # a named profile that does not exist, a broken config file
        return f"deployed-stack tier: {STACK_VAR}={stack_name} is set but boto3 fails: {exc}; {HOW_TO_RUN}"
    if credentials is None:
        return f"deployed-stack tier: {STACK_VAR}={stack_name} is set but boto3 finds no AWS credentials: {HOW_TO_RUN}"
    if not region:
        return (
            f"deployed-stack tier: {STACK_VAR}={stack_name} is set but no region: set AWS_REGION to the stack's region"
        )
    return Target(stack_name=stack_name, region=region)


# -- requests ---------------------------------------------------------------------------------------
def unique_deployment_name() -> str:
    """``it-<8 hex>``: valid per the contract (lower-case letter first, letters/digits/hyphens, <= 32)."""
    return f"it-{secrets.token_hex(4)}"


def execution_name(deployment: str, purpose: str) -> str:
    """Unique per state machine; StartExecution allows 1-80 of letters, digits, ``-`` and ``_``."""
    return f"{deployment}-{purpose}-{secrets.token_hex(3)}"[:80]


def sample_request(deployment: str) -> dict[str, Any]:
    """``events/region-pair.json`` with the deployment name replaced."""
    request = json.loads(SAMPLE_FILE.read_text())
    request["deploymentName"] = deployment
    return request


def regions_of(request: Mapping[str, Any]) -> list[str]:
    return [request["primary"]["region"], request["secondary"]["region"]]


def teardown_request(deployment: str, regions: list[str]) -> dict[str, Any]:
    return {
        "deploymentName": deployment,
        "mode": "teardown",
        "primary": {"region": regions[0]},
        "secondary": {"region": regions[1]},
    }


# -- the stack and its executions ---------------------------------------------------------------------
@dataclass(frozen=True)
class Timeouts:
    """Real-time bounds, in seconds, for every wait of the tier, and how often it polls."""

    bad_input: float = 5 * 60  # fails in the first state: one Lambda invocation
    teardown_of_nothing: float = 20 * 60  # every teardown step finds nothing: a minute or two
    provision: float = 180 * 60  # MSK creation is 30-60 min; the ASL's own cluster limit is 120 min
    teardown: float = 150 * 60  # cluster deletion (ASL limit 120 min) and lingering interfaces
    leftovers_settle: float = 5 * 60  # the Tagging API and describe calls are eventually consistent
    stop: float = 5 * 60  # from StopExecution to a status other than RUNNING
    poll: float = 15.0
    long_poll: float = 60.0
    in_flight: float = float(IN_FLIGHT_WAIT_SECONDS)  # a stopped execution's Lambdas end within this


@dataclass
class Stack:
    """A deployed msk-pair state machine and how to wait for it."""

    session: Any  # boto3.Session
    region: str
    state_machine_arn: str
    timeouts: Timeouts = field(default_factory=Timeouts)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    settle: Callable[[], None] = lambda: None  # after an execution ended (the emulator's observer catches up)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.session.client(service, region_name=region or self.region)


class StackProblem(Exception):
    """The stack named by AWS_SAM_STACK_NAME is not a usable msk-pair stack."""


class ExecutionTimeout(AssertionError):
    """An execution still ran when its real-time bound passed (it was stopped)."""


def state_machine_arn(cfn: Any, stack_name: str) -> str:
    """The stack's ``ProvisionStateMachineArn`` output.

    DescribeStacks: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html
    (a missing stack is a ``ValidationError`` "Stack with id X does not exist").
    """
    try:
        stacks = cfn.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ValidationError":
            raise StackProblem(f"stack {stack_name!r}: {exc.response['Error'].get('Message', exc)}") from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if STACK_OUTPUT not in outputs:
        raise StackProblem(f"stack {stack_name!r} has no output {STACK_OUTPUT}: is it the msk-pair stack?")
    return outputs[STACK_OUTPUT]


def connect(target: Target) -> Stack:
    """A Stack on real AWS: refuses to run against moto (a mock left active in this process)."""
    session = boto3.Session(region_name=target.region)
    account = session.client("sts").get_caller_identity()["Account"]
    if account == MOTO_ACCOUNT:
        raise StackProblem(f"account {account} is moto's: boto3 is not talking to AWS in this process")
    arn = state_machine_arn(session.client("cloudformation"), target.stack_name)
    return Stack(session=session, region=target.region, state_machine_arn=arn)


def start(stack: Stack, request: Mapping[str, Any] | str, name: str) -> str:
    """StartExecution: https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html"""
    body = request if isinstance(request, str) else json.dumps(request)
    sfn = stack.client("stepfunctions")
    return sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=name, input=body)["executionArn"]


def wait_for_end(stack: Stack, execution_arn: str, timeout: float, poll: float) -> dict[str, Any]:
    """DescribeExecution until the status is not RUNNING, at most ``timeout`` real seconds.

    Past the bound the execution is stopped (StopExecution, so nothing keeps running unobserved) and
    :class:`ExecutionTimeout` is raised. DescribeExecution:
    https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
    """
    sfn = stack.client("stepfunctions")
    deadline = stack.clock() + timeout
    while True:
        desc = sfn.describe_execution(executionArn=execution_arn)
        if desc["status"] != "RUNNING":
            stack.settle()
            return desc
        left = deadline - stack.clock()
        if left <= 0:
            stop(stack, execution_arn, f"the integration test stopped it: still running after {timeout:.0f} s", poll)
            raise ExecutionTimeout(f"{execution_arn} still RUNNING after {timeout:.0f} s: stopped it")
        stack.sleep(min(poll, left))


def stop_if_running(stack: Stack, execution_arn: str, cause: str) -> bool:
    """Stop the execution (:func:`stop`) if it still runs; whether it had to."""
    if stack.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] != "RUNNING":
        return False
    stop(stack, execution_arn, cause, stack.timeouts.poll)
    return True


def stop(stack: Stack, execution_arn: str, cause: str, poll: float) -> None:
    """StopExecution, then DescribeExecution until it is no longer RUNNING (at most ``timeouts.stop``), so
    the one-execution-per-deployment guard of a teardown started next does not see it running.
    StopExecution: https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html
    """
    sfn = stack.client("stepfunctions")
    sfn.stop_execution(executionArn=execution_arn, error="IntegrationTestTimeout", cause=cause)
    deadline = stack.clock() + stack.timeouts.stop
    while sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
        if stack.clock() >= deadline:
            raise ExecutionTimeout(f"{execution_arn} still RUNNING {stack.timeouts.stop:.0f} s after StopExecution")
        stack.sleep(poll)
    stack.settle()


def run_to_end(
    stack: Stack, request: Mapping[str, Any] | str, name: str, timeout: float, poll: float | None = None
) -> dict[str, Any]:
    """Start an execution and wait for its end; returns DescribeExecution's answer."""
    arn = start(stack, request, name)
    print(f"started {arn}")  # captured by pytest: shown when the test fails
    return wait_for_end(stack, arn, timeout, stack.timeouts.poll if poll is None else poll)


TEARDOWN_ATTEMPTS = 3


def run_teardown(stack: Stack, deployment: str, regions: list[str]) -> dict[str, Any]:
    """The teardown of ``deployment``, started again (at most :data:`TEARDOWN_ATTEMPTS` times, a long poll
    apart) while it fails with ``Conflict``. Its guard asks ListExecutions for running executions, and
    ListExecutions "is eventually consistent ... may not reflect very recent updates and changes"
    (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html): it may still list
    the provisioning that just ended. A ``Conflict`` touches nothing, so starting again is safe."""
    attempt = 1
    while True:
        desc = run_to_end(
            stack,
            teardown_request(deployment, regions),
            execution_name(deployment, "teardown"),
            stack.timeouts.teardown,
            stack.timeouts.long_poll,
        )
        if desc.get("error") != "Conflict" or attempt == TEARDOWN_ATTEMPTS:
            return desc
        attempt += 1
        stack.sleep(stack.timeouts.long_poll)


def history(stack: Stack, execution_arn: str) -> list[dict[str, Any]]:
    """Every event, with execution data (inputs and outputs).

    GetExecutionHistory: https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
    (``includeExecutionData`` defaults to true; pages of at most 1000 events).
    """
    paginator = stack.client("stepfunctions").get_paginator("get_execution_history")
    pages = paginator.paginate(
        executionArn=execution_arn, includeExecutionData=True, PaginationConfig={"PageSize": 1000}
    )
    return [event for page in pages for event in page["events"]]


def entered_states(events: Iterable[Mapping[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def cause_message(cause: str | None) -> str:
    """A Lambda error's cause is a JSON document ``{"errorMessage", "errorType", ...}``: its message."""
    try:
        doc = json.loads(cause or "")
    except ValueError:
        return cause or ""
    return str(doc.get("errorMessage", cause)) if isinstance(doc, dict) else (cause or "")


def summary(desc: Mapping[str, Any]) -> str:
    """How an execution ended, for assertion messages (status, error, the cause's message)."""
    return f"{desc.get('status')}: {desc.get('error') or ''} {cause_message(desc.get('cause'))}".strip()


# -- secrets --------------------------------------------------------------------------------------------
class Secret:
    """A secret value that never shows itself: its repr is redacted, so neither an assertion message nor
    pytest's ``--showlocals`` can print it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "Secret(<redacted>)"

    __str__ = __repr__

    def __len__(self) -> int:
        return len(self._value)

    def forms(self, depth: int = 4) -> set[str]:
        """How the value reads in JSON text: raw, and JSON-escaped once per level of JSON-in-a-JSON-string
        (a history event's ``output`` is a JSON string; a Lambda's payload inside it can be another)."""
        found = [self._value]
        for _ in range(depth):
            found.append(json.dumps(found[-1])[1:-1])
        return set(found)


def read_scram_password(stack: Stack, secret_arn: str) -> Secret:
    """The password of an ``AmazonMSK_`` secret, wrapped (never printed).

    GetSecretValue: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
    """
    region = secret_arn.split(":")[3]
    answer = stack.client("secretsmanager", region).get_secret_value(SecretId=secret_arn)
    return Secret(json.loads(answer["SecretString"])["password"])


def events_containing(events: Iterable[Mapping[str, Any]], secret: Secret) -> list[int]:
    """Ids of the history events whose JSON contains the secret, in any form (none means no leak)."""
    forms = secret.forms()
    found = []
    for event in events:
        text = json.dumps(event, default=str)
        if any(form in text for form in forms):
            found.append(event.get("id", -1))
    return found


# -- what a deployment left behind --------------------------------------------------------------------------
# EC2: the describe call for each resource type the workflow tags (ARN resource type -> call, id parameter,
# answer key). Unknown IDs fail with an error code ending in ".NotFound" (InvalidVpcID.NotFound,
# InvalidGroup.NotFound, ...): https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
_EC2_DESCRIBE = {
    "vpc": ("describe_vpcs", "VpcIds", "Vpcs"),
    "subnet": ("describe_subnets", "SubnetIds", "Subnets"),
    "security-group": ("describe_security_groups", "GroupIds", "SecurityGroups"),
    "internet-gateway": ("describe_internet_gateways", "InternetGatewayIds", "InternetGateways"),
    "route-table": ("describe_route_tables", "RouteTableIds", "RouteTables"),
    "instance": ("describe_instances", "InstanceIds", "Reservations"),
    "volume": ("describe_volumes", "VolumeIds", "Volumes"),
    "network-interface": ("describe_network_interfaces", "NetworkInterfaceIds", "NetworkInterfaces"),
    "vpc-peering-connection": (
        "describe_vpc_peering_connections",
        "VpcPeeringConnectionIds",
        "VpcPeeringConnections",
    ),
}
# Gone, though still listed for a while: a terminated instance stays visible about an hour, a deleted
# peering connection about two (DescribeVpcPeeringConnections: "deleted" and the other final states).
_PEERING_ENDED = frozenset({"deleted", "rejected", "failed", "expired"})


def _ec2_alive(session: Any, region: str, resource: str) -> bool:
    kind, _, resource_id = resource.partition("/")
    if kind not in _EC2_DESCRIBE:
        return True  # a type this workflow does not make: count it, never explain it away
    call, param, key = _EC2_DESCRIBE[kind]
    try:
        found = getattr(session.client("ec2", region_name=region), call)(**{param: [resource_id]})[key]
    except ClientError as exc:
        if exc.response["Error"]["Code"].endswith(".NotFound"):
            return False
        raise
    if kind == "instance":
        return any(i["State"]["Name"] != "terminated" for r in found for i in r["Instances"])
    if kind == "vpc-peering-connection":
        return any(p["Status"]["Code"] not in _PEERING_ENDED for p in found)
    if kind == "volume":
        return any(v["State"] != "deleted" for v in found)
    return bool(found)


def _alive(session: Any, arn: str) -> bool:
    """Whether a resource the Tagging API lists still exists: GetResources returns "tagged or previously
    tagged" resources (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html),
    so each is confirmed with its own service."""
    parts = arn.split(":", 5)
    service, region, resource = parts[2], parts[3], parts[5]
    try:
        if service == "ec2":
            return _ec2_alive(session, region, resource)
        if service == "kafka":  # DescribeClusterV2; a deleted cluster: NotFoundException
            session.client("kafka", region_name=region).describe_cluster_v2(ClusterArn=arn)
            return True
        if service == "secretsmanager":  # DescribeSecret; DeletedDate: scheduled for deletion, unusable
            found = session.client("secretsmanager", region_name=region).describe_secret(SecretId=arn)
            return "DeletedDate" not in found
        if service == "kms":  # the shortest KMS deletion window is 7 days: PendingDeletion is what teardown can do
            meta = session.client("kms", region_name=region).describe_key(KeyId=arn)["KeyMetadata"]
            return meta["KeyState"] not in ("PendingDeletion", "PendingReplicaDeletion")
        if service == "iam" and resource.startswith(("role/", "instance-profile/")):  # IAM is global
            kind, name = resource.split("/", 1)[0], resource.rsplit("/", 1)[1]
            iam = session.client("iam")
            if kind == "role":
                iam.get_role(RoleName=name)
            else:
                iam.get_instance_profile(InstanceProfileName=name)
            return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("NotFoundException", "ResourceNotFoundException", "NoSuchEntity"):
            return False
        raise
    return True


def tagged_arns(session: Any, region: str, deployment: str) -> list[str]:
    """ARNs the Tagging API lists with ``msk-pair:deployment = deployment`` in ``region`` (GetResources, paged)."""
    paginator = session.client("resourcegroupstaggingapi", region_name=region).get_paginator("get_resources")
    pages = paginator.paginate(TagFilters=[{"Key": DEPLOYMENT_TAG, "Values": [deployment]}])
    return sorted({m["ResourceARN"] for page in pages for m in page["ResourceTagMappingList"]})


def iam_leftovers(session: Any, deployment: str) -> list[str]:
    """The client role and its instance profile (same name), if they still exist (GetRole, GetInstanceProfile;
    a missing one: NoSuchEntity)."""
    iam = session.client("iam")
    name = client_role_name(deployment)
    found = []
    for kind, call, param in (
        ("role", iam.get_role, "RoleName"),
        ("instance-profile", iam.get_instance_profile, "InstanceProfileName"),
    ):
        try:
            call(**{param: name})
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "NoSuchEntity":
                continue
            raise
        found.append(f"{kind}/{name}")
    return found


def leftovers(session: Any, deployment: str, regions: Iterable[str]) -> dict[str, list[str]]:
    """Everything of ``deployment`` that still exists: per region (Tagging API, each confirmed alive) and
    ``iam``. Empty means nothing is left."""
    found = {
        region: [arn for arn in tagged_arns(session, region, deployment) if _alive(session, arn)] for region in regions
    }
    found["iam"] = iam_leftovers(session, deployment)
    return {k: v for k, v in found.items() if v}


def settled_leftovers(stack: Stack, deployment: str, regions: Iterable[str]) -> dict[str, list[str]]:
    """:func:`leftovers`, asked again every ``poll`` seconds until empty or ``leftovers_settle`` has passed
    (what was just deleted may take a moment to disappear from listings); returns the last answer."""
    regions = list(regions)
    deadline = stack.clock() + stack.timeouts.leftovers_settle
    while True:
        left = leftovers(stack.session, deployment, regions)
        if not left or stack.clock() >= deadline:
            return left
        stack.sleep(stack.timeouts.poll)


# -- the output contract (README, "Output of a successful execution") ------------------------------------------
REGION_KEYS = frozenset(
    {
        "region",
        "vpcId",
        "vpcCidr",
        "clusterArn",
        "bootstrapBrokersSaslScram",
        "scramSecretArn",
        "kmsKeyArn",
        "clientInstanceId",
        "clientSecurityGroupId",
        "commands",
        "smokeTestPassed",
        "changes",
    }
)
PEERING_KEYS = frozenset({"vpcPeeringConnectionId", "status", "crossRegionCheck"})


def replication_problems(section: Any, replication: Mapping[str, Any]) -> list[str]:
    """What the output's replication section (README: MirrorMaker 2, proven by a canary) gets wrong."""
    if not isinstance(section, dict):
        return [f"replication is not an object: {section!r}"]
    problems = []
    check = section.get("check") or {}
    if not check.get("sent") or check.get("seen") != check.get("sent"):
        problems.append(f"replication.check {check!r}")
    sync = section.get("offsetSync")
    if replication.get("syncGroupOffsets", True) and not (sync and sync.get("secondaryOffset") is not None):
        problems.append(f"replication.offsetSync {sync!r}")
    service = section.get("service") or {}
    if service.get("name") != "msk-pair-mm2" or "systemctl status msk-pair-mm2" not in str(
        service.get("statusCommand")
    ):
        problems.append(f"replication.service {service!r}")
    return problems


def contract_problems(output: Any, request: Mapping[str, Any]) -> list[str]:
    """What a successful provisioning's output lacks or gets wrong, per the README's output contract."""
    if not isinstance(output, dict):
        return [f"output is not an object: {type(output).__name__}"]
    problems = []
    replication = {**{"engine": "mm2", "syncGroupOffsets": True}, **(request.get("replication") or {})}
    expected = {"deploymentName", "existedBefore", "primary", "secondary", "peering"}
    if replication["engine"] == "mm2":
        expected.add("replication")
        problems += replication_problems(output.get("replication"), replication)
    if set(output) != expected:
        problems.append(f"top-level keys {sorted(output)}")
    if not isinstance(output.get("existedBefore"), bool):
        problems.append(f"existedBefore {output.get('existedBefore')!r}")
    if output.get("deploymentName") != request["deploymentName"]:
        problems.append(f"deploymentName {output.get('deploymentName')!r}")
    deployment = request["deploymentName"]
    for role in ("primary", "secondary"):
        side = output.get(role) or {}
        if set(side) != REGION_KEYS:
            problems.append(
                f"{role} keys: missing {sorted(REGION_KEYS - set(side))}, extra {sorted(set(side) - REGION_KEYS)}"
            )
            continue
        checks = {
            "region": side["region"] == request[role]["region"],
            "vpcCidr": side["vpcCidr"] == request[role]["vpcCidr"],
            "vpcId": str(side["vpcId"]).startswith("vpc-"),
            "clusterArn": ":kafka:" in str(side["clusterArn"]) and f":{side['region']}:" in str(side["clusterArn"]),
            "bootstrapBrokersSaslScram": bool(side["bootstrapBrokersSaslScram"])
            and all(b.endswith(":9096") for b in str(side["bootstrapBrokersSaslScram"]).split(",")),
            "scramSecretArn": f":secret:AmazonMSK_{deployment}" in str(side["scramSecretArn"]),
            "kmsKeyArn": ":kms:" in str(side["kmsKeyArn"]),
            "clientInstanceId": str(side["clientInstanceId"]).startswith("i-"),
            "clientSecurityGroupId": str(side["clientSecurityGroupId"]).startswith("sg-"),
            "commands": isinstance(side["commands"], dict) and set(side["commands"]) == {"bootstrap", "verify"},
            "smokeTestPassed": side["smokeTestPassed"] is True,
            "changes": isinstance(side["changes"], dict) and set(side["changes"]) == {"cluster", "clientReplaced"},
        }
        problems += [f"{role}.{key}: {side[key]!r}" for key, ok in checks.items() if not ok]
    peering = output.get("peering") or {}
    if set(peering) != PEERING_KEYS:
        problems.append(f"peering keys {sorted(peering)}")
    else:
        if not str(peering["vpcPeeringConnectionId"]).startswith("pcx-") or peering["status"] != "active":
            problems.append(f"peering {peering['vpcPeeringConnectionId']!r} {peering['status']!r}")
        if peering["crossRegionCheck"] != {"primaryReachesSecondary": True, "secondaryReachesPrimary": True}:
            problems.append(f"peering.crossRegionCheck {peering['crossRegionCheck']!r}")
    return problems
