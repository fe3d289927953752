"""The MSK emulator extension: MSK's rules on top of moto's Kafka backend (see msk_pair.emulator.msk)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from msk_pair.emulator import msk, strict_ec2
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile
from mskpair_core.config import msk_kafka_versions

REGION = "us-east-1"
PROFILE = LatencyProfile(cluster_create=300.0, cluster_delete=120.0, cluster_eni_linger=60.0)
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=[strict_ec2, msk])


@pytest.fixture
def vclock(emulated_clock: VirtualClock) -> VirtualClock:
    """Here the clock alone (not conftest's moto_world): some tests install the extension themselves."""
    return emulated_clock


@pytest.fixture
def kafka(moto_world: VirtualClock) -> Any:
    return boto3.client("kafka", region_name=REGION)


@pytest.fixture
def ec2(moto_world: VirtualClock) -> Any:
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def net(ec2: Any) -> dict[str, Any]:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    zones = sorted(z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"])[:3]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"]["SubnetId"]
        for i, az in enumerate(zones, start=1)
    ]
    sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "sg": sg}


def _create(kafka: Any, net: dict[str, Any], name: str = "demo-primary", brokers: int = 3, **extra: Any) -> str:
    provisioned = {
        "BrokerNodeGroupInfo": {
            "ClientSubnets": net["subnets"],
            "InstanceType": "kafka.m5.large",
            "SecurityGroups": [net["sg"]],
            "StorageInfo": {"EbsStorageInfo": {"VolumeSize": 100}},
        },
        "KafkaVersion": "3.8.x",
        "NumberOfBrokerNodes": brokers,
        "ClientAuthentication": {
            "Sasl": {"Scram": {"Enabled": True}, "Iam": {"Enabled": False}},
            "Unauthenticated": {"Enabled": False},
        },
        "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
        "EnhancedMonitoring": "PER_TOPIC_PER_PARTITION",
        "OpenMonitoring": {
            "Prometheus": {"JmxExporter": {"EnabledInBroker": True}, "NodeExporter": {"EnabledInBroker": True}}
        },
        **extra,
    }
    return kafka.create_cluster_v2(ClusterName=name, Provisioned=provisioned, Tags={"k": "v"})["ClusterArn"]


def _state(kafka: Any, arn: str) -> str:
    return kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"]


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _secret(region: str = REGION, name: str = "AmazonMSK_demo", key: str | None = "cmk") -> str:
    sm = boto3.client("secretsmanager", region_name=region)
    kwargs: dict[str, Any] = {"Name": name, "SecretString": json.dumps({"username": "u", "password": "p"})}
    if key == "cmk":
        kwargs["KmsKeyId"] = boto3.client("kms", region_name=region).create_key()["KeyMetadata"]["Arn"]
    elif key:
        kwargs["KmsKeyId"] = key
    return sm.create_secret(**kwargs)["ARN"]


# -- create and describe --------------------------------------------------------------------------


