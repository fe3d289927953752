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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROLES = ("primary", "secondary")

LAMBDA_SERVICE_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    # A function that timed out or died mid-way (its AWS call may have succeeded): every
    # handler is safe to run twice, so running it again is the recovery.
    "Sandbox.Timedout",
    "Lambda.Unknown",
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

# Deletes whose handler can raise ResourceInUse (DependencyViolation while a deleted cluster's or
# instance's network interfaces linger, DeleteConflict in IAM) also retry it: every 30 s, for at most
# 30 minutes. Only those: each attempt costs history events (Step Functions fails an execution at
# 25,000), and the worst case counts every retrier at its MaxAttempts.
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
    in_use_retry: bool = False,
    comment: str | None = None,
) -> dict[str, Any]:
    """A Lambda task state with the project's retry policy.

    ``function`` is the template's logical id; the ASL gets ``${<id>Arn}`` and SAM's
    DefinitionSubstitutions fill in the ARN.
    """
    params: dict[str, Any] = {
        "config.$": "$.config",
        "execution.$": "$$.Execution.Name",
        "state.$": "$$.State.Name",
    }
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
    state["Retry"] = [*RETRY_POLICY, IN_USE_RETRY] if in_use_retry else list(RETRY_POLICY)
    if next_state:
        state["Next"] = next_state
    else:
        state["End"] = True
    return state


def catch_all(next_state: str, result_path: str = "$.error") -> list[dict[str, Any]]:
    """A Catch of every error (``States.ALL``): the error at ``result_path``, then ``next_state``."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": next_state}]


PER_REGION = {f"{role}.$": f"$[{i}]" for i, role in enumerate(ROLES)}
"""A Parallel state's ResultSelector when its first branches are the regions': results keyed by role."""


def parallel(
    comment: str,
    branches: list[dict[str, Any]],
    selector: dict[str, str],
    *,
    result_path: str,
    next_state: str,
    catch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Parallel state: ``branches`` side by side, their results (a list) picked by ``selector`` at ``result_path``.

    When a branch fails, Step Functions stops the others and the state fails: ``catch`` goes on from there
    (default: the rollback, ``Roll back?``, with the error at ``$.error``).
    """
    return {
        "Type": "Parallel",
        "Comment": comment,
        "Branches": branches,
        "ResultSelector": selector,
        "ResultPath": result_path,
        "Catch": catch or catch_all("Roll back?"),
        "Next": next_state,
    }


def poll_loop(
    name: str,
    check: dict[str, Any],
    *,
    result_path: str,
    ready_path: str,
    ready: str | bool,
    wait_seconds: int | None = None,
    wait_seconds_path: str | None = None,
    max_polls: int | None = None,
    max_polls_path: str | None = None,
    timeout_error: str,
    timeout_cause: str,
    next_state: str,
    on_error: str | None = None,
    timeout_cause_args: list[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """A wait-until-ready loop: check (a task), Choice, Wait, count, check again; bounded.

    No Lambda sleeps: the Wait state waits, for free. The counter lives at
    ``<result_path>Polls`` and the loop fails with ``timeout_error`` past the limit. ``ready`` is a
    status string (StringEquals) or a boolean the check returns (BooleanEquals).
    Inside a Parallel branch a failure fails the branch (the Parallel's Catch handles it);
    at the top level ``on_error`` names the state that handles it (with ``$.error`` set).
    """
    counter = f"{result_path}Polls.count"
    check = {**check, "ResultPath": result_path, "Next": f"{name}: ready?"}
    check.pop("End", None)
    limit = (
        {"NumericGreaterThanEqualsPath": max_polls_path} if max_polls_path else {"NumericGreaterThanEquals": max_polls}
    )
    timed_out: dict[str, Any] = {"Type": "Fail", "Error": timeout_error, "Cause": timeout_cause}
    if on_error:
        check["Catch"] = catch_all(on_error)
        cause: dict[str, Any] = {"Cause": timeout_cause}
        if timeout_cause_args:  # "{}" in the cause are filled from these paths (States.Format)
            quoted = timeout_cause.replace("'", "\\'")
            cause = {"Cause.$": f"States.Format('{quoted}', {', '.join(timeout_cause_args)})"}
        timed_out = {
            "Type": "Pass",
            "Parameters": {"Error": timeout_error, **cause},
            "ResultPath": "$.error",
            "Next": on_error,
        }
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
                {
                    "Variable": ready_path,
                    ("BooleanEquals" if isinstance(ready, bool) else "StringEquals"): ready,
                    "Next": next_state,
                },
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
        f"{name}: timed out": timed_out,
    }


# -- provisioning ------------------------------------------------------------------
def network_branch(role: str) -> dict[str, Any]:
    name = f"{title(role)}: create network"
    return {"StartAt": name, "States": {name: task("NetworkCreateFunction", role=role)}}


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
    """One region, everything that can be made while its cluster is CREATING.

    The cluster first (the long pole); then the key and secret, the client's group and
    instance, its registration in SSM and its bootstrap command. The branch ends while the
    cluster is still being created; the wait for ACTIVE is one loop for both regions.
    """
    t = title(role)
    net = {"network.$": f"$.network.{role}"}
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
            next_state=f"{t}: made",
        ),
        f"{t}: made": {
            "Type": "Pass",
            "Parameters": {
                "cluster.$": "$.cluster",
                "scram.$": "$.scram",
                "client.$": "$.client",
                "clientSecurityGroup.$": "$.clientSecurityGroup",
                "bootstrapCommandId.$": "$.bootstrapCommand.commandId",
            },
            "End": True,
        },
    }
    return {"StartAt": f"{t}: create cluster", "States": states}


