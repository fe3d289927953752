"""The state machine, written once in Python and rendered to ``statemachine/msk_pair.asl.json``.

Why generate it: every task state carries the same retry policy, each region's
branch has the same shape, and the fault matrix of the tests is derived from the
states. Writing that by hand 30 times invites drift; here it is one function.
The rendered JSON is what SAM deploys and what the emulator runs; a test fails
if the committed file is not what this module renders (``make asl`` rewrites it).

Names are what the Step Functions console shows: "Primary: create network".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROLES = ("primary", "secondary")

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]

# One retry policy for every task: the Lambda service's own transient errors, and
# the errors our handlers name Transient (throttling after boto3's standard-mode
# retries, eventual consistency). Everything else is not retried: teardown.
RETRY_POLICY: list[dict[str, Any]] = [
    {
        "ErrorEquals": LAMBDA_SERVICE_ERRORS,
        "IntervalSeconds": 2,
        "MaxAttempts": 6,
        "BackoffRate": 2.0,
        "JitterStrategy": "FULL",
    },
    {
        "ErrorEquals": ["Transient"],
        "IntervalSeconds": 5,
        "MaxAttempts": 8,
        "BackoffRate": 2.0,
        "MaxDelaySeconds": 120,
        "JitterStrategy": "FULL",
    },
]

# Deletes also retry ResourceInUse (DependencyViolation while a deleted cluster's
# network interfaces linger): every 30 s, for at most 30 minutes.
IN_USE_RETRY: dict[str, Any] = {
    "ErrorEquals": ["ResourceInUse"],
    "IntervalSeconds": 30,
    "MaxAttempts": 60,
    "BackoffRate": 1.0,
}


# At least the template's function Timeout (Globals), so every in-flight invocation has ended.
IN_FLIGHT_WAIT_SECONDS = 130


UNSET = object()


def title(role: str) -> str:
    return role.capitalize()


def task(
    function: str,
    *,
    role: str | None = None,
    parameters: dict[str, Any] | None = None,
    result_path: str | object | None = UNSET,
    next_state: str | None = None,
    deleting: bool = False,
    comment: str | None = None,
) -> dict[str, Any]:
    """A Lambda task state with the project's retry policy.

    ``function`` is the template's logical id; the ASL gets ``${<id>Arn}`` and SAM's
    DefinitionSubstitutions fill in the ARN.
    """
    params: dict[str, Any] = {"config.$": "$.config", "execution.$": "$$.Execution.Name"}
    if role:
        params["role"] = role
    params.update(parameters or {})
    state: dict[str, Any] = {"Type": "Task"}
    if comment:
        state["Comment"] = comment
    state["Resource"] = "${" + function + "Arn}"
    state["Parameters"] = params
    if result_path is not UNSET:
        state["ResultPath"] = result_path  # None: discard the result, keep the input
    state["Retry"] = [*RETRY_POLICY, IN_USE_RETRY] if deleting else list(RETRY_POLICY)
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def parallel_per_region(
    branch: Any, *, result_path: str, catch_next: str | None, next_state: str, comment: str
) -> dict[str, Any]:
    """A Parallel state with one branch per region, results keyed by role."""
    state: dict[str, Any] = {
        "Type": "Parallel",
        "Comment": comment,
        "Branches": [branch(role) for role in ROLES],
        "ResultSelector": {f"{role}.$": f"$[{i}]" for i, role in enumerate(ROLES)},
        "ResultPath": result_path,
    }
    if catch_next:
        state["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": catch_next}]
    state["Next"] = next_state
    return state


def poll_loop(
    name: str,
    check: dict[str, Any],
    *,
    result_path: str,
    ready_path: str,
    ready: str,
    wait_seconds: int | None = None,
    wait_seconds_path: str | None = None,
    max_polls: int | None = None,
    max_polls_path: str | None = None,
    timeout_error: str,
    timeout_cause: str,
    next_state: str,
) -> dict[str, dict[str, Any]]:
    """A wait-until-ready loop: check (a task), Choice, Wait, count, check again; bounded.

    No Lambda sleeps: the Wait state waits, for free. The counter lives at
    ``<result_path>Polls`` and the loop fails with ``timeout_error`` past the limit.
    """
    counter = f"{result_path}Polls.count"
    check = {**check, "ResultPath": result_path, "Next": f"{name}: ready?"}
    check.pop("End", None)
    limit = (
        {"NumericGreaterThanEqualsPath": max_polls_path} if max_polls_path else {"NumericGreaterThanEquals": max_polls}
    )
    wait: dict[str, Any] = {"Type": "Wait", "Next": f"{name}: count"}
    if wait_seconds_path:
        wait["SecondsPath"] = wait_seconds_path
    else:
        wait["Seconds"] = wait_seconds
    return {
        f"{name}: start": {
            "Type": "Pass",
            "Result": {"count": 0},
            "ResultPath": f"{result_path}Polls",
            "Next": name,
        },
        name: check,
        f"{name}: ready?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": ready_path, "StringEquals": ready, "Next": next_state},
                {"Variable": counter, **limit, "Next": f"{name}: timed out"},
            ],
            "Default": f"{name}: wait",
        },
        f"{name}: wait": wait,
        f"{name}: count": {
            "Type": "Pass",
            "Parameters": {"count.$": f"States.MathAdd({counter}, 1)"},
            "ResultPath": f"{result_path}Polls",
            "Next": name,
        },
        f"{name}: timed out": {"Type": "Fail", "Error": timeout_error, "Cause": timeout_cause},
    }


# -- provisioning ------------------------------------------------------------------
def network_branch(role: str) -> dict[str, Any]:
    name = f"{title(role)}: create network"
    return {"StartAt": name, "States": {name: task("CreateNetworkFunction", role=role)}}


PEERING_POLL_SECONDS = 10
PEERING_MAX_POLLS = 60  # ten minutes


def peering_branch() -> dict[str, Any]:
    """Request from the primary, accept in the secondary, wait until active, then route both ways."""
    net = {"network.$": "$.network"}
    with_peering = {**net, "peering.$": "$.peering"}
    states: dict[str, Any] = {
        "Peering: request": task(
            "PeeringRequestFunction", parameters=net, result_path="$.peering", next_state="Peering: accept"
        ),
        "Peering: accept": task(
            "PeeringAcceptFunction",
            parameters=with_peering,
            result_path="$.peering",
            next_state="Peering: wait until active: start",
            comment="The request reaches the accepter region after a while: not visible yet is Transient, retried.",
        ),
        **poll_loop(
            "Peering: wait until active",
            task("PeeringStatusFunction", parameters=with_peering),
            result_path="$.peering",
            ready_path="$.peering.status",
            ready="active",
            wait_seconds=PEERING_POLL_SECONDS,
            max_polls=PEERING_MAX_POLLS,
            timeout_error="PeeringTimeout",
            timeout_cause=f"The VPC peering connection did not become active within {PEERING_MAX_POLLS} polls.",
            next_state="Primary: route to peer",
        ),
        "Primary: route to peer": task(
            "PeeringRouteFunction",
            role="primary",
            parameters=with_peering,
            result_path="$.routes.primary",
            next_state="Secondary: route to peer",
        ),
        "Secondary: route to peer": task(
            "PeeringRouteFunction", role="secondary", parameters=with_peering, result_path="$.routes.secondary"
        ),
    }
    states["Secondary: route to peer"]["OutputPath"] = "$.peering"
    return {"StartAt": "Peering: request", "States": states}


def region_branch(role: str) -> dict[str, Any]:
    """One region: the cluster first (the long pole), then what can be made while it is CREATING,
    then the wait for ACTIVE, then what needs an ACTIVE cluster."""
    t = title(role)
    net = {"network.$": f"$.network.{role}"}
    made = {**net, "cluster.$": "$.cluster", "scram.$": "$.scram"}
    client = {"client.$": "$.client"}
    states: dict[str, Any] = {
        f"{t}: create cluster": task(
            "ClusterCreateFunction",
            role=role,
            parameters=net,
            result_path="$.cluster",
            next_state=f"{t}: create key and secret",
            comment="SASL/SCRAM, TLS, PER_TOPIC_PER_PARTITION monitoring, Prometheus JMX and node exporters.",
        ),
        f"{t}: create key and secret": task(
            "ScramCreateFunction",
            role=role,
            result_path="$.scram",
            next_state=f"{t}: create client security group",
            comment="Customer-managed KMS key and the AmazonMSK_ secret, while the cluster is CREATING.",
        ),
        f"{t}: create client security group": task(
            "ClientSecurityGroupCreateFunction",
            role=role,
            parameters=net,
            result_path="$.clientSecurityGroup",
            next_state=f"{t}: launch client",
            comment="The guide's msk_client_sg; the default group admits it on 9096, 11001 and 11002 only.",
        ),
        f"{t}: launch client": task(
            "ClientLaunchFunction",
            role=role,
            parameters={
                **net,
                "clientIam.$": "$.network.clientIam",
                "clientSecurityGroup.$": "$.clientSecurityGroup",
            },
            result_path="$.client",
            next_state=f"{t}: wait for client online in SSM: start",
            comment="Amazon Linux 2023, IMDSv2 only, encrypted root volume, no key pair: reached through SSM.",
        ),
        **poll_loop(
            f"{t}: wait for client online in SSM",
            task("ClientSsmStatusFunction", role=role, parameters=client),
            result_path="$.clientSsm",
            ready_path="$.clientSsm.pingStatus",
            ready="Online",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="ClientTimeout",
            timeout_cause=f"The {role} client machine did not come online in SSM within timing.clientTimeoutMinutes.",
            next_state=f"{t}: bootstrap client",
        ),
        f"{t}: bootstrap client": task(
            "ClientBootstrapFunction",
            role=role,
            parameters={**client, "cluster.$": "$.cluster", "scram.$": "$.scram"},
            result_path="$.bootstrapCommand",
            next_state=f"{t}: wait for client bootstrap: start",
            comment="SSM Run Command: Corretto, the Kafka client of the cluster's version (SHA-512 checked), "
            "truststore, client.properties; the password is read from Secrets Manager on the machine.",
        ),
        **poll_loop(
            f"{t}: wait for client bootstrap",
            task("ClientCommandStatusFunction", role=role, parameters={**client, "command.$": "$.bootstrapCommand"}),
            result_path="$.bootstrapCommand",
            ready_path="$.bootstrapCommand.status",
            ready="Success",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="ClientTimeout",
            timeout_cause=f"The {role} client's bootstrap command did not finish within timing.clientTimeoutMinutes.",
            next_state=f"{t}: wait for cluster ACTIVE: start",
        ),
        **poll_loop(
            f"{t}: wait for cluster ACTIVE",
            task("ClusterStatusFunction", role=role, parameters={"cluster.$": "$.cluster"}),
            result_path="$.clusterStatus",
            ready_path="$.clusterStatus.state",
            ready="ACTIVE",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClusterPolls",
            timeout_error="ClusterTimeout",
            timeout_cause=f"The {role} MSK cluster did not become ACTIVE within timing.clusterTimeoutMinutes.",
            next_state=f"{t}: associate secret",
        ),
        f"{t}: associate secret": task(
            "ClusterAssociateFunction",
            role=role,
            parameters=made,
            result_path=None,
            next_state=f"{t}: read bootstrap brokers",
        ),
        f"{t}: read bootstrap brokers": task(
            "ClusterBootstrapFunction",
            role=role,
            parameters=made,
            result_path="$.bootstrap",
            next_state=f"{t}: smoke test",
        ),
        f"{t}: smoke test": task(
            "ClientSmokeTestFunction",
            role=role,
            parameters={**client, "bootstrap.$": "$.bootstrap"},
            result_path="$.smokeCommand",
            next_state=f"{t}: wait for smoke test: start",
            comment="On the client: create and describe a test topic on its own cluster over SASL/SCRAM.",
        ),
        **poll_loop(
            f"{t}: wait for smoke test",
            task("ClientCommandStatusFunction", role=role, parameters={**client, "command.$": "$.smokeCommand"}),
            result_path="$.smokeCommand",
            ready_path="$.smokeCommand.status",
            ready="Success",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="ClientTimeout",
            timeout_cause=f"The {role} client's smoke test did not finish within timing.clientTimeoutMinutes.",
            next_state=f"{t}: done",
        ),
        f"{t}: done": {
            "Type": "Pass",
            "Parameters": {
                "clusterArn.$": "$.cluster.clusterArn",
                "bootstrapBrokersSaslScram.$": "$.bootstrap.bootstrapBrokersSaslScram",
                "scramSecretArn.$": "$.scram.scramSecretArn",
                "kmsKeyArn.$": "$.scram.kmsKeyArn",
                "clientInstanceId.$": "$.client.instanceId",
                "clientSecurityGroupId.$": "$.clientSecurityGroup.securityGroupId",
                "bootstrapCommandId.$": "$.bootstrapCommand.commandId",
                "smokeTestCommandId.$": "$.smokeCommand.commandId",
                "smokeTestPassed.$": "$.smokeCommand.smokeTestPassed",
            },
            "End": True,
        },
    }
    return {"StartAt": f"{t}: create cluster", "States": states}


def cross_region_branch(role: str) -> dict[str, Any]:
    """This region's client reaches the other region's SASL/SCRAM brokers over the peering."""
    other = "secondary" if role == "primary" else "primary"
    name = f"{title(role)} client to {title(other)} brokers"
    params = {
        "client": {"instanceId.$": f"$.build.{role}.clientInstanceId"},
        "peerBootstrapBrokers.$": f"$.build.{other}.bootstrapBrokersSaslScram",
    }
    states = {
        name: task(
            "ClientCrossRegionCheckFunction",
            role=role,
            parameters=params,
            result_path="$.check",
            next_state=f"{name}: wait: start",
        ),
        **poll_loop(
            f"{name}: wait",
            task(
                "ClientCommandStatusFunction",
                role=role,
                parameters={"client": params["client"], "command.$": "$.check"},
            ),
            result_path="$.check",
            ready_path="$.check.status",
            ready="Success",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="ClientTimeout",
            timeout_cause=f"The {role} client's cross-region check did not finish within timing.clientTimeoutMinutes.",
            next_state=f"{name}: result",
        ),
        f"{name}: result": {
            "Type": "Pass",
            "Parameters": {"commandId.$": "$.check.commandId", "reachable.$": "$.check.reachable"},
            "End": True,
        },
    }
    return {"StartAt": name, "States": states}


def output_of(role: str) -> dict[str, Any]:
    return {
        "region.$": f"$.network.{role}.region",
        "vpcId.$": f"$.network.{role}.vpcId",
        "vpcCidr.$": f"$.network.{role}.vpcCidr",
        "clusterArn.$": f"$.build.{role}.clusterArn",
        "bootstrapBrokersSaslScram.$": f"$.build.{role}.bootstrapBrokersSaslScram",
        "scramSecretArn.$": f"$.build.{role}.scramSecretArn",
        "kmsKeyArn.$": f"$.build.{role}.kmsKeyArn",
        "clientInstanceId.$": f"$.build.{role}.clientInstanceId",
        "clientSecurityGroupId.$": f"$.build.{role}.clientSecurityGroupId",
        "commands": {
            "bootstrap.$": f"$.build.{role}.bootstrapCommandId",
            "smokeTest.$": f"$.build.{role}.smokeTestCommandId",
        },
        "smokeTestPassed.$": f"$.build.{role}.smokeTestPassed",
    }


def provisioning_states() -> dict[str, Any]:
    return {
        "Create networks": {
            "Type": "Parallel",
            "Comment": (
                "Both regions side by side: VPC, public subnet and internet gateway, three broker subnets; "
                "and the client machines' IAM role and instance profile (IAM is global: one per deployment)."
            ),
            "Branches": [
                network_branch("primary"),
                network_branch("secondary"),
                {
                    "StartAt": "Shared: create client role",
                    "States": {"Shared: create client role": task("ClientIamCreateFunction")},
                },
            ],
            "ResultSelector": {"primary.$": "$[0]", "secondary.$": "$[1]", "clientIam.$": "$[2]"},
            "ResultPath": "$.network",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Roll back?"}],
            "Next": "Build",
        },
        "Build": {
            "Type": "Parallel",
            "Comment": "What needs only the two networks runs side by side.",
            "Branches": [region_branch("primary"), region_branch("secondary"), peering_branch()],
            "ResultSelector": {"primary.$": "$[0]", "secondary.$": "$[1]", "peering.$": "$[2]"},
            "ResultPath": "$.build",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Roll back?"}],
            "Next": "Cross-region check",
        },
        "Cross-region check": {
            "Type": "Parallel",
            "Comment": (
                "The proof that the pair is ready for MirrorMaker 2: each client reaches the other region's brokers."
            ),
            "Branches": [cross_region_branch(role) for role in ROLES],
            "ResultSelector": {"primaryToSecondary.$": "$[0]", "secondaryToPrimary.$": "$[1]"},
            "ResultPath": "$.crossRegion",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Roll back?"}],
            "Next": "Assemble output",
        },
        "Assemble output": {
            "Type": "Pass",
            "Parameters": {
                "deploymentName.$": "$.config.deploymentName",
                **{role: output_of(role) for role in ROLES},
                "peering": {
                    "vpcPeeringConnectionId.$": "$.build.peering.vpcPeeringConnectionId",
                    "status.$": "$.build.peering.status",
                    "crossRegionCheck.$": "$.crossRegion",
                },
            },
            "End": True,
        },
    }


# -- teardown ----------------------------------------------------------------------
def teardown_branch(role: str) -> dict[str, Any]:
    """One region, in dependency order: cluster (and wait until gone), secret and key, network."""
    t = title(role)
    states: dict[str, Any] = {
        f"{t}: start cluster deletion": task(
            "ClusterDeleteFunction",
            role=role,
            deleting=True,
            result_path=None,
            next_state=f"{t}: terminate client: start",
            comment="Deletion takes minutes: start it first, terminate the client meanwhile, then wait.",
        ),
        **poll_loop(
            f"{t}: terminate client",
            task("ClientTerminateFunction", role=role, deleting=True),
            result_path="$.clientTeardown",
            ready_path="$.clientTeardown.done",
            ready="yes",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="TeardownFailed",
            timeout_cause=f"The {role} client machine was still not terminated within timing.clientTimeoutMinutes.",
            next_state=f"{t}: delete client security group",
        ),
        f"{t}: delete client security group": task(
            "ClientSecurityGroupDeleteFunction",
            role=role,
            deleting=True,
            result_path=None,
            next_state=f"{t}: delete cluster: start",
        ),
        **poll_loop(
            f"{t}: delete cluster",
            task("ClusterDeleteFunction", role=role, deleting=True),
            result_path="$.clusterTeardown",
            ready_path="$.clusterTeardown.done",
            ready="yes",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClusterPolls",
            timeout_error="TeardownFailed",
            timeout_cause=f"The {role} MSK cluster was still not deleted within timing.clusterTimeoutMinutes.",
            next_state=f"{t}: delete secret and key",
        ),
        f"{t}: delete secret and key": task(
            "ScramDeleteFunction", role=role, deleting=True, result_path=None, next_state=f"{t}: delete network"
        ),
        f"{t}: delete network": task("DeleteNetworkFunction", role=role, deleting=True),
    }
    return {"StartAt": f"{t}: start cluster deletion", "States": states}


def teardown_states() -> dict[str, Any]:
    teardown = parallel_per_region(
        teardown_branch,
        result_path="$.teardown",
        catch_next=None,
        next_state="Teardown: delete client role",
        comment="Delete everything tagged with the deployment, both regions side by side, in dependency order.",
    )
    teardown["Catch"] = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.teardownError", "Next": "Teardown failed"}]
    return {
        "Roll back?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.config.onFailure", "StringEquals": "RETAIN", "Next": "Fail with original error"}
            ],
            "Default": "Let in-flight tasks end",
        },
        **poll_loop(
            "Teardown: delete peering",
            {
                **task("PeeringDeleteFunction", deleting=True),
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.teardownError", "Next": "Teardown failed"}],
            },
            result_path="$.peeringTeardown",
            ready_path="$.peeringTeardown.done",
            ready="yes",
            wait_seconds=PEERING_POLL_SECONDS,
            max_polls=PEERING_MAX_POLLS,
            timeout_error="TeardownFailed",
            timeout_cause="VPC peering connections of the deployment were still not deleted after ten minutes.",
            next_state="Teardown",
        ),
        "Let in-flight tasks end": {
            "Type": "Wait",
            "Comment": (
                "When one Parallel branch fails, Step Functions stops the others, but a Lambda already running "
                "goes on until it returns or times out. Teardown waits out the functions' timeout so that "
                "nothing is created behind its back."
            ),
            "Seconds": IN_FLIGHT_WAIT_SECONDS,
            "Next": "Teardown: delete peering: start",
        },
        "Teardown": teardown,
        "Teardown: delete client role": {
            **task(
                "ClientIamDeleteFunction",
                deleting=True,
                result_path=None,
                next_state="Teardown done: why?",
                comment="IAM is global: the client role and instance profile go once both regions are done.",
            ),
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.teardownError", "Next": "Teardown failed"}],
        },
        "Teardown done: why?": {
            "Type": "Choice",
            "Comment": "A provisioning that failed ends failed, with its own error and cause.",
            "Choices": [{"Variable": "$.error", "IsPresent": True, "Next": "Fail with original error"}],
            "Default": "Teardown complete",
        },
        "Teardown complete": {"Type": "Succeed"},
        "Fail with original error": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        "Teardown failed": {"Type": "Fail", "Error": "TeardownFailed", "CausePath": "$.teardownError.Cause"},
    }


def build() -> dict[str, Any]:
    validate = task("ValidateInputFunction", result_path="$", next_state="Provision or teardown?")
    validate["Parameters"] = {
        "input.$": "$",
        "execution.$": "$$.Execution.Name",
        "executionArn.$": "$$.Execution.Id",
        "stateMachineArn.$": "$$.StateMachine.Id",
    }
    return {
        "Comment": (
            "msk-pair: two Amazon MSK clusters in two regions, peered, ready for MirrorMaker 2. "
            "Any failure tears down everything tagged with the deployment, in both regions."
        ),
        "StartAt": "Validate input",
        "States": {
            "Validate input": validate,
            "Provision or teardown?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.config.mode", "StringEquals": "teardown", "Next": "Teardown: delete peering: start"}
                ],
                "Default": "Create networks",
            },
            **provisioning_states(),
            **teardown_states(),
        },
    }


ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "msk_pair.asl.json"


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[args.index("--out") + 1]) if "--out" in args else ASL_PATH
    if "--check" in args:
        if path.read_text() != render():
            print(f"{path} is stale: run `make asl`", file=sys.stderr)
            return 1
        return 0
    path.write_text(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