def test_create_keeps_every_setting_in_msk_shape(kafka: Any, net: dict[str, Any]) -> None:
    arn = _create(kafka, net)
    assert re.fullmatch(r"arn:aws:kafka:us-east-1:123456789012:cluster/demo-primary/[0-9a-f-]{36}-\d+", arn)
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    p = info["Provisioned"]
    assert info["ClusterName"] == "demo-primary" and info["State"] == "CREATING"
    assert info["Tags"] == {"k": "v"}
    assert "StateInfo" not in info
    assert p["BrokerNodeGroupInfo"]["ClientSubnets"] == net["subnets"]
    assert p["BrokerNodeGroupInfo"]["SecurityGroups"] == [net["sg"]]
    assert p["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 100
    assert p["ClientAuthentication"]["Sasl"]["Scram"]["Enabled"] is True
    assert p["ClientAuthentication"]["Sasl"]["Iam"]["Enabled"] is False
    assert p["ClientAuthentication"]["Unauthenticated"]["Enabled"] is False
    assert p["EncryptionInfo"]["EncryptionInTransit"] == {"ClientBroker": "TLS", "InCluster": True}
    assert p["EncryptionInfo"]["EncryptionAtRest"]["DataVolumeKMSKeyId"].startswith("arn:aws:kms:")
    assert p["EnhancedMonitoring"] == "PER_TOPIC_PER_PARTITION"
    assert p["OpenMonitoring"]["Prometheus"]["JmxExporter"]["EnabledInBroker"] is True
    assert p["OpenMonitoring"]["Prometheus"]["NodeExporter"]["EnabledInBroker"] is True
    assert p["NumberOfBrokerNodes"] == 3
    assert p["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "3.8.x"
    listed = kafka.list_clusters_v2(ClusterNameFilter="demo")["ClusterInfoList"]
    assert [c["ClusterArn"] for c in listed] == [arn]
    assert listed[0]["Provisioned"]["EnhancedMonitoring"] == "PER_TOPIC_PER_PARTITION"


def test_create_refuses_what_msk_refuses(kafka: Any, net: dict[str, Any]) -> None:
    _create(kafka, net)
    with pytest.raises(ClientError) as exc:
        _create(kafka, net)
    assert _code(exc) == "ConflictException"
    with pytest.raises(ClientError) as exc:
        _create(kafka, net, name="other", brokers=4)
    assert _code(exc) == "BadRequestException"
    bad = {**net, "subnets": ["subnet-12345678", *net["subnets"][1:]]}
    with pytest.raises(ClientError) as exc:
        _create(kafka, bad, name="other")
    assert _code(exc) == "BadRequestException"


# -- what MSK offers: Kafka versions (rules 8, 9, 11) and zones (rule 10) ----------------------------


def _listed(kafka: Any, **paging: Any) -> list[dict[str, str]]:
    pages = kafka.get_paginator("list_kafka_versions").paginate(PaginationConfig=paging)
    return [item for page in pages for item in page["KafkaVersions"]]


def test_list_kafka_versions_pages_msk_strings_with_their_status(kafka: Any) -> None:
    # GET /v1/kafka-versions: KafkaVersions[].Version/.Status, ACTIVE | DEPRECATED (MSK API reference, kafka-versions)
    listed = _listed(kafka, PageSize=7)
    assert listed == _listed(kafka)  # every page, same order as one call
    status = {item["Version"]: item["Status"] for item in listed}
    assert len(status) == len(listed) == len(msk.KAFKA_VERSIONS)
    assert set(status.values()) == {"ACTIVE", "DEPRECATED"}
    assert status["3.8.x"] == status["3.8.x.kraft"] == status["4.0.x.kraft"] == status["4.1.x.kraft"] == "ACTIVE"
    assert status["3.6.0"] == status["2.1.0"] == "DEPRECATED"
    assert "4.0.x" not in status and "4.1.x" not in status  # Kafka 4 on MSK is KRaft only


def test_a_test_can_change_one_regions_version_list(kafka: Any) -> None:
    msk.set_kafka_version_status(REGION, "3.9.x", "DEPRECATED")
    msk.set_kafka_version_status(REGION, "4.1.x.kraft", None)
    status = {item["Version"]: item["Status"] for item in _listed(kafka)}
    assert status["3.9.x"] == "DEPRECATED" and "4.1.x.kraft" not in status
    other = {item["Version"]: item["Status"] for item in _listed(boto3.client("kafka", region_name="us-west-2"))}
    assert other["3.9.x"] == other["4.1.x.kraft"] == "ACTIVE"
    with pytest.raises(ValueError):
        msk.set_kafka_version_status(REGION, "3.9.x", "active")


def test_the_layer_reads_every_page_of_list_kafka_versions(kafka: Any) -> None:
    for i in range(120):  # more than MSK's default page of 100
        msk.set_kafka_version_status(REGION, f"9.{i}.x", "ACTIVE")
    listed = msk_kafka_versions(REGION)
    assert len(listed) == len(msk.KAFKA_VERSIONS) + 120
    assert listed["9.119.x"] == "ACTIVE" and listed["4.1.x.kraft"] == "ACTIVE"


@pytest.mark.parametrize("version", ["4.0.x", "4.1.x", "3.6.0", "2.1.0", "9.9.9"])
def test_create_refuses_a_version_msk_does_not_list_active(kafka: Any, net: dict[str, Any], version: str) -> None:
    with pytest.raises(ClientError) as exc:
        _create(kafka, net, KafkaVersion=version)
    assert _code(exc) == "BadRequestException"
    message = exc.value.response["Error"]["Message"]
    assert message.startswith(f"Unsupported KafkaVersion [{version}]. Valid values: [")  # MSK's own wording
    valid = message.split("Valid values: [", 1)[1].rstrip("]").split(", ")
    assert "4.1.x.kraft" in valid and "3.6.0" not in valid and version not in valid
    assert kafka.list_clusters_v2()["ClusterInfoList"] == []


def test_create_follows_the_regions_list(kafka: Any, net: dict[str, Any]) -> None:
    msk.set_kafka_version_status(REGION, "3.9.x", "DEPRECATED")
    with pytest.raises(ClientError) as exc:
        _create(kafka, net, KafkaVersion="3.9.x")
    assert _code(exc) == "BadRequestException"
    with pytest.raises(ClientError) as exc:  # CreateCluster (v1) too
        kafka.create_cluster(
            ClusterName="v1",
            KafkaVersion="3.9.x",
            NumberOfBrokerNodes=3,
            BrokerNodeGroupInfo={"ClientSubnets": net["subnets"], "InstanceType": "kafka.m5.large"},
        )
    assert "Unsupported KafkaVersion [3.9.x]" in exc.value.response["Error"]["Message"]
    assert _create(kafka, net, KafkaVersion="3.9.x.kraft")


def test_kraft_clusters_have_no_zookeeper_connection_strings(kafka: Any, net: dict[str, Any]) -> None:
    for name, version in (("zk", "3.8.x"), ("kraft", "3.8.x.kraft"), ("four", "4.1.x.kraft")):
        arn = _create(kafka, net, name=name, KafkaVersion=version)
        p = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["Provisioned"]
        assert p["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == version
        text = json.dumps(kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"], default=str).lower()
        if version.endswith(".kraft"):
            assert "zookeeper" not in text
        else:
            assert ":2181" in p["ZookeeperConnectString"]


def test_create_refuses_a_client_subnet_in_zone_id_use1_az3(kafka: Any, ec2: Any) -> None:
    # "Client subnets can't occupy the Availability Zone with ID use1-az3" (MSK API reference, BrokerNodeGroupInfo).
    # Zone names map to different zones per account: here us-east-1a is use1-az3.
    msk.remap_zone_ids(REGION, {"us-east-1a": "use1-az3", "us-east-1e": "use1-az6"})
    zones = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    assert zones["us-east-1a"] == "use1-az3" and zones["us-east-1e"] == "use1-az6"
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        az: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=az)["Subnet"]
        for i, az in enumerate(("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"), start=1)
    }
    assert subnets["us-east-1a"]["AvailabilityZoneId"] == "use1-az3"
    bad = {"subnets": [subnets[az]["SubnetId"] for az in ("us-east-1a", "us-east-1b", "us-east-1c")], "sg": None}
    with pytest.raises(ClientError) as exc:
        _create(kafka, {**bad, "sg": _default_group(ec2, vpc)})
    assert _code(exc) == "BadRequestException"
    message = exc.value.response["Error"]["Message"]
    assert subnets["us-east-1a"]["SubnetId"] in message
    assert "Client subnets can't occupy the Availability Zone with ID use1-az3." in message
    good = [subnets[az]["SubnetId"] for az in ("us-east-1b", "us-east-1c", "us-east-1e")]  # us-east-1e: use1-az6 here
    assert _create(kafka, {"subnets": good, "sg": _default_group(ec2, vpc)})


def test_zone_remap_is_undone_by_reset(ec2: Any) -> None:
    msk.remap_zone_ids(REGION, {"us-east-1a": "use1-az3"})
    msk.reset()
    zones = {z["ZoneName"]: z["ZoneId"] for z in ec2.describe_availability_zones()["AvailabilityZones"]}
    assert zones["us-east-1a"] == "use1-az6" and zones["us-east-1e"] == "use1-az3"  # moto's own mapping
    with pytest.raises(ValueError):
        msk.remap_zone_ids(REGION, {"us-east-1z": "use1-az9"})


def _default_group(ec2: Any, vpc: str) -> str:
    return ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]


def test_creating_then_active_after_profile_time(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    arn = _create(kafka, net)
    vclock.advance(PROFILE.cluster_create - 1)
    assert _state(kafka, arn) == "CREATING"
    assert "ActiveOperationArn" in kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    vclock.advance(1)
    assert _state(kafka, arn) == "ACTIVE"
    assert "ActiveOperationArn" not in kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]


def test_fail_next_cluster_ends_failed_with_state_info(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    msk.fail_next_cluster(REGION, code="InsufficientCapacity", message="no capacity")
    arn = _create(kafka, net)
    assert _state(kafka, arn) == "CREATING"
    vclock.advance(PROFILE.cluster_create)
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "FAILED"
    assert info["StateInfo"] == {"Code": "InsufficientCapacity", "Message": "no capacity"}
    other = _create(kafka, net, name="next-one")  # one plan, one cluster
    vclock.advance(PROFILE.cluster_create)
    assert _state(kafka, other) == "ACTIVE"


def test_fail_by_name_and_slow_next_cluster(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    msk.fail_next_cluster(name="b-cluster")
    msk.slow_next_cluster(10_000, name="a-cluster")
    a = _create(kafka, net, name="a-cluster")
    b = _create(kafka, net, name="b-cluster")
    vclock.advance(PROFILE.cluster_create)
    assert _state(kafka, a) == "CREATING"
    assert _state(kafka, b) == "FAILED"
    vclock.advance(10_000)
    assert _state(kafka, a) == "ACTIVE"


# -- delete ---------------------------------------------------------------------------------------


def test_deleting_then_gone_and_second_delete_refused(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    arn = _create(kafka, net)
    vclock.advance(PROFILE.cluster_create)
    assert kafka.delete_cluster(ClusterArn=arn)["State"] == "DELETING"
    assert _state(kafka, arn) == "DELETING"
    with pytest.raises(ClientError) as exc:
        kafka.delete_cluster(ClusterArn=arn)
    assert _code(exc) == "BadRequestException"
    vclock.advance(PROFILE.cluster_delete)
    with pytest.raises(ClientError) as exc:
        kafka.describe_cluster_v2(ClusterArn=arn)
    assert _code(exc) == "NotFoundException"
    assert kafka.list_clusters_v2()["ClusterInfoList"] == []
    with pytest.raises(ClientError) as exc:
        kafka.delete_cluster(ClusterArn=arn)
    assert _code(exc) == "NotFoundException"
    _create(kafka, net)  # the name is free again


@pytest.mark.parametrize("state", ["CREATING", "UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER", "DELETING"])
def test_delete_is_refused_in_a_transitional_state(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, state: str
) -> None:
    """MSK: "BadRequestException: You can't delete cluster in CREATING state" (issue 11; the message as AWS
    returns it for DELETING, quoted in crossplane-contrib/provider-aws#733). The old emulator deleted a
    CREATING cluster at once, so the rollback was never tested against the refusal."""
    arn = _create(kafka, net)
    if state != "CREATING":
        vclock.advance(PROFILE.cluster_create)
        if state == "DELETING":
            kafka.delete_cluster(ClusterArn=arn)
        else:
            msk.hold_cluster(arn, state, 600)
    with pytest.raises(ClientError) as exc:
        kafka.delete_cluster(ClusterArn=arn)
    assert _code(exc) == "BadRequestException"
    assert exc.value.response["Error"]["Message"] == f"You can't delete cluster in {state} state."
    if state != "DELETING":
        vclock.advance(PROFILE.cluster_create + 600)
        assert _state(kafka, arn) == "ACTIVE"
        assert kafka.delete_cluster(ClusterArn=arn)["State"] == "DELETING"


def test_a_failed_cluster_can_be_deleted(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    msk.fail_next_cluster()
    arn = _create(kafka, net)
    vclock.advance(PROFILE.cluster_create)
    assert _state(kafka, arn) == "FAILED"
    assert kafka.delete_cluster(ClusterArn=arn)["State"] == "DELETING"
    vclock.advance(PROFILE.cluster_delete)
    assert kafka.list_clusters_v2()["ClusterInfoList"] == []


# -- SCRAM secrets --------------------------------------------------------------------------------


def test_association_refused_until_active(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    arn = _create(kafka, net)
    secret = _secret()
    result = kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[secret])
    assert [u["ErrorCode"] for u in result["UnprocessedScramSecrets"]] == ["InvalidClusterState"]
    vclock.advance(PROFILE.cluster_create)
    result = kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[secret])
    assert result["UnprocessedScramSecrets"] == []
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == [secret]
    kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[secret])  # twice: no-op
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == [secret]
    result = kafka.batch_disassociate_scram_secret(ClusterArn=arn, SecretArnList=[secret])
    assert result["UnprocessedScramSecrets"] == []
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == []


@pytest.mark.parametrize(
    ("name", "key", "words"),
    [
        ("demo-secret", "cmk", "prefix 'AmazonMSK_'"),
        ("AmazonMSK_default", None, "default AWS managed key"),
        ("AmazonMSK_alias", "alias/aws/secretsmanager", "default AWS managed key"),
    ],
)
def test_association_refused_for_bad_secrets(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, name: str, key: str | None, words: str
) -> None:
    arn = _create(kafka, net)
    vclock.advance(PROFILE.cluster_create)
    secret = _secret(name=name, key=key)
    result = kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[secret])
    [refused] = result["UnprocessedScramSecrets"]
    assert refused["ErrorCode"] == "InvalidSecretArn" and refused["SecretArn"] == secret
    assert words in refused["ErrorMessage"]
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == []


def test_association_refused_for_a_disabled_key(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    arn = _create(kafka, net)
    vclock.advance(PROFILE.cluster_create)
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    secret = _secret(key=key["Arn"])
    result = kafka.batch_associate_scram_secret(ClusterArn=arn, SecretArnList=[secret])
    assert result["UnprocessedScramSecrets"][0]["ErrorCode"] == "InvalidSecretArn"


# -- bootstrap brokers ----------------------------------------------------------------------------


def test_bootstrap_brokers_only_when_active_in_msk_format(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock
) -> None:
    arn = _create(kafka, net, brokers=6)
    with pytest.raises(ClientError) as exc:
        kafka.get_bootstrap_brokers(ClusterArn=arn)
    assert _code(exc) == "BadRequestException"
    vclock.advance(PROFILE.cluster_create)
    result = kafka.get_bootstrap_brokers(ClusterArn=arn)
    hosts = result["BootstrapBrokerStringSaslScram"].split(",")
    assert len(hosts) == 6
    pattern = r"b-(\d)\.demo-primary\.[a-z0-9]{6}\.c2\.kafka\.us-east-1\.amazonaws\.com:9096"
    assert [int(re.fullmatch(pattern, h).group(1)) for h in hosts] == [1, 2, 3, 4, 5, 6]
    # SCRAM only (no TLS client auth, no unauthenticated access): MSK gives no other string.
    assert "BootstrapBrokerStringTls" not in result and "BootstrapBrokerString" not in result


def test_bootstrap_tls_string_when_unauthenticated_tls(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    arn = _create(kafka, net, ClientAuthentication={"Unauthenticated": {"Enabled": True}})
    vclock.advance(PROFILE.cluster_create)
    result = kafka.get_bootstrap_brokers(ClusterArn=arn)
    assert result["BootstrapBrokerStringTls"].endswith(":9094")
    assert "BootstrapBrokerStringSaslScram" not in result


# -- broker network interfaces --------------------------------------------------------------------


def test_broker_enis_block_subnet_deletion_until_linger_passes(
    kafka: Any, ec2: Any, net: dict[str, Any], vclock: VirtualClock
) -> None:
    arn = _create(kafka, net)
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["NetworkInterfaces"]
    assert len(enis) == 3
    assert sorted(e["SubnetId"] for e in enis) == sorted(net["subnets"])
    assert all(e["Groups"][0]["GroupId"] == net["sg"] for e in enis)
    assert all(arn in e["Description"] and e["Description"].startswith("Amazon MSK") for e in enis)

    vclock.advance(PROFILE.cluster_create)
    kafka.delete_cluster(ClusterArn=arn)
    vclock.advance(PROFILE.cluster_delete)  # gone now, interfaces linger
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=net["subnets"][0])
    assert _code(exc) == "DependencyViolation"
    vclock.advance(PROFILE.cluster_eni_linger - 1)
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=net["subnets"][0])
    assert _code(exc) == "DependencyViolation"
    vclock.advance(1)
    for subnet in net["subnets"]:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=net["vpc"])


# -- in-place updates (rules 12-17) -----------------------------------------------------------------

UPDATE = PROFILE.cluster_update  # the LatencyProfile default: 25 emulated minutes


def _active(kafka: Any, net: dict[str, Any], vclock: VirtualClock, **create: Any) -> tuple[str, str]:
    """A new ACTIVE cluster and its CurrentVersion."""
    arn = _create(kafka, net, **create)
    vclock.advance(PROFILE.cluster_create)
    return arn, _version(kafka, arn)


def _version(kafka: Any, arn: str) -> str:
    return kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["CurrentVersion"]


def _provisioned(kafka: Any, arn: str) -> dict[str, Any]:
    return kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["Provisioned"]


def _refused(call: Callable[..., Any], **params: Any) -> str:
    """The BadRequestException message of a refused call."""
    with pytest.raises(ClientError) as exc:
        call(**params)
    assert _code(exc) == "BadRequestException", exc.value.response["Error"]
    return exc.value.response["Error"]["Message"]


def _operation(kafka: Any, op_arn: str) -> dict[str, Any]:
    return kafka.describe_cluster_operation(ClusterOperationArn=op_arn)["ClusterOperationInfo"]


def _storage(kafka: Any, arn: str, size: int, node: str = "All") -> Any:
    return kafka.update_broker_storage(
        ClusterArn=arn,
        CurrentVersion=_version(kafka, arn),
        TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": node, "VolumeSizeGB": size}],
    )


def test_cluster_versions_look_like_msks(kafka: Any, net: dict[str, Any]) -> None:
    # "Cluster versions aren't simple integers ... An example version is KTVPDKIKX0DER" (manually-expand-storage.html)
    versions = {_version(kafka, _create(kafka, net, name=f"c{i}")) for i in range(3)}
    assert len(versions) == 3 and all(re.fullmatch(r"K[0-9A-Z]{13}", v) for v in versions)


@pytest.mark.parametrize("state", ["CREATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER", "DELETING"])
def test_updates_are_refused_unless_the_cluster_is_active(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, state: str
) -> None:
    """msk-cluster-states.html: no update operation until the cluster is ACTIVE again."""
    arn = _create(kafka, net)
    if state != "CREATING":
        vclock.advance(PROFILE.cluster_create)
        if state == "DELETING":
            kafka.delete_cluster(ClusterArn=arn)
        else:
            msk.hold_cluster(arn, state, 600)
    version = _version(kafka, arn)
    for call, params in (
        (kafka.update_broker_count, {"TargetNumberOfBrokerNodes": 6}),
        (kafka.update_broker_type, {"TargetInstanceType": "kafka.m5.xlarge"}),
        (kafka.update_cluster_kafka_version, {"TargetKafkaVersion": "3.9.x"}),
        (
            kafka.update_broker_storage,
            {"TargetBrokerEBSVolumeInfo": [{"KafkaBrokerNodeId": "All", "VolumeSizeGB": 200}]},
        ),
    ):
        message = _refused(call, ClusterArn=arn, CurrentVersion=version, **params)
        assert (
            message
            == f"You can't update a cluster in {state} state. Wait for the cluster to be ACTIVE, then try again."
        )
    assert _provisioned(kafka, arn)["NumberOfBrokerNodes"] == 3


def test_updates_are_refused_with_a_stale_current_version(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock
) -> None:
    arn, version = _active(kafka, net, vclock)
    message = _refused(
        kafka.update_broker_count, ClusterArn=arn, CurrentVersion="K0000000000000", TargetNumberOfBrokerNodes=6
    )
    assert message == "The version of the cluster isn\u2019t current. Check the current version and try again."
    kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6)
    vclock.advance(UPDATE)
    assert _version(kafka, arn) != version  # a successful operation generates a new version...
    message = _refused(kafka.update_broker_count, ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=9)
    assert "isn\u2019t current" in message  # ...and the old one is stale (terraform-provider-aws#25061)