def update_branch(role: str) -> dict[str, Any]:
    """The cluster's in-place updates: a bounded loop of 'start the next update or say done' checks."""
    t = title(role)
    return {
        "StartAt": f"{t}: nothing updated yet",
        "States": {
            f"{t}: nothing updated yet": {
                "Type": "Pass",
                "Result": {"applied": [], "done": False},
                "ResultPath": "$.update",
                "Next": f"{t}: update cluster: start",
            },
            **poll_loop(
                f"{t}: update cluster",
                task("ClusterUpdateFunction", role=role, parameters={"previous.$": "$.update"}),
                result_path="$.update",
                ready_path="$.update.done",
                ready=True,
                wait_seconds_path="$.config.timing.pollSeconds",
                max_polls_path="$.config.timing.maxClusterPolls",
                timeout_error="UpdateTimeout",
                timeout_cause=f"The {role} MSK cluster's in-place update did not finish within "
                "timing.clusterTimeoutMinutes.",
                next_state=f"{t}: updated",
            ),
            f"{t}: updated": {"Type": "Pass", "Parameters": {"applied.$": "$.update.applied"}, "End": True},
        },
    }


def connect_branch(role: str) -> dict[str, Any]:
    """After ACTIVE: associate the secret, then read the SASL/SCRAM bootstrap brokers."""
    t = title(role)
    made = {"cluster.$": f"$.build.{role}.cluster", "scram.$": f"$.build.{role}.scram"}
    states = {
        f"{t}: associate secret": task(
            "ClusterAssociateFunction",
            role=role,
            parameters=made,
            result_path=None,
            next_state=f"{t}: read bootstrap brokers",
        ),
        f"{t}: read bootstrap brokers": task("ClusterBootstrapFunction", role=role, parameters=made),
    }
    return {"StartAt": f"{t}: associate secret", "States": states}


