"""mskpair_core.cluster on moto with the MSK emulator extension (and strict EC2)."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from msk_pair.emulator import msk, strict_ec2
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile
from mskpair_core import aws, catalog, cluster, network, scram
from mskpair_core.errors import Conflict, ResourceFailed, ResourceInUse, Transient
from mskpair_core.subnets import plan_subnets
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG

REGION = "us-east-1"
DEPLOYMENT = "orders-dr"
PROFILE = LatencyProfile(cluster_create=600.0, cluster_delete=120.0, cluster_eni_linger=60.0)
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=[msk, strict_ec2])


@pytest.fixture
def net(vclock: VirtualClock) -> dict[str, Any]:
    azs = [z.name for z in network.availability_zones(REGION)]
    return dict(
        network.create_network(
            deployment=DEPLOYMENT,
            role="primary",
            region=REGION,
            vpc_cidr="10.0.0.0/16",
            subnet_plan=plan_subnets("10.0.0.0/16"),
            azs=azs,
        )
    )


@pytest.fixture
def config() -> dict[str, Any]:
    return catalog.defaults()


@pytest.fixture
def kafka(vclock: VirtualClock) -> Any:
    return boto3.client("kafka", region_name=REGION)


def _make(net: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    return cluster.ensure_cluster(deployment=DEPLOYMENT, role="primary", region=REGION, network=net, config=config)


def _secret(role: str = "primary") -> str:
    key = scram.ensure_key(deployment=DEPLOYMENT, role=role, region=REGION)
    return scram.ensure_secret(deployment=DEPLOYMENT, role=role, region=REGION, key_arn=key, username="msk-admin")


# -- create ---------------------------------------------------------------------------------------


def test_ensure_cluster_makes_the_guides_custom_cluster(kafka: Any, net: dict[str, Any], config: dict) -> None:
    config["brokersPerAz"] = 2
    ref = _make(net, config)
    assert ref["clusterName"] == "orders-dr-primary"
    assert set(ref) == {"clusterArn", "clusterName"}
    info = kafka.describe_cluster_v2(ClusterArn=ref["clusterArn"])["ClusterInfo"]
    p = info["Provisioned"]
    assert info["Tags"] == {DEPLOYMENT_TAG: DEPLOYMENT, ROLE_TAG: "primary"}
    assert p["BrokerNodeGroupInfo"]["ClientSubnets"] == net["subnets"]["brokers"]
    assert p["BrokerNodeGroupInfo"]["SecurityGroups"] == [net["defaultSecurityGroupId"]]
    assert p["BrokerNodeGroupInfo"]["InstanceType"] == "kafka.m5.large"
    assert p["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 100
    assert p["NumberOfBrokerNodes"] == 6
    assert p["CurrentBrokerSoftwareInfo"]["KafkaVersion"] == catalog.DEFAULT_KAFKA_VERSION
    auth = p["ClientAuthentication"]
    assert auth["Sasl"]["Scram"]["Enabled"] is True and auth["Sasl"]["Iam"]["Enabled"] is False
    assert auth["Unauthenticated"]["Enabled"] is False and auth["Tls"]["Enabled"] is False
    assert p["EncryptionInfo"]["EncryptionInTransit"] == {"ClientBroker": "TLS", "InCluster": True}
    assert p["EnhancedMonitoring"] == "PER_TOPIC_PER_PARTITION"
    prom = p["OpenMonitoring"]["Prometheus"]
    assert prom["JmxExporter"]["EnabledInBroker"] is True and prom["NodeExporter"]["EnabledInBroker"] is True


def test_ensure_cluster_twice_makes_one(kafka: Any, net: dict[str, Any], config: dict) -> None:
    first = _make(net, config)
    assert _make(net, config) == first
    assert len(kafka.list_clusters_v2()["ClusterInfoList"]) == 1


def test_a_cluster_of_the_same_name_but_not_ours_is_a_conflict(kafka: Any, net: dict[str, Any], config: dict) -> None:
    kafka.create_cluster_v2(
        ClusterName="orders-dr-primary",
        Provisioned={
            "BrokerNodeGroupInfo": {"ClientSubnets": net["subnets"]["brokers"], "InstanceType": "kafka.m5.large"},
            "KafkaVersion": "3.8.x",
            "NumberOfBrokerNodes": 3,
        },
    )
    with pytest.raises(Conflict):
        _make(net, config)


def _remaining(n: int) -> dict[str, Any]:
    return {"remaining": n, "waiting": {}, "started": True, "done": n == 0}


def test_a_cluster_still_deleting_is_a_conflict(vclock: VirtualClock, net: dict[str, Any], config: dict) -> None:
    _make(net, config)
    vclock.advance(PROFILE.cluster_create)
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(1)
    with pytest.raises(Conflict):
        _make(net, config)
    vclock.advance(PROFILE.cluster_delete)
    assert _make(net, config)["clusterName"] == "orders-dr-primary"


# -- state ----------------------------------------------------------------------------------------


def test_cluster_state_creating_then_active(vclock: VirtualClock, net: dict[str, Any], config: dict) -> None:
    arn = _make(net, config)["clusterArn"]
    polls = []
    for _ in range(20):
        state = cluster.cluster_state(region=REGION, cluster_arn=arn)
        polls.append(state["state"])
        if state["state"] == "ACTIVE":
            break
        vclock.advance(60)
    assert polls == ["CREATING"] * 10 + ["ACTIVE"]
    assert cluster.cluster_state(region=REGION, cluster_arn=arn) == {"state": "ACTIVE", "stateInfo": {}}


def test_cluster_state_failed_with_state_info(vclock: VirtualClock, net: dict[str, Any], config: dict) -> None:
    msk.fail_next_cluster(REGION, code="InsufficientCapacity", message="not enough kafka.m5.large capacity")
    arn = _make(net, config)["clusterArn"]
    vclock.advance(PROFILE.cluster_create)
    assert cluster.cluster_state(region=REGION, cluster_arn=arn) == {
        "state": "FAILED",
        "stateInfo": {"Code": "InsufficientCapacity", "Message": "not enough kafka.m5.large capacity"},
    }


# -- association and bootstrap brokers ------------------------------------------------------------


def test_associate_secret_only_after_active(vclock: VirtualClock, kafka: Any, net: dict, config: dict) -> None:
    arn = _make(net, config)["clusterArn"]
    secret = _secret()  # made while the cluster is CREATING
    with pytest.raises(Transient, match="InvalidClusterState"):
        cluster.associate_secret(region=REGION, cluster_arn=arn, secret_arn=secret)
    vclock.advance(PROFILE.cluster_create)
    cluster.associate_secret(region=REGION, cluster_arn=arn, secret_arn=secret)
    cluster.associate_secret(region=REGION, cluster_arn=arn, secret_arn=secret)  # idempotent
    assert kafka.list_scram_secrets(ClusterArn=arn)["SecretArnList"] == [secret]


def test_a_secret_on_the_default_key_is_refused_for_good(vclock: VirtualClock, net: dict, config: dict) -> None:
    arn = _make(net, config)["clusterArn"]
    sm = boto3.client("secretsmanager", region_name=REGION)
    secret = sm.create_secret(Name="AmazonMSK_plain", SecretString=json.dumps({"username": "u", "password": "pw0"}))
    vclock.advance(PROFILE.cluster_create)
    with pytest.raises(ResourceFailed) as exc:
        cluster.associate_secret(region=REGION, cluster_arn=arn, secret_arn=secret["ARN"])
    assert "InvalidSecretArn" in str(exc.value) and "default" in str(exc.value)
    assert "pw0" not in str(exc.value)


def test_association_with_a_failed_cluster_is_resource_failed(vclock: VirtualClock, net: dict, config: dict) -> None:
    msk.fail_next_cluster(REGION)
    arn = _make(net, config)["clusterArn"]
    secret = _secret()
    vclock.advance(PROFILE.cluster_create)
    with pytest.raises(ResourceFailed, match="FAILED"):
        cluster.associate_secret(region=REGION, cluster_arn=arn, secret_arn=secret)


def test_bootstrap_brokers(vclock: VirtualClock, net: dict[str, Any], config: dict) -> None:
    arn = _make(net, config)["clusterArn"]
    with pytest.raises(Transient):
        cluster.bootstrap_brokers(region=REGION, cluster_arn=arn)
    vclock.advance(PROFILE.cluster_create)
    brokers = cluster.bootstrap_brokers(region=REGION, cluster_arn=arn).split(",")
    assert len(brokers) == 3
    assert all(re.fullmatch(r"b-\d\.orders-dr-primary\.[a-z0-9]{6}\.c2\.kafka\.us-east-1\.amazonaws\.com:9096", b)
               for b in brokers)  # fmt: skip


# -- teardown -------------------------------------------------------------------------------------


def test_delete_cluster_loops_to_zero_and_is_safe_to_repeat(
    vclock: VirtualClock, kafka: Any, net: dict[str, Any], config: dict
) -> None:
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(0)
    arn = _make(net, config)["clusterArn"]
    secret = _secret()
    vclock.advance(PROFILE.cluster_create)
    cluster.associate_secret(region=REGION, cluster_arn=arn, secret_arn=secret)

    calls: list[str] = []
    client = aws.client("kafka", REGION)
    client.meta.events.register("before-call.kafka.*", lambda model, **_: calls.append(model.name))
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(1)
    assert calls.index("BatchDisassociateScramSecret") < calls.index("DeleteCluster")
    calls.clear()
    vclock.advance(60)
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(1)
    assert "DeleteCluster" not in calls  # DELETING: not deleted again
    vclock.advance(PROFILE.cluster_delete)
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(0)
    assert kafka.list_clusters_v2()["ClusterInfoList"] == []


@pytest.mark.parametrize("state", ["CREATING", "UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER"])
def test_delete_cluster_waits_while_msk_refuses_it(
    vclock: VirtualClock, kafka: Any, net: dict[str, Any], config: dict, state: str
) -> None:
    """MSK: "You can't delete cluster in CREATING state" (and so for the other transitional states)."""
    arn = _make(net, config)["clusterArn"]
    if state != "CREATING":
        vclock.advance(PROFILE.cluster_create)
        msk.hold_cluster(arn, state, 600)
    waiting = cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION)
    assert waiting == {"remaining": 1, "waiting": {"orders-dr-primary": state}, "started": False, "done": False}
    vclock.advance(PROFILE.cluster_create + 600)
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(1)
    assert kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"] == "DELETING"


def test_delete_cluster_deletes_a_failed_cluster(vclock: VirtualClock, kafka: Any, net: dict, config: dict) -> None:
    msk.fail_next_cluster(REGION)
    arn = _make(net, config)["clusterArn"]
    vclock.advance(PROFILE.cluster_create)
    assert kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]["State"] == "FAILED"
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(1)
    vclock.advance(PROFILE.cluster_delete)
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(0)


def test_delete_cluster_only_touches_its_own_role(vclock: VirtualClock, kafka: Any, net: dict, config: dict) -> None:
    _make(net, config)
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="secondary", region=REGION) == _remaining(0)
    assert cluster.delete_cluster(deployment="other", role="primary", region=REGION) == _remaining(0)
    assert kafka.list_clusters_v2()["ClusterInfoList"][0]["State"] == "CREATING"


def test_network_deletion_waits_for_the_broker_interfaces(vclock: VirtualClock, net: dict, config: dict) -> None:
    _make(net, config)
    vclock.advance(PROFILE.cluster_create)
    cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION)
    vclock.advance(PROFILE.cluster_delete)
    assert cluster.delete_cluster(deployment=DEPLOYMENT, role="primary", region=REGION) == _remaining(0)
    with pytest.raises(ResourceInUse):
        network.delete_network(deployment=DEPLOYMENT, role="primary", region=REGION)
    vclock.advance(PROFILE.cluster_eni_linger)
    network.delete_network(deployment=DEPLOYMENT, role="primary", region=REGION)
    assert network.find_vpcs(REGION, DEPLOYMENT) == []