def test_update_broker_count_is_updating_then_active_with_new_brokers_and_version(
    kafka: Any, ec2: Any, net: dict[str, Any], vclock: VirtualClock
) -> None:
    arn, version = _active(kafka, net, vclock)
    out = kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6)
    op = out["ClusterOperationArn"]
    assert out["ClusterArn"] == arn
    assert re.fullmatch(
        r"arn:aws:kafka:us-east-1:123456789012:cluster-operation/demo-primary/[0-9a-f-]+-2/[0-9a-f-]{36}", op
    )
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "UPDATING" and info["ActiveOperationArn"] == op
    assert info["Provisioned"]["NumberOfBrokerNodes"] == 3 and info["CurrentVersion"] == version  # not yet
    assert [c["State"] for c in kafka.list_clusters_v2()["ClusterInfoList"]] == ["UPDATING"]
    assert _operation(kafka, op)["OperationState"] == "UPDATE_IN_PROGRESS"
    # New brokers' interfaces exist while the cluster is UPDATING, in the client subnets (rule 7).
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["NetworkInterfaces"]
    assert len(enis) == 6 and sorted(e["SubnetId"] for e in enis) == sorted(net["subnets"] * 2)
    # While UPDATING: no other update, no delete, no bootstrap brokers.
    assert "UPDATING state" in _refused(
        kafka.update_broker_count, ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=9
    )
    assert _refused(kafka.delete_cluster, ClusterArn=arn) == "You can't delete cluster in UPDATING state."
    with pytest.raises(ClientError):
        kafka.get_bootstrap_brokers(ClusterArn=arn)

    vclock.advance(UPDATE - 1)
    assert _state(kafka, arn) == "UPDATING"
    vclock.advance(1)
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "ACTIVE" and "ActiveOperationArn" not in info and "StateInfo" not in info
    assert info["Provisioned"]["NumberOfBrokerNodes"] == 6
    assert info["CurrentVersion"] != version and re.fullmatch(r"K[0-9A-Z]{13}", info["CurrentVersion"])
    assert len(kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerStringSaslScram"].split(",")) == 6
    done = _operation(kafka, op)
    assert done["OperationState"] == "UPDATE_COMPLETE" and done["OperationType"] == "INCREASE_BROKER_COUNT"
    assert done["SourceClusterInfo"] == {"NumberOfBrokerNodes": 3}
    assert done["TargetClusterInfo"] == {"NumberOfBrokerNodes": 6}
    assert "ErrorInfo" not in done and done["EndTime"] > done["CreationTime"]


def test_new_brokers_interfaces_hold_the_subnets_until_teardown_is_done(
    kafka: Any, ec2: Any, net: dict[str, Any], vclock: VirtualClock
) -> None:
    arn, version = _active(kafka, net, vclock)
    kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6)
    vclock.advance(UPDATE)
    kafka.delete_cluster(ClusterArn=arn)
    vclock.advance(PROFILE.cluster_delete + PROFILE.cluster_eni_linger - 1)
    assert (
        len(ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["NetworkInterfaces"])
        == 6
    )
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=net["subnets"][0])
    assert _code(exc) == "DependencyViolation"
    vclock.advance(1)
    for subnet in net["subnets"]:
        ec2.delete_subnet(SubnetId=subnet)


