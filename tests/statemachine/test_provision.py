"""The real state machine (ASL from template.yaml) on the emulator, end to end."""

from __future__ import annotations

import json

import boto3
import pytest

from msk_pair.emulator.inventory import region_inventory
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG
from tests.conftest import REGIONS, TEARDOWN_REQUEST, leftovers


def test_sample_input_builds_both_networks(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    assert out["deploymentName"] == "orders-dr"
    for role in ("primary", "secondary"):
        region, cidr = sample[role]["region"], sample[role]["vpcCidr"]
        assert out[role]["region"] == region and out[role]["vpcCidr"] == cidr
        ec2 = boto3.client("ec2", region_name=region)
        vpc = ec2.describe_vpcs(VpcIds=[out[role]["vpcId"]])["Vpcs"][0]
        assert vpc["CidrBlock"] == cidr
        assert {t["Key"]: t["Value"] for t in vpc["Tags"]}[ROLE_TAG] == role
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
        assert len(subnets) == 4
        assert len({s["AvailabilityZone"] for s in subnets}) == 3
        for s in subnets:
            tags = {t["Key"]: t["Value"] for t in s["Tags"]}
            assert tags[DEPLOYMENT_TAG] == "orders-dr" and tags[ROLE_TAG] == role


def test_validated_config_with_defaults_is_in_the_history(emu):
    minimal = {
        "deploymentName": "mini",
        "primary": {"region": "us-east-1", "vpcCidr": "10.0.0.0/16"},
        "secondary": {"region": "us-west-2", "vpcCidr": "10.1.0.0/16"},
    }
    result = emu.run(minimal)
    assert result.status == "SUCCEEDED", result.cause
    exited = next(
        e
        for e in result.events
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Validate input"
    )
    config = json.loads(exited["stateExitedEventDetails"]["output"])["config"]
    assert config["onFailure"] == "ROLLBACK" and config["brokersPerAz"] == 1
    assert config["timing"]["pollSeconds"] == 60 and config["mode"] == "provision"


BAD_INPUTS = {
    "overlapping CIDRs": (lambda r: r["secondary"].update(vpcCidr="10.0.128.0/17"), "vpcCidr"),
    "invalid CIDR": (lambda r: r["primary"].update(vpcCidr="10.0.0.300/16"), "primary.vpcCidr"),
    "CIDR too small": (lambda r: r["primary"].update(vpcCidr="10.0.0.0/27"), "primary.vpcCidr"),
    "same region twice": (lambda r: r["secondary"].update(region="us-east-1"), "region"),
    "unknown region": (lambda r: r["secondary"].update(region="mars-north-1"), "secondary.region"),
    "fewer than three AZs": (lambda r: r["secondary"].update(region="us-west-1"), "secondary.region"),
    "bad deployment name": (lambda r: r.update(deploymentName="Orders_DR"), "deploymentName"),
    "unknown field": (lambda r: r.update(colour="blue"), "colour"),
    "wrong type": (lambda r: r.update(brokersPerAz="two"), "brokersPerAz"),
    "unsupported Kafka version": (lambda r: r.update(kafkaVersion="3.6.0"), "kafkaVersion"),
    "Kafka 4 without .kraft": (lambda r: r.update(kafkaVersion="4.0.x"), "kafkaVersion"),
    "broker type without per-partition monitoring": (
        lambda r: r.update(brokerInstanceType="kafka.t3.small"),
        "brokerInstanceType",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_first_state_and_creates_nothing(emu, sample, case):
    mutate, field = BAD_INPUTS[case]
    mutate(sample)
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "InvalidInput"
    assert field in json.loads(result.cause)["errorMessage"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]
    assert entered == ["Validate input"]
    assert leftovers(sample["deploymentName"], [*REGIONS, "us-west-1"]) == {}


def test_a_non_object_input_is_invalid(emu):
    result = emu.run("[1, 2]")
    assert result.status == "FAILED" and result.error == "InvalidInput"


@pytest.mark.parametrize("role", ["primary", "secondary"])
@pytest.mark.parametrize("after", [False, True], ids=["before-aws-work", "after-aws-work"])
def test_failure_in_network_step_tears_down_both_regions(emu, sample, role, after):
    emu.faults.add("NetworkCreateFunction", role=role, error="Boom", message="disk on fire", times=None, after=after)
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "Boom"
    assert json.loads(result.cause)["errorMessage"] == "disk on fire"
    entered = [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]
    assert "Teardown" in entered
    assert leftovers() == {}


def test_retain_keeps_what_was_made_and_still_fails(emu, sample):
    sample["onFailure"] = "RETAIN"
    emu.faults.add("NetworkCreateFunction", role="secondary", error="Boom", times=None, after=True)
    result = emu.run(sample)
    assert result.status == "FAILED" and result.error == "Boom"
    entered = [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]
    assert "Teardown" not in entered
    left = leftovers()
    assert set(left) == {*REGIONS, "iam"}
    assert all(len(left[r]["vpcs"]) == 1 for r in REGIONS)


def test_provisioning_twice_makes_no_duplicates(emu, sample):
    first = emu.run(sample)
    second = emu.run(sample)
    assert first.status == second.status == "SUCCEEDED"
    assert (first.output.pop("existedBefore"), second.output.pop("existedBefore")) == (False, True)
    for role in ("primary", "secondary"):  # the same resources; only the commands run again
        first.output[role].pop("commands")
        second.output[role].pop("commands")
    for result in (first, second):
        result.output["peering"].pop("crossRegionCheck")
        result.output.pop("replication")  # the proof runs again (test_replication_flow: nothing restarts)
    assert first.output == second.output
    for region in REGIONS:
        inv = region_inventory("orders-dr", region)
        assert len(inv["vpcs"]) == 1 and len(inv["subnets"]) == 4 and len(inv["internetGateways"]) == 1
        assert len(inv["clusters"]) == 1 and len(inv["instances"]) == 1 and len(inv["secrets"]) == 1
        assert len(inv["kmsKeys"]) == 1 and len(inv["securityGroups"]) == 2  # the client's, the VPC's default


def test_teardown_mode_deletes_a_finished_deployment_and_is_safe_twice(emu, sample):
    assert emu.run(sample).status == "SUCCEEDED"
    assert leftovers() != {}
    teardown = TEARDOWN_REQUEST
    first = emu.run(teardown)
    assert first.status == "SUCCEEDED", first.cause
    assert leftovers() == {}
    assert emu.run(teardown).status == "SUCCEEDED"


def test_transient_error_is_retried_and_the_run_succeeds(emu, sample):
    emu.faults.add("NetworkCreateFunction", role="primary", error="Transient", times=1)
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    failed = [e for e in result.events if e["type"] == "LambdaFunctionFailed"]
    transient = [e for e in failed if e["lambdaFunctionFailedEventDetails"]["error"] == "Transient"]
    assert any("injected" in e["lambdaFunctionFailedEventDetails"]["cause"] for e in transient)


def test_a_second_execution_for_the_same_deployment_refuses(emu, sample):
    first = emu.start_execution(sample, name="a-first")
    second = emu.start_execution(sample, name="b-second")
    second_result = emu.wait(second)
    first_result = emu.wait(first)
    assert first_result.status == "SUCCEEDED", first_result.cause
    assert second_result.status == "FAILED"
    assert second_result.error == "Conflict"
    assert "a-first" in json.loads(second_result.cause)["errorMessage"]
    names = [e["stateEnteredEventDetails"]["name"] for e in second_result.events if e["type"].endswith("StateEntered")]
    assert names == ["Validate input"]  # refused before anything, and no teardown of the other's work
    for region in REGIONS:
        assert len(region_inventory("orders-dr", region)["vpcs"]) == 1


def test_another_deployment_runs_side_by_side(emu, sample):
    other = {**sample, "deploymentName": "orders-dr2"}
    other["primary"] = {"region": "us-east-1", "vpcCidr": "10.50.0.0/16"}
    other["secondary"] = {"region": "us-west-2", "vpcCidr": "10.60.0.0/16"}
    a = emu.start_execution(sample)
    b = emu.start_execution(other)
    assert emu.wait(a).status == "SUCCEEDED"
    assert emu.wait(b).status == "SUCCEEDED"


def test_teardown_finishes_a_half_gone_deployment(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    # someone already removed parts by hand: the primary cluster, the secondary client, the peering
    boto3.client("kafka", region_name="us-east-1").delete_cluster(ClusterArn=out["primary"]["clusterArn"])
    boto3.client("ec2", region_name="us-west-2").terminate_instances(InstanceIds=[out["secondary"]["clientInstanceId"]])
    boto3.client("ec2", region_name="us-east-1").delete_vpc_peering_connection(
        VpcPeeringConnectionId=out["peering"]["vpcPeeringConnectionId"]
    )
    teardown = TEARDOWN_REQUEST
    done = emu.run(teardown)
    assert done.status == "SUCCEEDED", done.cause
    assert leftovers() == {}
