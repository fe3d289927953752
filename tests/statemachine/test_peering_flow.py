"""Issue 5 on the real state machine: peering, routes and rules; the accepter delay; a failed peering."""

from __future__ import annotations

import boto3

from msk_pair.emulator import peering as peering_emulator
from mskpair_core.catalog import JMX_EXPORTER_PORT, KAFKA_SASL_SCRAM_PORT, NODE_EXPORTER_PORT
from tests.conftest import TEARDOWN_REQUEST, leftovers

PORTS = {KAFKA_SASL_SCRAM_PORT, JMX_EXPORTER_PORT, NODE_EXPORTER_PORT}


def test_peering_is_active_and_both_vpcs_route_and_admit_the_peer(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    out = result.output
    pcx_id = out["peering"]["vpcPeeringConnectionId"]
    check = out["peering"]["crossRegionCheck"]
    assert check == {"primaryReachesSecondary": True, "secondaryReachesPrimary": True}
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        ec2 = boto3.client("ec2", region_name=out[role]["region"])
        pcx = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"][0]
        assert pcx["Status"]["Code"] == "active"
        assert {pcx["RequesterVpcInfo"]["VpcId"], pcx["AccepterVpcInfo"]["VpcId"]} == {
            out["primary"]["vpcId"],
            out["secondary"]["vpcId"],
        }
        vpc_filter = [{"Name": "vpc-id", "Values": [out[role]["vpcId"]]}]
        tables = ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]
        assert len(tables) == 2  # main (brokers) and public
        for table in tables:
            routes = [r for r in table["Routes"] if r.get("DestinationCidrBlock") == out[other]["vpcCidr"]]
            assert routes and routes[0]["VpcPeeringConnectionId"] == pcx_id, table["RouteTableId"]
        default = ec2.describe_security_groups(Filters=[*vpc_filter, {"Name": "group-name", "Values": ["default"]}])
        rules = [
            p
            for p in default["SecurityGroups"][0]["IpPermissions"]
            if any(r["CidrIp"] == out[other]["vpcCidr"] for r in p.get("IpRanges", []))
        ]
        assert {(p["IpProtocol"], p["FromPort"], p["ToPort"]) for p in rules} == {("tcp", p, p) for p in PORTS}


def test_accepter_delay_is_survived_by_waiting(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED"
    accept_failures = [
        e
        for e in result.events
        if e["type"] == "LambdaFunctionFailed" and "not visible" in e["lambdaFunctionFailedEventDetails"]["cause"]
    ]
    assert accept_failures, "the emulator's accepter-side delay was not exercised"


def test_failed_peering_tears_down_both_regions(emu, sample):
    peering_emulator.fail_next_peering()
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "ResourceFailed", result.cause
    assert "overlapping CIDR" in result.cause
    assert leftovers() == {}


def test_teardown_deletes_the_peering_before_the_vpcs(emu, sample):
    assert emu.run(sample).status == "SUCCEEDED"
    teardown = TEARDOWN_REQUEST
    result = emu.run(teardown)
    assert result.status == "SUCCEEDED", result.cause
    names = [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]
    assert names.index("Teardown: delete peering") < names.index("Primary: delete network")
    assert leftovers() == {}