def verify_branch(role: str) -> dict[str, Any]:
    """One command on this region's client: the smoke test on its own cluster, then the
    cross-region check (it reaches the other region's brokers over the peering)."""
    other = "secondary" if role == "primary" else "primary"
    t = title(role)
    client = {"client.$": f"$.build.{role}.client"}
    states = {
        f"{t}: verify client": task(
            "ClientVerifyFunction",
            role=role,
            parameters={
                **client,
                "bootstrapBrokers.$": f"$.brokers.{role}.bootstrapBrokersSaslScram",
                "peerBootstrapBrokers.$": f"$.brokers.{other}.bootstrapBrokersSaslScram",
            },
            result_path="$.verify",
            next_state=f"{t}: wait for verification: start",
            comment=(
                "On the client: create and describe a test topic on its own cluster over SASL/SCRAM, "
                f"then reach the {other} region's brokers over the peering (TCP and TLS)."
            ),
        ),
        **poll_loop(
            f"{t}: wait for verification",
            task("ClientCommandStatusFunction", role=role, parameters={**client, "command.$": "$.verify"}),
            result_path="$.verify",
            ready_path="$.verify.status",
            ready="Success",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="ClientTimeout",
            timeout_cause=f"The {role} client's verification did not finish within timing.clientTimeoutMinutes.",
            next_state=f"{t}: verified",
        ),
        f"{t}: verified": {
            "Type": "Pass",
            "Parameters": {
                "commandId.$": "$.verify.commandId",
                "smokeTestPassed.$": "$.verify.smokeTestPassed",
                "reachesPeer.$": "$.verify.reachable",
            },
            "End": True,
        },
    }
    return {"StartAt": f"{t}: verify client", "States": states}


def output_of(role: str) -> dict[str, Any]:
    return {
        "region.$": f"$.network.{role}.region",
        "vpcId.$": f"$.network.{role}.vpcId",
        "vpcCidr.$": f"$.network.{role}.vpcCidr",
        "clusterArn.$": f"$.build.{role}.cluster.clusterArn",
        "bootstrapBrokersSaslScram.$": f"$.brokers.{role}.bootstrapBrokersSaslScram",
        "scramSecretArn.$": f"$.build.{role}.scram.scramSecretArn",
        "kmsKeyArn.$": f"$.build.{role}.scram.kmsKeyArn",
        "clientInstanceId.$": f"$.build.{role}.client.instanceId",
        "clientSecurityGroupId.$": f"$.build.{role}.clientSecurityGroup.securityGroupId",
        "commands": {
            "bootstrap.$": f"$.build.{role}.bootstrapCommandId",
            "verify.$": f"$.verified.{role}.commandId",
        },
        "smokeTestPassed.$": f"$.verified.{role}.smokeTestPassed",
        "changes": {
            "cluster.$": f"$.updated.{role}.applied",
            "clientReplaced.$": f"$.build.{role}.client.replaced",
        },
    }


def provisioning_states() -> dict[str, Any]:
    return {
        "Plan changes": task(
            "ChangesPlanFunction",
            result_path="$.plan",
            next_state="Create networks",
            comment=(
                "If the deployment exists: what the request changes, field by field (unchanged, in place, "
                "replace). Any replacement is refused here with ReplacementRequired, before anything is made or "
                "deleted: a live deployment is never torn down because a later request differs."
            ),
        ),
        "Create networks": parallel(
            "Both regions side by side: VPC, public subnet and internet gateway, three broker subnets; "
            "and the client machines' IAM role and instance profile (IAM is global: one per deployment).",
            [
                network_branch("primary"),
                network_branch("secondary"),
                {
                    "StartAt": "Shared: create client role",
                    "States": {"Shared: create client role": task("ClientIamCreateFunction")},
                },
            ],
            {**PER_REGION, "clientIam.$": "$[2]"},
            result_path="$.network",
            next_state="Build",
        ),
        "Build": parallel(
            "While the clusters are CREATING: each region's key, secret and client machine; the peering.",
            [region_branch("primary"), region_branch("secondary"), peering_branch()],
            {**PER_REGION, "peering.$": "$[2]"},
            result_path="$.build",
            next_state="Wait for clusters ACTIVE: start",
        ),
        **poll_loop(
            "Wait for clusters ACTIVE",
            task(
                "ClusterStatusFunction",
                parameters={
                    "clusters": {f"{role}.$": f"$.build.{role}.cluster" for role in ROLES},
                },
            ),
            result_path="$.clusters",
            ready_path="$.clusters.state",
            ready="ACTIVE",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClusterPolls",
            timeout_error="ClusterTimeout",
            timeout_cause=(
                "The MSK clusters did not both become ACTIVE within timing.clusterTimeoutMinutes: "
                "primary {}, secondary {}."
            ),
            timeout_cause_args=["$.clusters.primary", "$.clusters.secondary"],
            next_state="Update clusters",
            on_error="Roll back?",
        ),
        "Update clusters": parallel(
            "A deployment that existed: the in-place changes the plan allowed (more brokers, more storage, "
            "a broker size, a Kafka version), one MSK update at a time, each until ACTIVE with a new "
            "CurrentVersion. A new deployment has nothing to change: one check per region.",
            [update_branch(role) for role in ROLES],
            PER_REGION,
            result_path="$.updated",
            next_state="Connect",
        ),
        "Connect": parallel(
            "Both regions: associate the SCRAM secret with the ACTIVE cluster, read the bootstrap brokers.",
            [connect_branch(role) for role in ROLES],
            PER_REGION,
            result_path="$.brokers",
            next_state="Verify",
        ),
        "Verify": parallel(
            "The proof the pair is ready for MirrorMaker 2: each client uses its own cluster and reaches the other.",
            [verify_branch(role) for role in ROLES],
            PER_REGION,
            result_path="$.verified",
            next_state="Replicate?",
        ),
        **replication_states(),
        "Assemble output": {"Type": "Pass", "Parameters": assembled_output(), "End": True},
    }


