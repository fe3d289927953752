"""The emulator's Kafka model (msk_pair.emulator.kafka) on a provisioned pair: the rules the replication
proof relies on, one by one (sources next to each rule in the module's docstring)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from msk_pair.emulator import kafka
from msk_pair.emulator.engine import Emulator
from msk_pair.emulator.profile import FAST
from mskpair_core import client_machine as cm
from mskpair_core import replication as rep
from tests.conftest import ROOT, SAMPLE

GROUP, REMOTE = rep.CANARY_GROUP, "primary.msk-pair.canary"


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Emulator, dict[str, Any]]]:
    with Emulator(root=ROOT, profile=FAST) as emu:
        result = emu.run(dict(SAMPLE))
        assert result.status == "SUCCEEDED", result.cause
        yield emu, result.output


def run(emu: Emulator, out: dict[str, Any], role: str, script: str, name: str) -> dict[str, Any]:
    """Send ``script`` to the role's client, let the command's emulated time pass, read it."""
    region, instance = out[role]["region"], out[role]["clientInstanceId"]
    command_id = cm.send_command(region=region, instance_id=instance, script=script, comment=f"test {name}")
    emu.clock.advance(FAST.ssm_command + 1)
    return cm.command_status(region=region, command_id=command_id, instance_id=instance, output_chars=20000)


def test_offsets_are_written_on_the_target_only_while_the_group_has_no_member_there(world):
    emu, out = world
    secondary = out["secondary"]["clusterArn"]
    now = emu.clock.now()
    assert kafka.group_offset(secondary, GROUP, REMOTE, at=now) == 10
    # a member of the group is active on the secondary for ten minutes (KIP-545: MM2 leaves such a group alone)
    kafka.hold_group_active(secondary, GROUP, now, now + 600)
    canary = run(
        emu,
        out,
        "primary",
        rep.canary_script(bootstrap_brokers=out["primary"]["bootstrapBrokersSaslScram"], execution="second-canary"),
        "canary-2",
    )
    assert canary["status"] == "Success", canary
    assert rep.canary_result(canary["output"], "second-canary")["primaryOffset"] == 20
    assert kafka.group_offset(secondary, GROUP, REMOTE, at=now + 500) == 10  # replicated, offset not written
    assert len(kafka.topic_records(secondary, REMOTE)) == 20
    assert kafka.group_offset(secondary, GROUP, REMOTE, at=now + 700) == 20  # inactive again: the next sync writes it


def test_a_client_authenticates_only_with_a_secret_associated_with_the_cluster(world):
    emu, out = world
    # the secondary client's client.properties holds the secondary's secret: the primary refuses it
    script = rep.canary_script(bootstrap_brokers=out["primary"]["bootstrapBrokersSaslScram"], execution="wrong-creds")
    status = run(emu, out, "secondary", script, "wrong-creds")
    assert status["status"] == "Failed"
    assert "SaslAuthenticationException: Authentication failed" in status["error"]
    assert out["secondary"]["scramSecretArn"] in status["error"] and "not associated" in status["error"]


def test_a_script_shape_the_emulator_does_not_know_fails_loudly(world):
    emu, out = world
    brokers = out["secondary"]["bootstrapBrokersSaslScram"]
    consumer = f"/opt/kafka/bin/kafka-console-consumer.sh --bootstrap-server {brokers} --topic t"
    script = f"#!/bin/bash\nset -euo pipefail\n{consumer}\n"
    status = run(emu, out, "secondary", script, "shape")
    assert status["status"] == "Failed" and "msk-pair emulator:" in status["error"]
    assert "without --bootstrap-server and a client configuration file" in status["error"]


def test_mirrormaker_reads_the_primary_secret_only_if_the_role_allows_it_across_regions(world):
    emu, out = world
    iam = boto3.client("iam", region_name="us-east-1")
    role = cm.client_role_name(SAMPLE["deploymentName"])
    document = iam.get_role_policy(RoleName=role, PolicyName=cm.INLINE_POLICY_NAME)["PolicyDocument"]
    policy = document if isinstance(document, dict) else json.loads(document)
    for statement in policy["Statement"]:  # the secrets of this region only: the primary's is elsewhere
        if statement["Sid"] == "ReadDeploymentScramSecrets":
            statement["Resource"] = statement["Resource"].replace(":secretsmanager:*:", ":secretsmanager:us-west-2:")
    iam.put_role_policy(RoleName=role, PolicyName=cm.INLINE_POLICY_NAME, PolicyDocument=json.dumps(policy))
    script = rep.start_script(
        deployment=SAMPLE["deploymentName"],
        primary_brokers=out["primary"]["bootstrapBrokersSaslScram"],
        secondary_brokers=out["secondary"]["bootstrapBrokersSaslScram"],
        primary_secret_arn=out["primary"]["scramSecretArn"],
        primary_region="us-east-1",
        secondary_secret_arn=out["secondary"]["scramSecretArn"],
        secondary_region="us-west-2",
        replication={"engine": "mm2", "topics": "other", "groups": ".*", "topicNaming": "prefixed"},
    )
    status = run(emu, out, "secondary", script, "no-cross-region")
    assert status["status"] == "Failed"
    assert "cannot read the primary SCRAM secret: AccessDeniedException" in status["error"]
    assert kafka.service_status(out["secondary"]["clientInstanceId"])["config"]["topics"] != "other, msk-pair\\.canary"
