"""The MSK emulator extension: MSK's rules on top of moto's Kafka backend (see msk_pair.emulator.msk)."""

from __future__ import annotations

import json
import re
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
