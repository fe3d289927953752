"""What the handlers call: the logic that was written inside functions/*/app.py, now in the layer.

Each handler unpacks its event and calls one library function; these are the ones that took over a
handler's own logic: ``region_of`` (one copy instead of three) and the other readers of a state's input
(``target_of``, ``client_of``), the pair's state of the clusters' wait loop, sending a step's script and
one check of its command (client and replication), the SCRAM credentials' create and delete, and the
terminate loop's ``done``. On moto with the emulator's rules.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from msk_pair.emulator import msk, ssm, strict_ec2
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile
from mskpair_core import catalog, cluster, network, scram
from mskpair_core import client_machine as cm
from mskpair_core import replication as rep
from mskpair_core.errors import ResourceFailed
from mskpair_core.event import client_of, region_of, target_of
from mskpair_core.subnets import plan_subnets
from tests.conftest import SAMPLE, make_client_role_boundary
from tests.unit.test_replication import CANARY_OUTPUT, CHECK_OUTPUT, PRIMARY, SECONDARY

DEPLOYMENT = SAMPLE["deploymentName"]
PRIMARY_REGION, SECONDARY_REGION = SAMPLE["primary"]["region"], SAMPLE["secondary"]["region"]
CLUSTERS = LatencyProfile(cluster_create=600.0)
CLIENTS = LatencyProfile(
    instance_profile_propagation=10.0, instance_start=30.0, ssm_registration=60.0, ssm_command=60.0
)
EXECUTION = "run-42"  # the execution whose canary records CANARY_OUTPUT and CHECK_OUTPUT carry


def test_region_of_is_the_states_role_or_the_one_named() -> None:
    event = {"config": SAMPLE, "role": "secondary"}
    assert region_of(event) == SECONDARY_REGION
    assert region_of(event, "primary") == PRIMARY_REGION
    with pytest.raises(KeyError):
        region_of({"config": SAMPLE})  # a state without a role must name one


def test_a_regional_state_targets_its_deployment_role_and_region_and_its_client() -> None:
    event = {"config": SAMPLE, "role": "primary", "client": {"instanceId": "i-0123456789abcdef0"}}
    assert target_of(event) == {"deployment": DEPLOYMENT, "role": "primary", "region": PRIMARY_REGION}
    assert client_of(event) == {"region": PRIMARY_REGION, "instance_id": "i-0123456789abcdef0"}


# -- the clusters' wait loop ----------------------------------------------------------------------


def _cluster(role: str, region: str, config: dict[str, Any]) -> cluster.ClusterRef:
    net = network.create_network(
        deployment=DEPLOYMENT,
        role=role,
        region=region,
        vpc_cidr=SAMPLE[role]["vpcCidr"],
        subnet_plan=plan_subnets(SAMPLE[role]["vpcCidr"]),
        azs=[z.name for z in network.availability_zones(region)],
    )
    return cluster.ensure_cluster(deployment=DEPLOYMENT, role=role, region=region, network=dict(net), config=config)


@pytest.fixture
def pair_config() -> dict[str, Any]:
    return {**catalog.defaults(), "primary": {"region": PRIMARY_REGION}, "secondary": {"region": SECONDARY_REGION}}


@pytest.mark.moto_world(profile=CLUSTERS, extensions=[msk, strict_ec2])
def test_pair_state_is_active_only_when_both_clusters_are(vclock: VirtualClock, pair_config: dict[str, Any]) -> None:
    clusters = {"primary": _cluster("primary", PRIMARY_REGION, pair_config)}
    vclock.advance(CLUSTERS.cluster_create / 2)
    clusters["secondary"] = _cluster("secondary", SECONDARY_REGION, pair_config)
    states = []
    for _ in range(3):
        states.append(cluster.pair_state(clusters=clusters, config=pair_config))
        vclock.advance(CLUSTERS.cluster_create / 2)
    assert states == [
        {"state": "CREATING", "primary": "CREATING", "secondary": "CREATING"},
        {"state": "CREATING", "primary": "ACTIVE", "secondary": "CREATING"},
        {"state": "ACTIVE", "primary": "ACTIVE", "secondary": "ACTIVE"},
    ]


@pytest.mark.moto_world(profile=CLUSTERS, extensions=[msk, strict_ec2])
def test_pair_state_names_the_cluster_that_failed(vclock: VirtualClock, pair_config: dict[str, Any]) -> None:
    made = _cluster("primary", PRIMARY_REGION, pair_config)
    msk.fail_next_cluster(SECONDARY_REGION, code="InsufficientCapacity", message="no kafka.m5.large capacity")
    failing = _cluster("secondary", SECONDARY_REGION, pair_config)
    vclock.advance(CLUSTERS.cluster_create)
    with pytest.raises(ResourceFailed) as exc:
        cluster.pair_state(clusters={"primary": made, "secondary": failing}, config=pair_config)
    assert str(exc.value) == (
        f"secondary cluster {failing['clusterName']} ended FAILED: InsufficientCapacity: no kafka.m5.large capacity"
    )


# -- the SCRAM credentials ------------------------------------------------------------------------


def test_credentials_are_made_once_and_deleted_together(vclock: VirtualClock) -> None:
    made = scram.ensure_credentials(deployment=DEPLOYMENT, role="primary", region=PRIMARY_REGION, username="msk-admin")
    assert set(made) == {"kmsKeyArn", "scramSecretArn"}
    assert (
        scram.ensure_credentials(deployment=DEPLOYMENT, role="primary", region=PRIMARY_REGION, username="msk-admin")
        == made
    )
    secret = boto3.client("secretsmanager", region_name=PRIMARY_REGION).describe_secret(SecretId=made["scramSecretArn"])
    assert secret["KmsKeyId"] == made["kmsKeyArn"]
    assert scram.delete_credentials(deployment=DEPLOYMENT, region=PRIMARY_REGION) == {
        "secretDeleted": True,
        "keyScheduledForDeletion": True,
    }
    assert scram.delete_credentials(deployment=DEPLOYMENT, region=PRIMARY_REGION) == {
        "secretDeleted": False,
        "keyScheduledForDeletion": False,
    }


# -- the client's commands ------------------------------------------------------------------------


@pytest.fixture
def client(vclock: VirtualClock) -> str:
    """An instance of the primary client, online in SSM."""
    net = network.create_network(
        deployment=DEPLOYMENT,
        role="primary",
        region=PRIMARY_REGION,
        vpc_cidr="10.0.0.0/16",
        subnet_plan=plan_subnets("10.0.0.0/16"),
        azs=[z.name for z in network.availability_zones(PRIMARY_REGION)],
    )
    iam = cm.ensure_client_iam(deployment=DEPLOYMENT, boundary_arn=make_client_role_boundary())
    vclock.advance(CLIENTS.instance_profile_propagation)
    group = cm.ensure_client_security_group(deployment=DEPLOYMENT, role="primary", network=dict(net))
    launched = cm.launch_client(
        deployment=DEPLOYMENT,
        role="primary",
        network=dict(net),
        instance_type="t3.small",
        instance_profile_arn=iam["instanceProfileArn"],
        security_group_id=group,
        client_token=f"{EXECUTION}-primary",
    )
    vclock.advance(CLIENTS.instance_start + CLIENTS.ssm_registration)
    return launched["instanceId"]


@pytest.mark.moto_world(profile=CLIENTS, extensions=[strict_ec2, ssm])
def test_a_steps_script_is_sent_once_per_execution(vclock: VirtualClock, client: str) -> None:
    script = cm.verify_script(bootstrap_brokers=PRIMARY, peer_bootstrap_brokers=SECONDARY)
    sent = cm.submit_command(
        region=PRIMARY_REGION, instance_id=client, script=script, what="verify", execution=EXECUTION
    )
    assert set(sent) == {"commandId", "what"} and sent["what"] == "verify"
    again = cm.submit_command(
        region=PRIMARY_REGION, instance_id=client, script=script, what="verify", execution=EXECUTION
    )
    assert again == sent  # a retried step finds its command
    other = cm.submit_command(
        region=PRIMARY_REGION, instance_id=client, script=script, what="verify", execution="run-43"
    )
    assert other["commandId"] != sent["commandId"]
    assert [c["comment"] for c in ssm.sent_commands(PRIMARY_REGION)] == [
        f"msk-pair verify {EXECUTION}",
        "msk-pair verify run-43",
    ]


@pytest.mark.moto_world(profile=CLIENTS, extensions=[strict_ec2, ssm])
def test_polling_a_verify_command_reports_the_smoke_test_and_the_peer(vclock: VirtualClock, client: str) -> None:
    script = cm.verify_script(bootstrap_brokers=PRIMARY, peer_bootstrap_brokers=SECONDARY)
    command = cm.submit_command(
        region=PRIMARY_REGION, instance_id=client, script=script, what="verify", execution=EXECUTION
    )
    polls = []
    for step in (0, CLIENTS.ssm_command / 2, CLIENTS.ssm_command / 2):
        vclock.advance(step)
        polls.append(cm.poll_command(region=PRIMARY_REGION, instance_id=client, command=command, role="primary"))
    assert [p["status"] for p in polls] == ["Pending", "InProgress", "Success"]
    assert polls[0] == {**command, "status": "Pending"}  # nothing read before it ends
    assert polls[-1] == {**command, "status": "Success", "smokeTestPassed": True, "reachable": True}


@pytest.mark.moto_world(profile=CLIENTS, extensions=[strict_ec2, ssm])
def test_polling_a_failed_command_raises_naming_the_client_and_the_step(vclock: VirtualClock, client: str) -> None:
    ssm.fail_next_command(match="get-secret-value", stderr="msk-pair: cannot read the secret", exit_code=3)
    script = cm.bootstrap_script(kafka_version="3.8.x", region=PRIMARY_REGION, secret_arn="arn:s", cluster_arn="arn:c")
    command = cm.submit_command(
        region=PRIMARY_REGION, instance_id=client, script=script, what="bootstrap", execution=EXECUTION
    )
    vclock.advance(CLIENTS.ssm_command)
    with pytest.raises(ResourceFailed) as exc:
        cm.poll_command(region=PRIMARY_REGION, instance_id=client, command=command, role="primary")
    assert str(exc.value) == (
        "primary client bootstrap: SSM command Failed (exit code 3): msk-pair: cannot read the secret"
    )


@pytest.mark.moto_world(profile=CLIENTS, extensions=[strict_ec2, ssm])
def test_terminating_reports_done_once_nothing_remains(vclock: VirtualClock, client: str) -> None:
    first = cm.terminate_clients(deployment=DEPLOYMENT, role="primary", region=PRIMARY_REGION)
    assert first == {"remaining": 1, "instanceIds": [client], "done": False}
    vclock.advance(3600)
    assert cm.terminate_clients(deployment=DEPLOYMENT, role="primary", region=PRIMARY_REGION)["done"] is True


# -- the replication commands ---------------------------------------------------------------------
# What the canary and the check print is Kafka's tools' output (tests/unit/test_replication.py); the SSM
# emulator prints it for these commands, so that what is read back is what the machine would print.


def _replication_command(client: str, what: str, output: str) -> dict[str, Any]:
    marker = f"# msk-pair test: {what}"
    ssm.set_command_output(match=marker, stdout=output)
    script = f"#!/bin/bash\n{marker}\necho done\n"
    return rep.submit_command(region=PRIMARY_REGION, instance_id=client, script=script, what=what, execution=EXECUTION)


def _replication_config() -> dict[str, Any]:
    return {
        **catalog.defaults(),
        "deploymentName": DEPLOYMENT,
        "primary": {"region": PRIMARY_REGION},
        "secondary": {"region": SECONDARY_REGION},
    }


@pytest.mark.moto_world(profile=CLIENTS, extensions=[strict_ec2, ssm])
def test_a_replication_command_carries_its_execution_and_the_canary_is_read_back(
    vclock: VirtualClock, client: str
) -> None:
    command = _replication_command(client, "canary", CANARY_OUTPUT)
    assert command["execution"] == EXECUTION and command["what"] == "canary"
    config = _replication_config()
    poll = rep.poll_command(region=PRIMARY_REGION, instance_id=client, command=command, role="primary", config=config)
    assert poll == {**command, "status": "Pending"}
    vclock.advance(CLIENTS.ssm_command)
    poll = rep.poll_command(region=PRIMARY_REGION, instance_id=client, command=command, role="primary", config=config)
    assert poll["status"] == "Success"
    assert poll["canary"] == rep.canary_result(CANARY_OUTPUT, EXECUTION)
    assert "report" not in poll


@pytest.mark.moto_world(profile=CLIENTS, extensions=[strict_ec2, ssm])
def test_a_successful_check_carries_the_report(vclock: VirtualClock, client: str) -> None:
    command = _replication_command(client, "replication-check", CHECK_OUTPUT)
    vclock.advance(CLIENTS.ssm_command)
    config = _replication_config()
    canary = rep.canary_result(CANARY_OUTPUT, EXECUTION)
    brokers = {"primary": {"bootstrapBrokersSaslScram": PRIMARY}, "secondary": {"bootstrapBrokersSaslScram": SECONDARY}}
    with pytest.raises(ValueError):
        rep.poll_command(region=PRIMARY_REGION, instance_id=client, command=command, role="secondary", config=config)
    poll = rep.poll_command(
        region=PRIMARY_REGION,
        instance_id=client,
        command=command,
        role="secondary",
        config=config,
        canary=canary,
        brokers=brokers,
    )
    check = rep.check_result(CHECK_OUTPUT, EXECUTION, config["replication"]["topicNaming"])
    assert poll["check"] == check
    assert poll["report"] == rep.report(
        deployment=DEPLOYMENT,
        replication=config["replication"],
        canary=canary,
        check=check,
        instance_id=client,
        clusters={
            "primary": {"region": PRIMARY_REGION, "bootstrapBrokers": PRIMARY},
            "secondary": {"region": SECONDARY_REGION, "bootstrapBrokers": SECONDARY},
        },
    )
    assert poll["report"]["check"]["seen"] == 10
    assert EXECUTION in json.dumps(poll)  # the command keeps its execution for the next poll