def assembled_output() -> dict[str, Any]:
    """The execution's output (Assemble output), from the state after Verify."""
    return {
        "deploymentName.$": "$.config.deploymentName",
        "existedBefore.$": "$.plan.exists",
        **{role: output_of(role) for role in ROLES},
        "peering": {
            "vpcPeeringConnectionId.$": "$.build.peering.vpcPeeringConnectionId",
            "status.$": "$.build.peering.status",
            "crossRegionCheck": {
                "primaryReachesSecondary.$": "$.verified.primary.reachesPeer",
                "secondaryReachesPrimary.$": "$.verified.secondary.reachesPeer",
            },
        },
    }


# -- replication --------------------------------------------------------------------
REPLICATION_OUTPUT = "Assemble output (replicating)"


def replication_states() -> dict[str, Any]:
    """After Verify, with ``replication.engine`` mm2: MirrorMaker 2 as a service on the secondary client, and
    the proof that it replicates (a canary produced on the primary and read on the secondary, and the canary
    group's offset translated there). ``none``: straight to today's output."""
    secondary, primary = "$.build.secondary.client", "$.build.primary.client"

    def status(role: str, client: str, command: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return task(
            "ReplicationCommandStatusFunction",
            role=role,
            parameters={"client.$": client, "command.$": command, **(extra or {})},
        )

    def loop(
        name: str, role: str, client: str, path: str, nxt: str, on_error: str | None = None, extra: dict | None = None
    ) -> dict:
        return poll_loop(
            name,
            status(role, client, path, extra),
            result_path=path,
            ready_path=f"{path}.status",
            ready="Success",
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="ClientTimeout",
            timeout_cause=f"The {role} client's command ({name}) did not finish within timing.clientTimeoutMinutes.",
            next_state=nxt,
            on_error=on_error,
        )

    start_mm2 = {
        "StartAt": "Secondary: start MirrorMaker 2",
        "States": {
            "Secondary: start MirrorMaker 2": task(
                "ReplicationStartFunction",
                role="secondary",
                parameters={
                    "client.$": secondary,
                    "brokers.$": "$.brokers",
                    "scram": {f"{r}.$": f"$.build.{r}.scram" for r in ROLES},
                },
                result_path="$.mm2",
                next_state="Secondary: wait for MirrorMaker 2: start",
                comment="Writes mm2.properties (no password: FileConfigProvider), the secrets file read from Secrets "
                "Manager on the machine (readable by the service user only) and the unit; restarts only on change.",
            ),
            **loop("Secondary: wait for MirrorMaker 2", "secondary", secondary, "$.mm2", "Secondary: MirrorMaker 2 up"),
            "Secondary: MirrorMaker 2 up": {
                "Type": "Pass",
                "Parameters": {"commandId.$": "$.mm2.commandId"},
                "End": True,
            },
        },
    }
    canary = {
        "StartAt": "Primary: send canary",
        "States": {
            "Primary: send canary": task(
                "ReplicationCanaryFunction",
                role="primary",
                parameters={"client.$": primary, "bootstrapBrokers.$": "$.brokers.primary.bootstrapBrokersSaslScram"},
                result_path="$.canary",
                next_state="Primary: wait for canary: start",
                comment="Records carrying the execution name to msk-pair.canary; the group msk-pair-canary reads "
                "them back and commits its offset.",
            ),
            **loop("Primary: wait for canary", "primary", primary, "$.canary", "Primary: canary sent"),
            "Primary: canary sent": {
                "Type": "Pass",
                "Parameters": {"commandId.$": "$.canary.commandId", "canary.$": "$.canary.canary"},
                "End": True,
            },
        },
    }
    check = task(
        "ReplicationCheckFunction",
        role="secondary",
        parameters={
            "client.$": secondary,
            "bootstrapBrokers.$": "$.brokers.secondary.bootstrapBrokersSaslScram",
            "peerBootstrapBrokers.$": "$.brokers.primary.bootstrapBrokersSaslScram",
        },
        result_path="$.replicationCheck",
        next_state="Secondary: wait for replication check: start",
        comment="Reads the canary from its replicated name (bounded), then waits for the group's translated offset.",
    )
    check["Catch"] = catch_all("Roll back?")
    return {
        "Replicate?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.config.replication.engine", "StringEquals": "mm2", "Next": "Start replication"}
            ],
            "Default": "Assemble output",
        },
        "Start replication": parallel(
            "MirrorMaker 2 as a service on the secondary client; meanwhile the canary on the primary.",
            [start_mm2, canary],
            {"mm2.$": "$[0]", "canary.$": "$[1]"},
            result_path="$.replication",
            next_state="Secondary: check replication",
        ),
        "Secondary: check replication": check,
        **loop(
            "Secondary: wait for replication check",
            "secondary",
            secondary,
            "$.replicationCheck",
            REPLICATION_OUTPUT,
            on_error="Roll back?",
            # once the check succeeded, its status is the report: replication.check {sent, seen, p50Ms, p99Ms},
            # offsetSync, replicated topics, status command, Prometheus scrape configuration
            extra={"brokers.$": "$.brokers", "canary.$": "$.replication.canary.canary"},
        ),
        REPLICATION_OUTPUT: {
            "Type": "Pass",
            "Parameters": {**assembled_output(), "replication.$": "$.replicationCheck.report"},
            "End": True,
        },
    }


