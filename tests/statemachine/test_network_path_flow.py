"""The verification step on the real state machine proves the network path (see msk_pair.emulator.network_path).

The happy path reaches every broker. Then each run breaks one piece of the path after the routes and
rules were made (so no provisioning step fails) and just before the primary's verification command is
sent: the verification fails with ``ResourceFailed`` naming the unreachable broker, and the rollback
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from msk_pair.emulator import network_path
from mskpair_core.catalog import KAFKA_SASL_SCRAM_PORT as PORT
from tests.conftest import SAMPLE, leftovers

DEPLOYMENT = SAMPLE["deploymentName"]
REGION = {role: SAMPLE[role]["region"] for role in ("primary", "secondary")}
CIDR = {role: SAMPLE[role]["vpcCidr"] for role in ("primary", "secondary")}
BREAK_AT = "Primary: verify client"


def break_before_state(emu: Any, monkeypatch: pytest.MonkeyPatch, state: str, action: Callable[[], None]) -> None:
    """Run ``action`` once, when ``state`` starts (before its handler), through the emulator's fault hook."""
    faults = emu.faults
    original = faults.before
    done: list[bool] = []

    def before(function: str, payload: Any) -> None:
        if not done and isinstance(payload, dict) and payload.get("state") == state:
            done.append(True)
            action()
        original(function, payload)

    monkeypatch.setattr(faults, "before", before)


def _ec2(role: str) -> Any:
    return boto3.client("ec2", region_name=REGION[role])


def _vpc_id(role: str) -> str:
    tags = [
        {"Name": "tag:msk-pair:deployment", "Values": [DEPLOYMENT]},
        {"Name": "tag:msk-pair:role", "Values": [role]},
    ]
    return _ec2(role).describe_vpcs(Filters=tags)["Vpcs"][0]["VpcId"]


def _route_table(role: str, *, main: bool) -> str:
    tables = _ec2(role).describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [_vpc_id(role)]}])["RouteTables"]
    return next(t["RouteTableId"] for t in tables if any(a.get("Main") for a in t["Associations"]) == main)


def _group(role: str, name: str) -> str:
    filters = [{"Name": "vpc-id", "Values": [_vpc_id(role)]}, {"Name": "group-name", "Values": [name]}]
    return _ec2(role).describe_security_groups(Filters=filters)["SecurityGroups"][0]["GroupId"]


def delete_forward_route() -> None:
    """The primary client's subnet (public table) no longer routes the secondary CIDR over the peering."""
    _ec2("primary").delete_route(
        RouteTableId=_route_table("primary", main=False), DestinationCidrBlock=CIDR["secondary"]
    )


def delete_return_route() -> None:
    """The secondary brokers' subnets (main table) no longer route the primary CIDR back."""
    _ec2("secondary").delete_route(
        RouteTableId=_route_table("secondary", main=True), DestinationCidrBlock=CIDR["primary"]
    )


def revoke_peer_cidr_rule() -> None:
    """The secondary cluster's group no longer admits the primary VPC's CIDR on 9096."""
    rule = {"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "IpRanges": [{"CidrIp": CIDR["primary"]}]}
    _ec2("secondary").revoke_security_group_ingress(GroupId=_group("secondary", "default"), IpPermissions=[rule])


def revoke_client_group_rule() -> None:
    """The primary cluster's group no longer admits the primary client's group on 9096 (smoke test)."""
    client_group = _group("primary", f"{DEPLOYMENT}-primary-client")
    pair = {"GroupId": client_group, "Description": "msk-pair client machine"}  # moto matches descriptions
    _ec2("primary").revoke_security_group_ingress(
        GroupId=_group("primary", "default"),
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "UserIdGroupPairs": [pair]}],
    )


def test_happy_path_reaches_every_broker(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["peering"]["crossRegionCheck"] == {
        "primaryReachesSecondary": True,
        "secondaryReachesPrimary": True,
    }
    assert result.output["primary"]["smokeTestPassed"] is True
    assert result.output["secondary"]["smokeTestPassed"] is True
    checks = network_path.history()
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        mine = {h["broker"] for h in checks if h["instanceId"] == result.output[role]["clientInstanceId"]}
        own = set(result.output[role]["bootstrapBrokersSaslScram"].split(","))
        peer = set(result.output[other]["bootstrapBrokersSaslScram"].split(","))
        assert len(own) == len(peer) == 3 and mine == own | peer, role
    assert checks and all(h["reachable"] for h in checks)


@pytest.mark.parametrize(
    ("breakage", "cluster", "why"),
    [
        (delete_forward_route, "orders-dr-secondary", "no path there"),
        (delete_return_route, "orders-dr-secondary", "no path back"),
        (revoke_peer_cidr_rule, "orders-dr-secondary", f"admit on TCP {PORT} neither"),
        (revoke_client_group_rule, "orders-dr-primary", f"admit on TCP {PORT} neither"),
    ],
    ids=["forward-route", "return-route", "peer-cidr-rule", "client-group-rule"],
)
def test_a_broken_network_path_fails_verification_and_rolls_back(emu, sample, monkeypatch, breakage, cluster, why):
    break_before_state(emu, monkeypatch, BREAK_AT, breakage)
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "ResourceFailed", result.cause
    assert "primary client verify: SSM command Failed" in result.cause
    assert f"cannot reach b-1.{cluster}." in result.cause and f":{PORT}" in result.cause
    assert why in result.cause
    failed = [h for h in network_path.history() if not h["reachable"]]
    assert failed and all(cluster in h["broker"] for h in failed)
    assert leftovers() == {}
