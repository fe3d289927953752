"""Issue 3 on the real state machine: KMS key, secret, SCRAM cluster, wait loop, association, bootstrap."""

from __future__ import annotations

import boto3
import pytest

from msk_pair.emulator import msk as msk_emulator
from tests.conftest import TEARDOWN_REQUEST, leftovers
from tests.statemachine.test_network_path_flow import break_before_state


def _entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]


def test_both_clusters_have_every_setting_of_the_guide(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    for role in ("primary", "secondary"):
        region = sample[role]["region"]
        kafka = boto3.client("kafka", region_name=region)
        info = kafka.describe_cluster_v2(ClusterArn=out[role]["clusterArn"])["ClusterInfo"]
        assert info["State"] == "ACTIVE"
        prov = info["Provisioned"]
        auth = prov["ClientAuthentication"]
        assert auth["Sasl"]["Scram"]["Enabled"] is True
        assert auth["Unauthenticated"]["Enabled"] is False
        assert prov["EncryptionInfo"]["EncryptionInTransit"]["ClientBroker"] == "TLS"
        assert prov["EnhancedMonitoring"] == "PER_TOPIC_PER_PARTITION"
        prom = prov["OpenMonitoring"]["Prometheus"]
        assert prom["JmxExporter"]["EnabledInBroker"] is True
        assert prom["NodeExporter"]["EnabledInBroker"] is True
        nodes = prov["BrokerNodeGroupInfo"]
        assert nodes["InstanceType"] == sample["brokerInstanceType"]
        assert nodes["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == sample["brokerStorageGiB"]
        assert prov["NumberOfBrokerNodes"] == 3 * sample["brokersPerAz"]
        assert prov["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == sample["kafkaVersion"]
        ec2 = boto3.client("ec2", region_name=region)
        subnets = ec2.describe_subnets(SubnetIds=nodes["ClientSubnets"])["Subnets"]
        assert len({s["AvailabilityZone"] for s in subnets}) == 3
        assert all(s["VpcId"] == out[role]["vpcId"] for s in subnets)
        default_sg = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [out[role]["vpcId"]]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )["SecurityGroups"][0]
        assert nodes["SecurityGroups"] == [default_sg["GroupId"]]
        # the secret: named for MSK, encrypted with the deployment's own key, associated
        secret = boto3.client("secretsmanager", region_name=region).describe_secret(
            SecretId=out[role]["scramSecretArn"]
        )
        assert secret["Name"] == f"AmazonMSK_{sample['deploymentName']}"
        assert secret["KmsKeyId"] == out[role]["kmsKeyArn"]
        key = boto3.client("kms", region_name=region).describe_key(KeyId=out[role]["kmsKeyArn"])["KeyMetadata"]
        assert key["KeyManager"] == "CUSTOMER" and key["KeySpec"] == "SYMMETRIC_DEFAULT"
        assert kafka.list_scram_secrets(ClusterArn=out[role]["clusterArn"])["SecretArnList"] == [
            out[role]["scramSecretArn"]
        ]
        assert out[role]["bootstrapBrokersSaslScram"].count(":9096") == 3


def test_wait_loop_polls_while_creating_and_associates_only_after_active(emu, sample):
    msk_emulator.slow_next_cluster(20 * 60, region="us-east-1")  # 20 emulated minutes of CREATING
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    names = _entered(result)
    polls = names.count("Wait for clusters ACTIVE")
    assert polls >= 10, polls  # pollSeconds 60: one check a minute while it is CREATING
    last_check = max(i for i, n in enumerate(names) if n == "Wait for clusters ACTIVE")
    assert names.index("Primary: associate secret") > last_check
    # the key and secret were made while the cluster was still CREATING
    assert names.index("Primary: create key and secret") < names.index("Wait for clusters ACTIVE")


def test_the_password_never_appears_in_the_history(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED"
    for role in ("primary", "secondary"):
        sm = boto3.client("secretsmanager", region_name=sample[role]["region"])
        import json

        password = json.loads(sm.get_secret_value(SecretId=result.output[role]["scramSecretArn"])["SecretString"])[
            "password"
        ]
        assert len(password) >= 16
        assert password not in result.history_text()
        assert password not in json.dumps(result.output)


def test_a_failed_cluster_tears_everything_down(emu, sample):
    msk_emulator.fail_next_cluster(region="us-west-2", message="insufficient capacity")
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "ResourceFailed"
    assert "secondary cluster" in result.cause and "insufficient capacity" in result.cause
    assert leftovers() == {}


def test_a_cluster_that_is_not_active_in_time_times_out_and_tears_down(emu, sample):
    # 50 minutes of CREATING against a 30-minute timeout: provisioning gives up at 30; MSK refuses to delete a
    # CREATING cluster, so the rollback waits (up to another 30) until it may, then deletes it.
    msk_emulator.slow_next_cluster(50 * 60, region="us-east-1")
    sample["timing"] = {"pollSeconds": SLOW_POLL, "clusterTimeoutMinutes": 30}
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "ClusterTimeout"
    assert "primary CREATING, secondary ACTIVE" in result.cause
    assert leftovers() == {}


SLOW_POLL = 300  # for the hour-long clusters: the same behaviour in a fifth of the polls (and test time)


def _fail_at_minute(emu, minute: float) -> None:
    """A hard failure in whatever task runs ``minute`` emulated minutes after the execution starts."""
    emu.faults.add(
        "*", error="HardFault", message=f"broken at minute {minute}", not_before=emu.clock.latest() + minute * 60
    )


@pytest.mark.parametrize("minute", [1, 10])
def test_a_failure_while_the_clusters_are_creating_rolls_back_to_nothing(emu, sample, minute):
    """Issue 11, defect 4: MSK refuses DeleteCluster while CREATING ("You can't delete cluster in CREATING state").
    The old rollback retried the refusal for under 9 minutes, then failed and left clusters, VPCs and keys."""
    for region in ("us-east-1", "us-west-2"):
        msk_emulator.slow_next_cluster(60 * 60, region=region)  # an hour of CREATING, as MSK can take
    sample["timing"] = {"pollSeconds": SLOW_POLL, "clusterTimeoutMinutes": 120}
    started = emu.clock.latest()
    _fail_at_minute(emu, minute)
    result = emu.run(sample)
    assert result.status == "FAILED" and result.error == "HardFault", result.cause
    assert f"broken at minute {minute}" in result.cause
    assert leftovers() == {}
    names = _entered(result)
    # the secret and key went at once; the cluster only when MSK allowed it, after it left CREATING
    waits = names.count("Primary: wait until the cluster can be deleted")
    assert waits >= (60 - minute) * 60 // SLOW_POLL - 2, waits  # it polled while the cluster was CREATING
    assert names.index("Primary: delete secret and key") < names.index("Primary: wait until the cluster can be deleted")
    assert emu.clock.latest() - started >= 60 * 60


def test_the_teardown_entry_point_waits_for_a_creating_cluster_too(emu, sample):
    msk_emulator.slow_next_cluster(45 * 60, region="us-west-2")
    sample["onFailure"] = "RETAIN"
    sample["timing"] = {"pollSeconds": SLOW_POLL}
    _fail_at_minute(emu, 2)
    kept = emu.run(sample)
    assert kept.status == "FAILED" and leftovers() != {}
    clusters = boto3.client("kafka", region_name="us-west-2").list_clusters_v2()["ClusterInfoList"]
    assert [c["State"] for c in clusters] == ["CREATING"]
    emu.faults.clear()
    result = emu.run({**TEARDOWN_REQUEST, "timing": {"pollSeconds": SLOW_POLL}})
    assert result.status == "SUCCEEDED", result.cause
    assert leftovers() == {}


def test_a_cluster_stuck_creating_beyond_the_bound_fails_the_teardown_and_a_later_one_finishes(emu, sample):
    msk_emulator.slow_next_cluster(3 * 3600, region="us-east-1")
    sample["timing"] = {"pollSeconds": SLOW_POLL, "clusterTimeoutMinutes": 30}
    result = emu.run(sample)
    assert result.status == "FAILED" and result.error == "TeardownFailed", result.cause
    assert "refuses deletion in" in result.cause
    emu.clock.advance(3 * 3600)  # MSK finishes creating it eventually
    again = emu.run(TEARDOWN_REQUEST)
    assert again.status == "SUCCEEDED", again.cause
    assert leftovers() == {}


def test_a_refused_association_tears_down(emu, sample, monkeypatch):
    # Someone re-encrypts the primary secret with the default key just before the association:
    # MSK refuses such a secret (the emulator too), which is not transient: teardown.
    def reencrypt_with_default_key():
        sm = boto3.client("secretsmanager", region_name="us-east-1")
        sm.update_secret(SecretId=f"AmazonMSK_{sample['deploymentName']}", KmsKeyId="alias/aws/secretsmanager")

    break_before_state(emu, monkeypatch, "Primary: associate secret", reencrypt_with_default_key)
    result = emu.run(sample)
    assert result.status == "FAILED" and result.error == "ResourceFailed", result.cause
    assert "customer managed" in result.cause
    assert leftovers() == {}