# Stopping MirrorMaker 2 is `systemctl disable --now`, seconds once the SSM command is delivered: a fixed
# bound (5 minutes), not the client timeout, so a courtesy step adds few history events to the worst case;
# polled every 30 s (an SSM command's delivery takes that order of time), not more often: each poll is
# four state transitions.
MM2_STOP_POLL_SECONDS = 30
MM2_STOP_MAX_POLLS = 10


def stop_mirrormaker_states(role: str, next_state: str) -> dict[str, Any]:
    """Teardown, on the secondary: stop MirrorMaker 2 before its client is terminated.

    A courtesy that must never block the teardown: a timeout or an error goes on to ``next_state``.
    """
    name = f"{title(role)}: stop MirrorMaker 2"
    check = task("ReplicationStopFunction", role=role, parameters=SCOPE)
    check["Catch"] = catch_all(next_state, "$.mm2TeardownError")
    states = poll_loop(
        name,
        check,
        result_path="$.mm2Teardown",
        ready_path="$.mm2Teardown.done",
        ready=True,
        wait_seconds=MM2_STOP_POLL_SECONDS,
        max_polls=MM2_STOP_MAX_POLLS,
        timeout_error="TeardownFailed",
        timeout_cause="unused",
        next_state=next_state,
    )
    states[f"{name}: timed out"] = {
        "Type": "Pass",
        "Comment": "The stop did not finish in time: the client is terminated anyway.",
        "Next": next_state,
    }
    return states


# -- teardown ----------------------------------------------------------------------
SCOPE = {"scope.$": "$.scope"}
"""What a teardown task deletes: ``{"madeBy": null}`` everything of the deployment; ``{"madeBy": <execution>}``
only what that execution made (the rollback of a run on a deployment that existed before it)."""


