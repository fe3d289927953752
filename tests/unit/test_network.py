"""The network library on moto, with the emulator's strict EC2 rules installed."""

from __future__ import annotations

import boto3
import pytest

from msk_pair.emulator import strict_ec2
from msk_pair.emulator.inventory import region_inventory
from mskpair_core import network
from mskpair_core.errors import ResourceInUse
from mskpair_core.subnets import plan_subnets
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG

REGION = "us-east-1"
pytestmark = pytest.mark.moto_world(profile=None, extensions=[strict_ec2])


@pytest.fixture(autouse=True)
def moto_strict(fake_credentials: None, moto_world: object) -> None:
    pass


def make(deployment="net-test", role="primary", cidr="10.0.0.0/16"):
    azs = [z.name for z in network.availability_zones(REGION)][:3]
    return network.create_network(
        deployment=deployment, role=role, region=REGION, vpc_cidr=cidr, subnet_plan=plan_subnets(cidr), azs=azs
    )


def test_network_has_the_planned_shape_and_tags():
    net = make()
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.describe_vpcs(VpcIds=[net["vpcId"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    tags = {t["Key"]: t["Value"] for t in vpc["Tags"]}
    assert tags[DEPLOYMENT_TAG] == "net-test" and tags[ROLE_TAG] == "primary"

    subnets = ec2.describe_subnets(SubnetIds=[net["subnets"]["public"], *net["subnets"]["brokers"]])["Subnets"]
    by_id = {s["SubnetId"]: s for s in subnets}
    brokers = [by_id[i] for i in net["subnets"]["brokers"]]
    assert len({s["AvailabilityZone"] for s in brokers}) == 3
    assert [s["CidrBlock"] for s in brokers] == ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]
    assert by_id[net["subnets"]["public"]]["CidrBlock"] == "10.0.0.0/24"
    for s in subnets:
        assert {t["Key"]: t["Value"] for t in s["Tags"]}[DEPLOYMENT_TAG] == "net-test"

    public_rt = ec2.describe_route_tables(RouteTableIds=[net["routeTables"]["public"]])["RouteTables"][0]
    default_route = [r for r in public_rt["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    assert default_route and default_route[0]["GatewayId"] == net["internetGatewayId"]
    assert any(a.get("SubnetId") == net["subnets"]["public"] for a in public_rt["Associations"])
    igw = ec2.describe_internet_gateways(InternetGatewayIds=[net["internetGatewayId"]])["InternetGateways"][0]
    assert igw["Attachments"][0]["VpcId"] == net["vpcId"]
    sg = ec2.describe_security_groups(GroupIds=[net["defaultSecurityGroupId"]])["SecurityGroups"][0]
    assert sg["GroupName"] == "default" and sg["VpcId"] == net["vpcId"]


def test_running_twice_makes_no_duplicates():
    first = make()
    second = make()
    assert first == second
    inv = region_inventory("net-test", REGION)
    assert len(inv["vpcs"]) == 1 and len(inv["subnets"]) == 4
    # the public route table, and the VPC's main route table and default group, claimed with the tags
    assert len(inv["internetGateways"]) == 1 and len(inv["routeTables"]) == 2
    assert len(inv["securityGroups"]) == 1


def test_the_vpcs_default_group_and_main_table_carry_the_tags():
    """Every later route or rule change is allowed only on tagged resources (template.yaml conditions)."""
    made = make()
    ec2 = boto3.client("ec2", REGION)
    for described in (
        ec2.describe_route_tables(RouteTableIds=[made["routeTables"]["main"]])["RouteTables"][0],
        ec2.describe_security_groups(GroupIds=[made["defaultSecurityGroupId"]])["SecurityGroups"][0],
    ):
        tags = {t["Key"]: t["Value"] for t in described["Tags"]}
        assert tags[DEPLOYMENT_TAG] == "net-test" and tags[ROLE_TAG] == "primary"


def test_existing_vpc_with_another_cidr_is_refused():
    make(cidr="10.0.0.0/16")
    with pytest.raises(RuntimeError, match=r"has CIDR 10\.0\.0\.0/16"):
        make(cidr="10.1.0.0/16")


def test_delete_removes_everything_and_is_safe_twice():
    make()
    make(deployment="other", cidr="10.9.0.0/16")
    counts = network.delete_network(deployment="net-test", role="primary", region=REGION)
    assert counts == {"securityGroups": 0, "routeTables": 1, "internetGateways": 1, "subnets": 4, "vpcs": 1}
    assert region_inventory("net-test", REGION) == {}
    assert network.delete_network(deployment="net-test", role="primary", region=REGION)["vpcs"] == 0
    # another deployment is untouched
    assert len(region_inventory("other", REGION)["vpcs"]) == 1


def test_delete_finishes_a_half_deleted_network():
    net = make()
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.detach_internet_gateway(InternetGatewayId=net["internetGatewayId"], VpcId=net["vpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=net["internetGatewayId"])
    ec2.delete_subnet(SubnetId=net["subnets"]["brokers"][2])
    network.delete_network(deployment="net-test", role="primary", region=REGION)
    assert region_inventory("net-test", REGION) == {}


def test_interface_in_a_subnet_blocks_deletion_until_it_is_gone():
    net = make()
    ec2 = boto3.client("ec2", region_name=REGION)
    eni = ec2.create_network_interface(SubnetId=net["subnets"]["brokers"][0])["NetworkInterface"]
    with pytest.raises(ResourceInUse, match="DependencyViolation"):
        network.delete_network(deployment="net-test", role="primary", region=REGION)
    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    network.delete_network(deployment="net-test", role="primary", region=REGION)
    assert region_inventory("net-test", REGION) == {}


def test_availability_zones_are_real_zone_names_with_their_zone_ids():
    zones = network.availability_zones("us-west-2")
    assert len(zones) >= 3 and all(z.name.startswith("us-west-2") for z in zones)
    assert all(z.zone_id.startswith("usw2-az") for z in zones)  # DescribeAvailabilityZones' ZoneId
    assert zones == sorted(zones)