@pytest.mark.parametrize(
    ("brokers", "target", "words"),
    [
        (6, 3, "must be greater than the current number of broker nodes in the cluster (6)"),  # a decrease
        (3, 3, "must be greater than the current number of broker nodes in the cluster (3)"),  # no change
        (3, 4, "must be a multiple of the number of Availability Zones (3)"),
        (3, 33, "exceeds the quota of 30 brokers per cluster for zookeeper-based clusters"),
    ],
)
def test_update_broker_count_refusals(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, brokers: int, target: int, words: str
) -> None:
    """msk-update-broker-count.html: "greater than the current number of brokers ... a multiple of the number
    of Availability Zones"; limits.html: 30 brokers per ZooKeeper-based cluster, 60 per KRaft-based one."""
    arn, version = _active(kafka, net, vclock, brokers=brokers)
    message = _refused(
        kafka.update_broker_count, ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=target
    )
    assert words in message
    assert _state(kafka, arn) == "ACTIVE" and _version(kafka, arn) == version


def test_a_kraft_cluster_may_have_more_brokers(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    arn, version = _active(kafka, net, vclock, KafkaVersion="3.9.x.kraft")
    kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=33)
    vclock.advance(UPDATE)
    assert _provisioned(kafka, arn)["NumberOfBrokerNodes"] == 33