def teardown_branch(role: str) -> dict[str, Any]:
    """One region, in dependency order, everything MSK lets go of at once first.

    MSK refuses to delete a cluster that is CREATING (or UPDATING, HEALING...): "You can't delete cluster
    in CREATING state". So the cluster's deletion is started where MSK allows it (ACTIVE or FAILED), the
    client, its group, the secret and the key go at once, and then a Wait loop (bounded by
    timing.clusterTimeoutMinutes) waits for the cluster to become deletable and deletes it, and a second
    one waits until it is gone. The network goes last (the brokers' interfaces linger a while).
    """
    t = title(role)
    delete_cluster = task("ClusterDeleteFunction", role=role, parameters=SCOPE)
    states: dict[str, Any] = {
        f"{t}: start cluster deletion": task(
            "ClusterDeleteFunction",
            role=role,
            parameters=SCOPE,
            result_path=None,
            next_state=f"{t}: stop MirrorMaker 2: start" if role == "secondary" else f"{t}: terminate client: start",
            comment="Deletion takes minutes: start it first if MSK allows it now; the rest goes meanwhile.",
        ),
        **(stop_mirrormaker_states(role, f"{t}: terminate client: start") if role == "secondary" else {}),
        **poll_loop(
            f"{t}: terminate client",
            task("ClientTerminateFunction", role=role, parameters=SCOPE),
            result_path="$.clientTeardown",
            ready_path="$.clientTeardown.done",
            ready=True,
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClientPolls",
            timeout_error="TeardownFailed",
            timeout_cause=f"The {role} client machine was still not terminated within timing.clientTimeoutMinutes.",
            next_state=f"{t}: delete client security group",
        ),
        f"{t}: delete client security group": task(
            "ClientSecurityGroupDeleteFunction",
            role=role,
            parameters=SCOPE,
            in_use_retry=True,
            result_path=None,
            next_state=f"{t}: delete secret and key",
        ),
        f"{t}: delete secret and key": task(
            "ScramDeleteFunction",
            role=role,
            parameters=SCOPE,
            result_path=None,
            next_state=f"{t}: wait until the cluster can be deleted: start",
        ),
        **poll_loop(
            f"{t}: wait until the cluster can be deleted",
            delete_cluster,
            result_path="$.clusterTeardown",
            ready_path="$.clusterTeardown.started",
            ready=True,
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClusterPolls",
            timeout_error="TeardownFailed",
            timeout_cause=(
                f"The {role} MSK cluster was still in a state MSK refuses deletion in (CREATING, UPDATING...) "
                "after timing.clusterTimeoutMinutes."
            ),
            next_state=f"{t}: delete cluster: start",
        ),
        **poll_loop(
            f"{t}: delete cluster",
            delete_cluster,
            result_path="$.clusterTeardown",
            ready_path="$.clusterTeardown.done",
            ready=True,
            wait_seconds_path="$.config.timing.pollSeconds",
            max_polls_path="$.config.timing.maxClusterPolls",
            timeout_error="TeardownFailed",
            timeout_cause=f"The {role} MSK cluster was still not deleted within timing.clusterTimeoutMinutes.",
            next_state=f"{t}: delete network",
        ),
        f"{t}: delete network": task("NetworkDeleteFunction", role=role, parameters=SCOPE, in_use_retry=True),
    }
    return {"StartAt": f"{t}: start cluster deletion", "States": states}


