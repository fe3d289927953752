"""The emulator's VPC peering rules on top of moto (see msk_pair.emulator.peering)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnectionBackend

from msk_pair.emulator import clock, peering
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile

A, B = "us-east-1", "us-west-2"
PROFILE = LatencyProfile(peering_visible=30.0, peering_activate=10.0)
NOT_FOUND = "InvalidVpcPeeringConnectionID.NotFound"
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=[peering])


@pytest.fixture(autouse=True)
def emulated(fake_credentials: None, moto_world: VirtualClock) -> VirtualClock:
    return moto_world


def ec2(region: str) -> Any:
    return boto3.client("ec2", region_name=region)


def vpc(region: str, cidr: str) -> str:
    return ec2(region).create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]


def request(cidr_a: str = "10.0.0.0/16", cidr_b: str = "172.31.0.0/16", **kwargs: Any) -> tuple[str, str, str]:
    va, vb = vpc(A, cidr_a), vpc(B, cidr_b)
    pcx = ec2(A).create_vpc_peering_connection(VpcId=va, PeerVpcId=vb, PeerRegion=B, **kwargs)["VpcPeeringConnection"]
    return pcx["VpcPeeringConnectionId"], va, vb


def status(region: str, pcx_id: str) -> dict[str, str]:
    return ec2(region).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"][0][
        "Status"
    ]


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def advance(seconds: float) -> None:
    clock.current().advance(seconds)


def test_the_accepter_region_sees_a_request_only_after_the_delay():
    pcx_id, _, _ = request()
    assert status(A, pcx_id)["Code"] == "pending-acceptance"
    assert ec2(B).describe_vpc_peering_connections()["VpcPeeringConnections"] == []
    with pytest.raises(ClientError) as excinfo:
        ec2(B).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])
    assert error_code(excinfo) == NOT_FOUND
    with pytest.raises(ClientError) as excinfo:
        ec2(B).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    assert error_code(excinfo) == NOT_FOUND
    with pytest.raises(ClientError) as excinfo:
        ec2(B).create_tags(Resources=[pcx_id], Tags=[{"Key": "k", "Value": "v"}])
    assert error_code(excinfo) == NOT_FOUND

    advance(PROFILE.peering_visible - 1)
    assert ec2(B).describe_vpc_peering_connections()["VpcPeeringConnections"] == []
    advance(1)
    assert status(B, pcx_id)["Code"] == "pending-acceptance"


def test_acceptance_provisions_then_activates_lazily():
    pcx_id, _, _ = request()
    advance(PROFILE.peering_visible)
    accepted = ec2(B).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)["VpcPeeringConnection"]
    assert accepted["Status"]["Code"] == "provisioning"
    assert status(A, pcx_id)["Code"] == status(B, pcx_id)["Code"] == "provisioning"
    advance(PROFILE.peering_activate)
    assert status(A, pcx_id) == status(B, pcx_id) == {"Code": "active", "Message": "Active"}
    with pytest.raises(ClientError) as excinfo:
        ec2(B).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    assert error_code(excinfo) == "InvalidStateTransition"


def test_accepting_in_the_requester_region_is_refused():
    pcx_id, _, _ = request()
    advance(PROFILE.peering_visible)
    with pytest.raises(ClientError) as excinfo:
        ec2(A).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    assert error_code(excinfo) == "OperationNotPermitted"


def test_overlapping_cidrs_fail_and_never_reach_the_accepter():
    pcx_id, _, _ = request("10.0.0.0/16", "10.0.128.0/17")
    assert status(A, pcx_id) == {"Code": "failed", "Message": peering.OVERLAP_MESSAGE}
    advance(PROFILE.peering_visible * 10)
    assert ec2(B).describe_vpc_peering_connections()["VpcPeeringConnections"] == []
    with pytest.raises(ClientError) as excinfo:
        ec2(A).delete_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    assert error_code(excinfo) == "InvalidStateTransition"


def test_fail_next_peering_fails_only_the_next_request():
    peering.fail_next_peering(message="boom")
    first, _, _ = request()
    second, _, _ = request("10.1.0.0/16", "172.30.0.0/16")
    assert status(A, first) == {"Code": "failed", "Message": "boom"}
    assert status(A, second)["Code"] == "pending-acceptance"


def test_an_unaccepted_request_expires_after_seven_days():
    pcx_id, _, _ = request()
    advance(peering.EXPIRY_SECONDS)
    assert status(A, pcx_id)["Code"] == "expired"
    with pytest.raises(ClientError) as excinfo:
        ec2(B).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    assert error_code(excinfo) == "InvalidStateTransition"


def test_routes_through_a_deleted_peering_are_blackholes_and_delete_twice_is_refused():
    pcx_id, va, _ = request()
    advance(PROFILE.peering_visible)
    ec2(B).accept_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    advance(PROFILE.peering_activate)
    table = ec2(A).create_route_table(VpcId=va)["RouteTable"]["RouteTableId"]
    ec2(A).create_route(RouteTableId=table, DestinationCidrBlock="172.31.0.0/16", VpcPeeringConnectionId=pcx_id)

    def route_state() -> str:
        routes = ec2(A).describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
        return next(r["State"] for r in routes if r.get("VpcPeeringConnectionId") == pcx_id)

    assert route_state() == "active"
    ec2(B).delete_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)  # either side may delete an active one
    assert status(A, pcx_id)["Code"] == "deleted"
    assert route_state() == "blackhole"
    with pytest.raises(ClientError) as excinfo:
        ec2(A).delete_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
    assert error_code(excinfo) == "InvalidStateTransition"


def test_filters_and_per_region_tags():
    tag_spec = [{"ResourceType": "vpc-peering-connection", "Tags": [{"Key": "side", "Value": "requester"}]}]
    pcx_id, va, vb = request(TagSpecifications=tag_spec)
    other, _, _ = request("10.9.0.0/16", "172.20.0.0/16")
    advance(PROFILE.peering_visible)
    ec2(B).create_tags(Resources=[pcx_id], Tags=[{"Key": "side", "Value": "accepter"}])

    def ids(region: str, *filters: tuple[str, list[str]]) -> list[str]:
        found = ec2(region).describe_vpc_peering_connections(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return sorted(p["VpcPeeringConnectionId"] for p in found["VpcPeeringConnections"])

    assert ids(A, ("requester-vpc-info.vpc-id", [va]), ("accepter-vpc-info.vpc-id", [vb])) == [pcx_id]
    assert ids(A, ("status-code", ["pending-acceptance"])) == sorted([pcx_id, other])
    assert ids(A, ("status-code", ["active"])) == []
    assert ids(A, ("tag:side", ["requester"])) == [pcx_id]
    assert ids(A, ("tag:side", ["accepter"])) == []
    assert ids(B, ("tag:side", ["accepter"])) == [pcx_id]
    assert ids(B, ("tag-key", ["side"])) == [pcx_id]
    seen_in_b = ec2(B).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"][0]
    assert seen_in_b["Tags"] == [{"Key": "side", "Value": "accepter"}]


def test_uninstall_restores_moto():
    peering.install()  # idempotent
    peering.uninstall()
    assert VPCPeeringConnectionBackend.__dict__["describe_vpc_peering_connections"] is not peering._describe
    assert not peering.installed()
    pcx_id, _, _ = request("10.0.0.0/16", "10.0.0.0/16")
    assert status(B, pcx_id)["Code"] == "pending-acceptance"  # moto: overlapping, and visible at once
    peering.install()
