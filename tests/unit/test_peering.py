"""The peering library on moto, with the emulator's peering and strict EC2 rules installed."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from msk_pair.emulator import clock, strict_ec2
from msk_pair.emulator import peering as emulated_peering
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile
from mskpair_core import catalog, network, peering
from mskpair_core.errors import ResourceFailed, Transient
from mskpair_core.subnets import plan_subnets
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG

PRIMARY, SECONDARY = "us-east-1", "us-west-2"
DEPLOYMENT = "orders-dr"
PORTS = [catalog.KAFKA_SASL_SCRAM_PORT, catalog.JMX_EXPORTER_PORT, catalog.NODE_EXPORTER_PORT]
PROFILE = LatencyProfile(peering_visible=30.0, peering_activate=10.0)
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=[strict_ec2, emulated_peering])


@pytest.fixture(autouse=True)
def emulated(fake_credentials: None, moto_world: VirtualClock) -> None:
    pass


def make(region: str, cidr: str, role: str = "primary", deployment: str = DEPLOYMENT) -> dict[str, Any]:
    azs = [z.name for z in network.availability_zones(region)][:3]
    return network.create_network(
        deployment=deployment, role=role, region=region, vpc_cidr=cidr, subnet_plan=plan_subnets(cidr), azs=azs
    )


@pytest.fixture
def nets() -> tuple[dict[str, Any], dict[str, Any]]:
    return make(PRIMARY, "10.0.0.0/16", "primary"), make(SECONDARY, "172.31.0.0/16", "secondary")


def advance(seconds: float) -> None:
    clock.current().advance(seconds)


def ec2(region: str) -> Any:
    return boto3.client("ec2", region_name=region)


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def peer_and_activate(primary: dict[str, Any], secondary: dict[str, Any]) -> str:
    pcx_id = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)[
        "vpcPeeringConnectionId"
    ]
    advance(PROFILE.peering_visible)
    peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id)
    advance(PROFILE.peering_activate)
    assert peering.peering_status(region=SECONDARY, peering_id=pcx_id)["status"] == "active"
    return pcx_id


def route_both(pcx_id: str, primary: dict[str, Any], secondary: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        peering.route_and_allow(peering_id=pcx_id, local=primary, peer=secondary, ports=PORTS, deployment=DEPLOYMENT),
        peering.route_and_allow(peering_id=pcx_id, local=secondary, peer=primary, ports=PORTS, deployment=DEPLOYMENT),
    ]


def peer_cidr_rules(region: str, group_id: str, cidr: str) -> list[tuple[str, int, int, str]]:
    group = ec2(region).describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return sorted(
        (p["IpProtocol"], p.get("FromPort", -1), p.get("ToPort", -1), r.get("Description", ""))
        for p in group["IpPermissions"]
        for r in p.get("IpRanges", [])
        if r["CidrIp"] == cidr
    )


def peer_routes(region: str, vpc_id: str, cidr: str) -> dict[str, dict[str, Any]]:
    tables = ec2(region).describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    out = {}
    for table in tables:
        routes = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == cidr]
        assert len(routes) <= 1
        out[table["RouteTableId"]] = routes[0] if routes else {}
    return out


# -- request, accept, status -------------------------------------------------------------------------


def test_request_waits_for_the_accepter_region_then_accepts_and_becomes_active(nets):
    primary, secondary = nets
    requested = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)
    pcx_id = requested["vpcPeeringConnectionId"]
    assert requested["status"] == "initiating-request"

    pcx = ec2(PRIMARY).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"][0]
    assert pcx["RequesterVpcInfo"]["VpcId"] == primary["vpcId"]
    assert pcx["AccepterVpcInfo"] == {**pcx["AccepterVpcInfo"], "VpcId": secondary["vpcId"], "Region": SECONDARY}
    assert tags_of(pcx)[DEPLOYMENT_TAG] == DEPLOYMENT and tags_of(pcx)[ROLE_TAG] == "primary"

    # Not visible in the accepter region yet: transient, for the state machine to retry.
    with pytest.raises(Transient):
        peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id)
    with pytest.raises(Transient):
        peering.peering_status(region=SECONDARY, peering_id=pcx_id)
    assert peering.peering_status(region=PRIMARY, peering_id=pcx_id)["status"] == "pending-acceptance"

    advance(PROFILE.peering_visible)
    accepted = peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id)
    assert accepted == {"vpcPeeringConnectionId": pcx_id, "status": "provisioning"}
    assert peering.peering_status(region=SECONDARY, peering_id=pcx_id)["status"] == "provisioning"

    advance(PROFILE.peering_activate)
    for region in (PRIMARY, SECONDARY):
        assert peering.peering_status(region=region, peering_id=pcx_id) == {"status": "active", "message": "Active"}

    # Tagged on the accepter side too, with the secondary role.
    seen = ec2(SECONDARY).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"]
    assert tags_of(seen[0])[DEPLOYMENT_TAG] == DEPLOYMENT and tags_of(seen[0])[ROLE_TAG] == "secondary"


def test_request_and_accept_twice_make_one_connection(nets):
    primary, secondary = nets
    first = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)
    again = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)
    assert again["vpcPeeringConnectionId"] == first["vpcPeeringConnectionId"]
    assert again["status"] == "pending-acceptance"
    pcx_id = first["vpcPeeringConnectionId"]

    advance(PROFILE.peering_visible)
    peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id)
    assert peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id)["status"] in (
        "provisioning",
        "active",
    )
    advance(PROFILE.peering_activate)
    assert peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id)["status"] == "active"
    assert peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary) == {
        "vpcPeeringConnectionId": pcx_id,
        "status": "active",
    }
    assert len(ec2(PRIMARY).describe_vpc_peering_connections()["VpcPeeringConnections"]) == 1
    assert len(ec2(SECONDARY).describe_vpc_peering_connections()["VpcPeeringConnections"]) == 1


def test_overlapping_cidrs_fail_with_the_status_message():
    primary = make(PRIMARY, "10.0.0.0/16", "primary")
    secondary = make(SECONDARY, "10.0.0.0/16", "secondary")
    pcx_id = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)[
        "vpcPeeringConnectionId"
    ]
    with pytest.raises(ResourceFailed, match=r"failed: .*overlapping CIDR range"):
        peering.peering_status(region=PRIMARY, peering_id=pcx_id)
    advance(PROFILE.peering_visible)
    # A failed request never reaches the accepter region: told by the requester side when it is named.
    with pytest.raises(Transient):
        peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id)
    with pytest.raises(ResourceFailed, match="overlapping CIDR range"):
        peering.accept_peering(deployment=DEPLOYMENT, secondary=secondary, peering_id=pcx_id, requester_region=PRIMARY)


def test_a_failed_peering_is_not_reused_and_teardown_counts_it_as_done(nets):
    primary, secondary = nets
    emulated_peering.fail_next_peering("Failed for a test")
    failed = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)
    with pytest.raises(ResourceFailed, match="Failed for a test"):
        peering.peering_status(region=PRIMARY, peering_id=failed["vpcPeeringConnectionId"])
    retried = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)
    assert retried["vpcPeeringConnectionId"] != failed["vpcPeeringConnectionId"]
    result = peering.delete_peering(deployment=DEPLOYMENT, primary_region=PRIMARY, secondary_region=SECONDARY)
    assert result["remaining"] == 0
    assert result["deleted"] == [retried["vpcPeeringConnectionId"]]


# -- routes and rules -------------------------------------------------------------------------------


def test_routes_in_every_route_table_of_both_vpcs_and_rules_on_the_given_ports_only(nets):
    primary, secondary = nets
    pcx_id = peer_and_activate(primary, secondary)
    done = route_both(pcx_id, primary, secondary)
    assert sorted(done[0]["rules"]["added"]) == sorted(PORTS)

    for local, peer in ((primary, secondary), (secondary, primary)):
        routes = peer_routes(local["region"], local["vpcId"], peer["vpcCidr"])
        assert set(routes) == {local["routeTables"]["public"], local["routeTables"]["main"]}
        for route in routes.values():
            assert route["VpcPeeringConnectionId"] == pcx_id and route["State"] == "active"
        rules = peer_cidr_rules(local["region"], local["defaultSecurityGroupId"], peer["vpcCidr"])
        assert [(proto, lo, hi) for proto, lo, hi, _ in rules] == [("tcp", p, p) for p in sorted(PORTS)]
        assert all(pcx_id in d and DEPLOYMENT in d for *_, d in rules)


def test_route_tables_not_in_the_dict_are_routed_too(nets):
    primary, secondary = nets
    pcx_id = peer_and_activate(primary, secondary)
    extra = ec2(PRIMARY).create_route_table(VpcId=primary["vpcId"])["RouteTable"]["RouteTableId"]
    peering.route_and_allow(peering_id=pcx_id, local=primary, peer=secondary, ports=PORTS)
    assert peer_routes(PRIMARY, primary["vpcId"], secondary["vpcCidr"])[extra]["VpcPeeringConnectionId"] == pcx_id


def test_route_and_allow_twice_changes_nothing(nets):
    primary, secondary = nets
    pcx_id = peer_and_activate(primary, secondary)
    route_both(pcx_id, primary, secondary)
    before = [peer_cidr_rules(n["region"], n["defaultSecurityGroupId"], p["vpcCidr"]) for n, p in [nets, nets[::-1]]]
    again = route_both(pcx_id, primary, secondary)
    for done in again:
        assert done["routes"]["created"] == [] and done["routes"]["replaced"] == []
        assert len(done["routes"]["kept"]) == 2
        assert done["rules"]["added"] == [] and done["rules"]["revoked"] == []
        assert sorted(done["rules"]["kept"]) == sorted(PORTS)
    after = [peer_cidr_rules(n["region"], n["defaultSecurityGroupId"], p["vpcCidr"]) for n, p in [nets, nets[::-1]]]
    assert after == before


def test_a_route_to_an_old_peering_is_replaced_and_our_stale_rules_go(nets):
    primary, secondary = nets
    old = peer_and_activate(primary, secondary)
    route_both(old, primary, secondary)
    ec2(PRIMARY).authorize_security_group_ingress(
        GroupId=primary["defaultSecurityGroupId"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 9094,
                "ToPort": 9094,
                "IpRanges": [
                    {"CidrIp": secondary["vpcCidr"], "Description": peering.rule_description(old, DEPLOYMENT)}
                ],
            }
        ],
    )
    ec2(PRIMARY).delete_vpc_peering_connection(VpcPeeringConnectionId=old)
    assert {r["State"] for r in peer_routes(PRIMARY, primary["vpcId"], secondary["vpcCidr"]).values()} == {"blackhole"}

    new = peer_and_activate(primary, secondary)
    assert new != old
    done = peering.route_and_allow(peering_id=new, local=primary, peer=secondary, ports=PORTS)
    assert len(done["routes"]["replaced"]) == 2
    assert done["rules"]["revoked"] == [9094]
    for route in peer_routes(PRIMARY, primary["vpcId"], secondary["vpcCidr"]).values():
        assert route["VpcPeeringConnectionId"] == new and route["State"] == "active"
    rules = peer_cidr_rules(PRIMARY, primary["defaultSecurityGroupId"], secondary["vpcCidr"])
    assert [(proto, lo, hi) for proto, lo, hi, _ in rules] == [("tcp", p, p) for p in sorted(PORTS)]


def test_a_route_before_the_accepter_region_sees_the_peering_is_transient(nets):
    primary, secondary = nets
    pcx_id = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)[
        "vpcPeeringConnectionId"
    ]
    with pytest.raises(Transient, match="NotFound"):
        peering.route_and_allow(peering_id=pcx_id, local=secondary, peer=primary, ports=PORTS)


# -- teardown -----------------------------------------------------------------------------------------


def test_delete_finds_by_tags_blackholes_routes_and_is_safe_twice(nets):
    primary, secondary = nets
    pcx_id = peer_and_activate(primary, secondary)
    route_both(pcx_id, primary, secondary)

    result = peering.delete_peering(deployment=DEPLOYMENT, primary_region=PRIMARY, secondary_region=SECONDARY)
    assert result["remaining"] == 0 and result["deleted"] == [pcx_id]
    for region in (PRIMARY, SECONDARY):
        pcx = ec2(region).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"]
        assert pcx[0]["Status"]["Code"] == "deleted"
    for local, peer in nets, nets[::-1]:
        # The deployment's own VPCs keep their routes (they go with the VPC): now blackholes.
        states = {r["State"] for r in peer_routes(local["region"], local["vpcId"], peer["vpcCidr"]).values()}
        assert states == {"blackhole"}

    again = peering.delete_peering(deployment=DEPLOYMENT, primary_region=PRIMARY, secondary_region=SECONDARY)
    assert again["remaining"] == 0 and again["deleted"] == []


def test_delete_when_nothing_exists_and_when_only_requested():
    assert peering.delete_peering(deployment=DEPLOYMENT, primary_region=PRIMARY, secondary_region=SECONDARY) == {
        "remaining": 0,
        "deleted": [],
        "found": [],
        "done": True,
    }
    primary, secondary = make(PRIMARY, "10.0.0.0/16"), make(SECONDARY, "172.31.0.0/16", "secondary")
    pcx_id = peering.request_peering(deployment=DEPLOYMENT, primary=primary, secondary=secondary)[
        "vpcPeeringConnectionId"
    ]
    # Pending acceptance, not yet visible in the accepter region: found by the requester side's tags.
    result = peering.delete_peering(deployment=DEPLOYMENT, primary_region=PRIMARY, secondary_region=SECONDARY)
    assert result == {**result, "remaining": 0, "deleted": [pcx_id]}


def test_network_teardown_after_peering_teardown_leaves_nothing(nets):
    primary, secondary = nets
    pcx_id = peer_and_activate(primary, secondary)
    route_both(pcx_id, primary, secondary)
    assert (
        peering.delete_peering(deployment=DEPLOYMENT, primary_region=PRIMARY, secondary_region=SECONDARY)["remaining"]
        == 0
    )
    for net in nets:
        network.delete_network(deployment=DEPLOYMENT, role=net["role"], region=net["region"])
        assert network.find_vpcs(net["region"], DEPLOYMENT) == []