def teardown_states() -> dict[str, Any]:
    teardown_failed = catch_all("Teardown failed", "$.teardownError")
    return {
        "Roll back?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.config.onFailure", "StringEquals": "RETAIN", "Next": "Fail with original error"},
                {
                    "And": [
                        {"Variable": "$.plan.exists", "IsPresent": True},
                        {"Variable": "$.plan.exists", "BooleanEquals": True},
                    ],
                    "Next": "Roll back only what this run made",
                },
            ],
            "Default": "Roll back everything",
        },
        "Roll back only what this run made": {
            "Type": "Pass",
            "Comment": (
                "The deployment existed before this run: its rollback deletes only resources tagged "
                "msk-pair:execution = this execution, never what was there before (an in-place update MSK "
                "started is not undone)."
            ),
            "Parameters": {"madeBy.$": "$$.Execution.Name"},
            "ResultPath": "$.scope",
            "Next": "Let in-flight tasks end",
        },
        "Roll back everything": {
            "Type": "Pass",
            "Comment": "A first provisioning: onFailure ROLLBACK deletes everything tagged with the deployment.",
            "Result": {"madeBy": None},
            "ResultPath": "$.scope",
            "Next": "Let in-flight tasks end",
        },
        "Tear down everything": {
            "Type": "Pass",
            "Result": {"madeBy": None},
            "ResultPath": "$.scope",
            "Next": "Teardown: delete peering: start",
        },
        **poll_loop(
            "Teardown: delete peering",
            {
                **task("PeeringDeleteFunction", parameters=SCOPE),
                "Catch": teardown_failed,
            },
            result_path="$.peeringTeardown",
            ready_path="$.peeringTeardown.done",
            ready=True,
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
        "Teardown": parallel(
            "Delete everything tagged with the deployment, both regions side by side, in dependency order.",
            [teardown_branch(role) for role in ROLES],
            PER_REGION,
            result_path="$.teardown",
            next_state="Teardown: delete client role",
            catch=teardown_failed,
        ),
        "Teardown: delete client role": {
            **task(
                "ClientIamDeleteFunction",
                parameters=SCOPE,
                in_use_retry=True,
                result_path=None,
                next_state="Teardown done: why?",
                comment="IAM is global: the client role and instance profile go once both regions are done.",
            ),
            "Catch": teardown_failed,
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
    validate = task("InputValidateFunction", result_path="$", next_state="Provision or teardown?")
    validate["Parameters"] = {
        "input.$": "$",
        "execution.$": "$$.Execution.Name",
        "state.$": "$$.State.Name",
        "executionArn.$": "$$.Execution.Id",
        "stateMachineArn.$": "$$.StateMachine.Id",
    }
    return {
        "Comment": (
            "msk-pair: two Amazon MSK clusters in two regions, peered, MirrorMaker 2 replicating primary -> secondary. "
            "Any failure tears down everything tagged with the deployment, in both regions. "
            "Generated by `make asl` from src/msk_pair/asl.py: edit that, not this file."
        ),
        "StartAt": "Validate input",
        "States": {
            "Validate input": validate,
            "Provision or teardown?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.config.mode", "StringEquals": "teardown", "Next": "Tear down everything"}],
                "Default": "Plan changes",
            },
            **provisioning_states(),
            **teardown_states(),
        },
    }


@dataclass(frozen=True)
class TaskState:
    name: str
    function: str  # the template's logical id
    teardown: bool  # part of the teardown (rollback or teardown mode), not of provisioning


def _next_states(state: dict[str, Any]) -> list[str]:
    found = [state[k] for k in ("Next", "Default") if k in state]
    found += [c["Next"] for c in state.get("Choices", [])]
    found += [c["Next"] for c in state.get("Catch", [])]
    return found


def task_states(definition: dict[str, Any] | None = None) -> list[TaskState]:
    """Every Task state of the machine (branches included), and whether it belongs to the teardown.

    The teardown is what is reachable from "Roll back?" (the top-level states after it,
    and everything inside their branches). Tests derive the fault matrix from this, so a
    new state is covered without a new test.
    """
    definition = definition or build()
    top = definition["States"]
    teardown_top: set[str] = set()
    todo = ["Roll back?"]
    while todo:
        name = todo.pop()
        if name in teardown_top:
            continue
        teardown_top.add(name)
        todo.extend(_next_states(top[name]))

    found: list[TaskState] = []

    def walk(states: dict[str, Any], teardown: bool) -> None:
        for name, state in states.items():
            if state["Type"] == "Task":
                function = state["Resource"].removeprefix("${").removesuffix("Arn}")
                found.append(TaskState(name, function, teardown))
            for branch in state.get("Branches", []):
                walk(branch["States"], teardown)

    for name, state in top.items():
        walk({name: state}, name in teardown_top)
    return found


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