def test_update_broker_storage_then_six_hours_cool_down(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    arn, _version_before = _active(kafka, net, vclock)
    op = _storage(kafka, arn, 200)["ClusterOperationArn"]
    assert _provisioned(kafka, arn)["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 100
    vclock.advance(UPDATE)
    assert _provisioned(kafka, arn)["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 200
    done = _operation(kafka, op)
    assert done["OperationType"] == "UPDATE_BROKER_STORAGE" and done["OperationState"] == "UPDATE_COMPLETE"
    assert done["TargetClusterInfo"] == {"BrokerEBSVolumeInfo": [{"KafkaBrokerNodeId": "All", "VolumeSizeGB": 200}]}
    # "Storage scaling has a cool-down period of at least six hours between events" (manually-expand-storage.html),
    # counted from the end of the last scaling.
    vclock.advance(msk.STORAGE_COOLDOWN_SECONDS - 1)
    assert "cool-down period" in _refused(_storage, kafka=kafka, arn=arn, size=300)
    kafka.update_broker_count(ClusterArn=arn, CurrentVersion=_version(kafka, arn), TargetNumberOfBrokerNodes=6)
    vclock.advance(UPDATE)  # other updates are not held back by it
    _storage(kafka, arn, 300)
    vclock.advance(UPDATE)
    assert _provisioned(kafka, arn)["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 300


@pytest.mark.parametrize(
    ("created", "target", "node", "words"),
    [
        (100, 100, "All", "The request does not include any updates to the EBS volumes of the cluster."),
        (200, 100, "All", "To update storage, you must increase it by at least 10 GiB."),  # a decrease
        (200, 205, "All", "To update storage, you must increase it by at least 10 GiB."),
        (50, 100, "All", "must be greater than 100 GiB and can't exceed 16384 GiB"),
        (16000, 16385, "All", "must be greater than 100 GiB and can't exceed 16384 GiB"),
        (100, 200, "1", "KafkaBrokerNodeId set to the keyword ALL"),
    ],
)
def test_update_broker_storage_refusals(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, created: int, target: int, node: str, words: str
) -> None:
    storage = {"StorageInfo": {"EbsStorageInfo": {"VolumeSize": created}}}
    arn = _create(kafka, net, BrokerNodeGroupInfo={**_group(net), **storage})
    vclock.advance(PROFILE.cluster_create)
    assert words in _refused(_storage, kafka=kafka, arn=arn, size=target, node=node)
    assert _state(kafka, arn) == "ACTIVE"


def _group(net: dict[str, Any]) -> dict[str, Any]:
    return {"ClientSubnets": net["subnets"], "InstanceType": "kafka.m5.large", "SecurityGroups": [net["sg"]]}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("kafka.m5.large", "kafka.m7g.large"),
        ("kafka.t3.small", "kafka.m5.large"),
        ("kafka.m7g.large", "kafka.m5.xlarge"),
    ],
)
def test_update_broker_type_moves_msk_allows(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, current: str, target: str
) -> None:
    arn = _create(kafka, net, BrokerNodeGroupInfo={**_group(net), "InstanceType": current})
    vclock.advance(PROFILE.cluster_create)
    op = kafka.update_broker_type(ClusterArn=arn, CurrentVersion=_version(kafka, arn), TargetInstanceType=target)
    assert _provisioned(kafka, arn)["BrokerNodeGroupInfo"]["InstanceType"] == current
    vclock.advance(UPDATE)
    assert _provisioned(kafka, arn)["BrokerNodeGroupInfo"]["InstanceType"] == target
    assert _operation(kafka, op["ClusterOperationArn"])["OperationType"] == "UPDATE_BROKER_TYPE"


@pytest.mark.parametrize(
    ("current", "target", "words"),
    [
        (
            "kafka.m5.large",
            "express.m7g.large",
            "Unsupported InstanceType specified. Valid values: [kafka.m5.12xlarge, ",
        ),
        ("kafka.m5.large", "kafka.m6.large", "Unsupported InstanceType specified."),
        ("kafka.m5.large", "kafka.m5.large", "already of type kafka.m5.large"),
        ("kafka.m5.xlarge", "kafka.m5.large", "You can't migrate from a larger broker size to a smaller broker size"),
        ("kafka.m7g.xlarge", "kafka.m5.large", "You can't migrate from a larger broker size to a smaller broker size"),
        ("kafka.m5.large", "kafka.t3.small", "You can't migrate from a larger broker size to a smaller broker size"),
    ],
)
def test_update_broker_type_refusals(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, current: str, target: str, words: str
) -> None:
    """msk-update-broker-type.html: "from M5 or T3 to M7g, T3 to M5, or from M7g to M5"; "You can't migrate
    from a larger broker size to a smaller broker size"; Standard broker types only."""
    arn = _create(kafka, net, BrokerNodeGroupInfo={**_group(net), "InstanceType": current})
    vclock.advance(PROFILE.cluster_create)
    message = _refused(
        kafka.update_broker_type, ClusterArn=arn, CurrentVersion=_version(kafka, arn), TargetInstanceType=target
    )
    assert words in message
    assert _provisioned(kafka, arn)["BrokerNodeGroupInfo"]["InstanceType"] == current


def _compatible(kafka: Any, **params: Any) -> list[dict[str, Any]]:
    return kafka.get_compatible_kafka_versions(**params)["CompatibleKafkaVersions"]


def test_compatible_versions_are_newer_active_ones_in_the_same_metadata_mode(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock
) -> None:
    """version-upgrades.html: no downgrade; a ZooKeeper cluster is not upgraded to a KRaft version in place."""
    expected = {
        "3.8.x": ["3.9.x"],
        "3.8.x.kraft": ["3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft"],
        "4.1.x.kraft": [],
    }
    for i, (version, targets) in enumerate(expected.items()):
        arn = _create(kafka, net, name=f"v{i}", KafkaVersion=version)
        assert _compatible(kafka, ClusterArn=arn) == [{"SourceVersion": version, "TargetVersions": targets}]
    matrix = {c["SourceVersion"]: c["TargetVersions"] for c in _compatible(kafka)}
    assert set(matrix) == set(msk.KAFKA_VERSIONS)
    assert matrix["3.7.x.kraft"] == ["3.8.x.kraft", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft"]
    assert matrix["2.8.1"] == ["3.8.x", "3.9.x"]  # only versions MSK lists ACTIVE
    msk.set_kafka_version_status(REGION, "3.9.x", "DEPRECATED")  # the region's list decides
    assert {c["SourceVersion"]: c["TargetVersions"] for c in _compatible(kafka)}["3.8.x"] == []
    with pytest.raises(ClientError) as exc:
        _compatible(kafka, ClusterArn=arn.replace("v2", "nope"))
    assert _code(exc) == "NotFoundException"


@pytest.mark.parametrize(
    ("version", "target"),
    [
        ("3.8.x", "3.9.x.kraft"),
        ("3.8.x.kraft", "3.9.x"),
        ("3.9.x.kraft", "3.8.x.kraft"),
        ("3.8.x", "3.8.x"),
        ("3.8.x", "3.7.x"),
    ],
)
def test_update_kafka_version_refuses_what_is_not_compatible(
    kafka: Any, net: dict[str, Any], vclock: VirtualClock, version: str, target: str
) -> None:
    arn, current = _active(kafka, net, vclock, KafkaVersion=version)
    message = _refused(
        kafka.update_cluster_kafka_version, ClusterArn=arn, CurrentVersion=current, TargetKafkaVersion=target
    )
    compatible = _compatible(kafka, ClusterArn=arn)[0]["TargetVersions"]
    assert message == (
        f"The cluster can't be updated from Apache Kafka version {version} to {target}. "
        f"Compatible target versions: [{', '.join(compatible)}]"
    )


def test_update_kafka_version_reports_the_new_version(kafka: Any, net: dict[str, Any], vclock: VirtualClock) -> None:
    kraft, kraft_version = _active(kafka, net, vclock, name="kraft", KafkaVersion="3.9.x.kraft")
    zk, zk_version = _active(kafka, net, vclock, name="zk", KafkaVersion="3.8.x")
    op = kafka.update_cluster_kafka_version(
        ClusterArn=kraft, CurrentVersion=kraft_version, TargetKafkaVersion="4.1.x.kraft"
    )
    kafka.update_cluster_kafka_version(ClusterArn=zk, CurrentVersion=zk_version, TargetKafkaVersion="3.9.x")
    assert _provisioned(kafka, kraft)["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "3.9.x.kraft"
    vclock.advance(UPDATE)
    info = kafka.describe_cluster_v2(ClusterArn=kraft)["ClusterInfo"]
    assert info["Provisioned"]["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "4.1.x.kraft"
    assert "zookeeper" not in json.dumps(info, default=str).lower()
    assert _provisioned(kafka, zk)["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == "3.9.x"
    assert ":2181" in _provisioned(kafka, zk)["ZookeeperConnectString"]
    assert _compatible(kafka, ClusterArn=kraft)[0]["TargetVersions"] == []
    done = _operation(kafka, op["ClusterOperationArn"])
    assert done["SourceClusterInfo"] == {"KafkaVersion": "3.9.x.kraft"}
    assert done["TargetClusterInfo"] == {"KafkaVersion": "4.1.x.kraft"}


def test_a_failed_update_returns_to_active_with_the_old_settings(
    kafka: Any, ec2: Any, net: dict[str, Any], vclock: VirtualClock
) -> None:
    arn, version = _active(kafka, net, vclock)
    msk.fail_next_update(arn, code="InternalServerError", message="broker replacement failed")
    op = kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6)[
        "ClusterOperationArn"
    ]
    assert _state(kafka, arn) == "UPDATING"
    vclock.advance(UPDATE)
    info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
    assert info["State"] == "ACTIVE" and "StateInfo" not in info
    assert info["Provisioned"]["NumberOfBrokerNodes"] == 3 and info["CurrentVersion"] == version
    failed = _operation(kafka, op)
    assert failed["OperationState"] == "UPDATE_FAILED"
    assert failed["ErrorInfo"] == {"ErrorCode": "InternalServerError", "ErrorString": "broker replacement failed"}
    enis = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [net["vpc"]]}])["NetworkInterfaces"]
    assert len(enis) == 3  # the new brokers' interfaces are gone again
    # One plan, one update: the next one succeeds.
    kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=6)
    vclock.advance(UPDATE)
    assert _provisioned(kafka, arn)["NumberOfBrokerNodes"] == 6


def test_describe_cluster_operation_of_an_unknown_operation(kafka: Any) -> None:
    with pytest.raises(ClientError) as exc:
        kafka.describe_cluster_operation(
            ClusterOperationArn="arn:aws:kafka:us-east-1:123456789012:cluster-operation/x/y-2/z"
        )
    assert _code(exc) == "NotFoundException"


def test_install_is_idempotent_and_uninstall_restores(vclock: VirtualClock) -> None:
    from moto.kafka import urls as kafka_urls
    from moto.kafka.models import FakeKafkaCluster, KafkaBackend
    from moto.kafka.responses import KafkaResponse

    before = KafkaBackend.__dict__["delete_cluster"], FakeKafkaCluster.__dict__.get("state")
    msk.install()
    msk.install()
    assert hasattr(KafkaResponse, "get_bootstrap_brokers")
    assert msk.KAFKA_VERSIONS_ROUTE in kafka_urls.url_paths
    msk.uninstall()
    msk.uninstall()
    assert (KafkaBackend.__dict__["delete_cluster"], FakeKafkaCluster.__dict__.get("state")) == before
    assert not hasattr(KafkaResponse, "get_bootstrap_brokers")
    assert msk.KAFKA_VERSIONS_ROUTE not in kafka_urls.url_paths


def test_uninstall_removes_the_update_operations_and_their_routes(vclock: VirtualClock) -> None:
    from moto.kafka import urls as kafka_urls
    from moto.kafka.responses import KafkaResponse

    msk.install()
    assert all(route in kafka_urls.url_paths for route in msk.UPDATE_ROUTES)
    assert hasattr(KafkaResponse, "update_broker_count") and hasattr(KafkaResponse, "describe_cluster_operation")
    msk.uninstall()
    assert not any(route in kafka_urls.url_paths for route in msk.UPDATE_ROUTES)
    assert not hasattr(KafkaResponse, "update_broker_count")
    assert not hasattr(KafkaResponse, "get_compatible_kafka_versions")
