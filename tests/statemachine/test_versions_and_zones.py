"""Issue 11 items 5 and 6 on the real state machine: Kafka 4 as MSK names it, asked of MSK; zones by zone ID."""

from __future__ import annotations

import json

import boto3

from msk_pair.emulator import msk as msk_emulator
from msk_pair.emulator import ssm as ssm_emulator
from tests.conftest import REGIONS, leftovers


def _entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]


def _validated_config(result):
    exited = next(
        e
        for e in result.events
        if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Validate input"
    )
    return json.loads(exited["stateExitedEventDetails"]["output"])["config"]


def test_kafka_4_1_kraft_in_an_account_where_us_east_1a_is_use1_az3(emu, sample):
    # In this account the first zone by name is the one MSK refuses client subnets in (MSK API reference,
    # BrokerNodeGroupInfo: "Client subnets can't occupy the Availability Zone with ID use1-az3"), and the
    # emulator refuses such a CreateClusterV2: the run succeeds only if Validate input skipped it by ID.
    primary = sample["primary"]["region"]
    msk_emulator.remap_zone_ids(primary, {f"{primary}a": "use1-az3", f"{primary}e": "use1-az6"})
    sample["kafkaVersion"] = "4.1.x.kraft"

    result = emu.run(sample)

    assert result.status == "SUCCEEDED", result.cause
    config = _validated_config(result)
    assert config["primary"]["availabilityZones"] == [f"{primary}b", f"{primary}c", f"{primary}d"]
    assert config["primary"]["availabilityZoneIds"] == ["use1-az1", "use1-az2", "use1-az4"]
    for role in ("primary", "secondary"):
        region = sample[role]["region"]
        out = result.output[role]
        kafka = boto3.client("kafka", region_name=region)
        info = kafka.describe_cluster_v2(ClusterArn=out["clusterArn"])["ClusterInfo"]
        assert info["Provisioned"]["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "4.1.x.kraft"
        assert "zookeeper" not in json.dumps(info, default=str).lower()  # KRaft: no ZooKeeper strings
        subnets = boto3.client("ec2", region_name=region).describe_subnets(
            SubnetIds=info["Provisioned"]["BrokerNodeGroupInfo"]["ClientSubnets"]
        )["Subnets"]
        assert sorted(s["AvailabilityZoneId"] for s in subnets) == sorted(config[role]["availabilityZoneIds"])
        assert "use1-az3" not in {s["AvailabilityZoneId"] for s in subnets}
        bootstrap = next(
            c
            for c in ssm_emulator.sent_commands(region)
            if out["clientInstanceId"] in c["instanceIds"] and "kafka_2.13-" in c["script"]
        )
        assert "https://archive.apache.org/dist/kafka/4.1.0/kafka_2.13-4.1.0.tgz" in bootstrap["script"]


def test_a_version_msk_lists_deprecated_in_one_region_fails_the_first_state_and_creates_nothing(emu, sample):
    # 3.9.x is in the catalog, so only asking MSK (ListKafkaVersions in each region) can refuse it.
    secondary = sample["secondary"]["region"]
    msk_emulator.set_kafka_version_status(secondary, "3.9.x", "DEPRECATED")
    sample["kafkaVersion"] = "3.9.x"

    result = emu.run(sample)

    assert result.status == "FAILED"
    assert result.error == "InvalidInput"
    message = json.loads(result.cause)["errorMessage"]
    assert message.startswith(f"kafkaVersion: '3.9.x' is DEPRECATED in Amazon MSK in {secondary}")
    assert sample["primary"]["region"] not in message
    assert _entered(result) == ["Validate input"]
    assert leftovers(sample["deploymentName"], REGIONS) == {}
