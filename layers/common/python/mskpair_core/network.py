"""The network of one region: VPC, public subnet with internet gateway, three broker subnets.

Made as the guide's "VPC with a Single Public Subnet" plus broker subnets in
three availability zones, every resource tagged with the deployment and role.
Creation finds each tagged resource before making it, so running it twice makes
no duplicates; deletion finds everything by tags, in dependency order, and is
safe to run again on a network that is half gone or already gone.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple, TypedDict

from mskpair_core.aws import client, delete_if_present, translate_errors
from mskpair_core.errors import Transient
from mskpair_core.tags import DEPLOYMENT_TAG, Role, ec2_filters, in_scope, tag_list, tag_specifications, tags_of

LOG = logging.getLogger(__name__)

SUBNET_TAG = "msk-pair:subnet"
"""Which subnet of the plan a subnet is: ``public``, ``broker-1``, ``broker-2``, ``broker-3``."""

ROUTE_TABLE_TAG = "msk-pair:route-table"

# Eventual consistency: a resource made a moment ago may not be visible to the next call yet.
NOT_YET_VISIBLE = frozenset(
    {
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidInternetGatewayID.NotFound",
        "InvalidRouteTableID.NotFound",
        "InvalidGroup.NotFound",
    }
)
IN_USE = frozenset({"DependencyViolation"})
GONE = frozenset(
    {
        "InvalidVpcID.NotFound",
        "InvalidSubnetID.NotFound",
        "InvalidInternetGatewayID.NotFound",
        "InvalidRouteTableID.NotFound",
        "InvalidGroup.NotFound",
        "InvalidAssociationID.NotFound",
        "Gateway.NotAttached",
    }
)


class SubnetIds(TypedDict):
    public: str
    brokers: list[str]


class RouteTableIds(TypedDict):
    public: str
    main: str


class Network(TypedDict):
    region: str
    role: str
    vpcId: str
    vpcCidr: str
    internetGatewayId: str
    subnets: SubnetIds
    routeTables: RouteTableIds
    defaultSecurityGroupId: str
    availabilityZones: list[str]


class Zone(NamedTuple):
    """One availability zone of a region.

    ``name`` (``us-east-1a``) is what EC2 takes to place a subnet, but names map to different
    physical zones in different accounts; ``zone_id`` (``use1-az1``) is the same physical zone in
    every account (https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html),
    which is how AWS states where a service is not available.
    """

    name: str
    zone_id: str


def availability_zones(region: str) -> list[Zone]:
    """The availability zones (not Local or Wavelength zones) available in ``region``, by name."""
    ec2 = client("ec2", region)
    with translate_errors():
        zones = ec2.describe_availability_zones(
            Filters=[{"Name": "state", "Values": ["available"]}, {"Name": "zone-type", "Values": ["availability-zone"]}]
        )["AvailabilityZones"]
    return sorted(Zone(z["ZoneName"], z["ZoneId"]) for z in zones)


def _tag(resource: dict[str, Any], key: str) -> str | None:
    for tag in resource.get("Tags", []):
        if tag["Key"] == key:
            return tag["Value"]
    return None


def find_vpcs(region: str, deployment: str, role: Role | None = None) -> list[dict[str, Any]]:
    ec2 = client("ec2", region)
    with translate_errors():
        return ec2.describe_vpcs(Filters=ec2_filters(deployment, role))["Vpcs"]


def _ensure_vpc(ec2: Any, deployment: str, role: Role, cidr: str) -> str:
    found = ec2.describe_vpcs(Filters=ec2_filters(deployment, role))["Vpcs"]
    if len(found) > 1:
        raise RuntimeError(f"{len(found)} VPCs are tagged {DEPLOYMENT_TAG}={deployment} ({role}); expected one")
    if found:
        vpc = found[0]
        if vpc["CidrBlock"] != cidr:
            raise RuntimeError(
                f"VPC {vpc['VpcId']} of deployment {deployment} ({role}) has CIDR {vpc['CidrBlock']}, not {cidr}"
            )
        return vpc["VpcId"]
    vpc = ec2.create_vpc(
        CidrBlock=cidr, TagSpecifications=tag_specifications("vpc", deployment, role, f"{deployment}-{role}")
    )["Vpc"]
    LOG.info("created VPC %s (%s)", vpc["VpcId"], cidr)
    return vpc["VpcId"]


def _ensure_internet_gateway(ec2: Any, deployment: str, role: Role, vpc_id: str) -> str:
    found = ec2.describe_internet_gateways(Filters=ec2_filters(deployment, role))["InternetGateways"]
    if found:
        igw = found[0]
    else:
        igw = ec2.create_internet_gateway(
            TagSpecifications=tag_specifications("internet-gateway", deployment, role, f"{deployment}-{role}")
        )["InternetGateway"]
    igw_id = igw["InternetGatewayId"]
    if not any(a.get("VpcId") == vpc_id for a in igw.get("Attachments", [])):
        ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    return igw_id


def _ensure_subnets(
    ec2: Any, deployment: str, role: Role, vpc_id: str, plan: dict[str, Any], azs: list[str]
) -> SubnetIds:
    existing = {
        _tag(s, SUBNET_TAG): s["SubnetId"]
        for s in ec2.describe_subnets(Filters=[*ec2_filters(deployment, role), {"Name": "vpc-id", "Values": [vpc_id]}])[
            "Subnets"
        ]
    }
    wanted = [("public", plan["public"], azs[0])] + [
        (f"broker-{i + 1}", cidr, azs[i]) for i, cidr in enumerate(plan["brokers"])
    ]
    ids: dict[str, str] = {}
    for key, cidr, az in wanted:
        if key in existing:
            ids[key] = existing[key]
            continue
        spec = tag_specifications("subnet", deployment, role, f"{deployment}-{role}-{key}")
        spec[0]["Tags"].append({"Key": SUBNET_TAG, "Value": key})
        subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az, TagSpecifications=spec)
        ids[key] = subnet["Subnet"]["SubnetId"]
    return {"public": ids["public"], "brokers": [ids["broker-1"], ids["broker-2"], ids["broker-3"]]}


def _ensure_public_route_table(
    ec2: Any, deployment: str, role: Role, vpc_id: str, igw_id: str, public_subnet: str
) -> str:
    filters = [
        *ec2_filters(deployment, role),
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": f"tag:{ROUTE_TABLE_TAG}", "Values": ["public"]},  # not the main table, tagged too
    ]
    found = ec2.describe_route_tables(Filters=filters)["RouteTables"]
    if found:
        table = found[0]
    else:
        spec = tag_specifications("route-table", deployment, role, f"{deployment}-{role}-public")
        spec[0]["Tags"].append({"Key": ROUTE_TABLE_TAG, "Value": "public"})
        table = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=spec)["RouteTable"]
    table_id = table["RouteTableId"]
    if not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table.get("Routes", [])):
        ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    if not any(a.get("SubnetId") == public_subnet for a in table.get("Associations", [])):
        ec2.associate_route_table(RouteTableId=table_id, SubnetId=public_subnet)
    return table_id


def _main_route_table(ec2: Any, vpc_id: str) -> dict[str, Any]:
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    if not tables:
        raise Transient(f"the main route table of VPC {vpc_id} is not visible yet")
    return tables[0]


def _default_group(ec2: Any, vpc_id: str) -> dict[str, Any]:
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    if not groups:
        raise Transient(f"the default security group of VPC {vpc_id} is not visible yet")
    return groups[0]


def main_route_table(region: str, vpc_id: str) -> str:
    with translate_errors(transient=NOT_YET_VISIBLE):
        return _main_route_table(client("ec2", region), vpc_id)["RouteTableId"]


def default_security_group(region: str, vpc_id: str) -> str:
    with translate_errors(transient=NOT_YET_VISIBLE):
        return _default_group(client("ec2", region), vpc_id)["GroupId"]


def _claim(ec2: Any, resource: dict[str, Any], resource_id: str, deployment: str, role: Role, name: str) -> None:
    """Tag a resource that came with the VPC (its default security group, its main route table), once.

    Every later route or rule change is allowed only on resources tagged with a deployment (template.yaml:
    the tag conditions), so the VPC's own default group and main table carry the tags too.
    """
    if _tag(resource, DEPLOYMENT_TAG) is None:
        ec2.create_tags(Resources=[resource_id], Tags=tag_list(deployment, role, name))


def create_network(
    *, deployment: str, role: Role, region: str, vpc_cidr: str, subnet_plan: dict[str, Any], azs: list[str]
) -> Network:
    """Make (or find) the tagged network of one region and return the ids later steps need."""
    ec2 = client("ec2", region)
    with translate_errors(transient=NOT_YET_VISIBLE):
        vpc_id = _ensure_vpc(ec2, deployment, role, vpc_cidr)
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        igw_id = _ensure_internet_gateway(ec2, deployment, role, vpc_id)
        subnets = _ensure_subnets(ec2, deployment, role, vpc_id, subnet_plan, azs)
        public_rt = _ensure_public_route_table(ec2, deployment, role, vpc_id, igw_id, subnets["public"])
        main = _main_route_table(ec2, vpc_id)
        _claim(ec2, main, main["RouteTableId"], deployment, role, f"{deployment}-{role}-main")
        group = _default_group(ec2, vpc_id)
        _claim(ec2, group, group["GroupId"], deployment, role, f"{deployment}-{role}-default")
    return {
        "region": region,
        "role": role,
        "vpcId": vpc_id,
        "vpcCidr": vpc_cidr,
        "internetGatewayId": igw_id,
        "subnets": subnets,
        "routeTables": {"public": public_rt, "main": main["RouteTableId"]},
        "defaultSecurityGroupId": group["GroupId"],
        "availabilityZones": list(azs[:3]),
    }


def delete_network(*, deployment: str, role: Role, region: str, made_by: str | None = None) -> dict[str, int]:
    """Delete every tagged network resource of ``deployment``/``role`` in ``region``, in dependency order.

    ``made_by``: only what that execution made (a rollback of a run on a deployment that existed before it).

    Order: security groups other than default (after revoking rules that name them),
    route tables (after disassociating), internet gateways (detach, delete), subnets,
    then the VPC. A ``DependencyViolation`` (network interfaces of a deleted cluster
    or instance that linger) raises ``ResourceInUse``, which the state machine retries
    for a bounded time; everything already deleted stays deleted, so a retry resumes.
    """
    ec2 = client("ec2", region)
    counts = {"securityGroups": 0, "routeTables": 0, "internetGateways": 0, "subnets": 0, "vpcs": 0}
    with translate_errors(in_use=IN_USE):
        vpcs = ec2.describe_vpcs(Filters=ec2_filters(deployment, role))["Vpcs"]
        in_vpcs = [{"Name": "vpc-id", "Values": [v["VpcId"] for v in vpcs]}] if vpcs else None
        vpc_ids = [v["VpcId"] for v in vpcs if in_scope(tags_of(v), made_by)]

        if in_vpcs:
            groups = ec2.describe_security_groups(Filters=in_vpcs)["SecurityGroups"]
            extra = [
                g
                for g in groups
                if g["GroupName"] != "default"
                and tags_of(g).get(DEPLOYMENT_TAG) == deployment
                and in_scope(tags_of(g), made_by)
            ]
            extra_ids = {g["GroupId"] for g in extra}
            for group in groups:  # rules that name a group we delete go first
                naming = [
                    p
                    for p in group.get("IpPermissions", [])
                    if any(pair.get("GroupId") in extra_ids for pair in p.get("UserIdGroupPairs", []))
                ]
                if naming:
                    delete_if_present(
                        GONE, ec2.revoke_security_group_ingress, GroupId=group["GroupId"], IpPermissions=naming
                    )
            for group in extra:
                counts["securityGroups"] += delete_if_present(GONE, ec2.delete_security_group, GroupId=group["GroupId"])

        tables = ec2.describe_route_tables(Filters=ec2_filters(deployment, role, made_by))["RouteTables"]
        # The main route table (tagged at creation) cannot be deleted: it goes with the VPC.
        tables = [t for t in tables if not any(a.get("Main") for a in t.get("Associations", []))]
        for table in tables:
            for assoc in table.get("Associations", []):
                if not assoc.get("Main"):
                    delete_if_present(
                        GONE, ec2.disassociate_route_table, AssociationId=assoc["RouteTableAssociationId"]
                    )
            counts["routeTables"] += delete_if_present(GONE, ec2.delete_route_table, RouteTableId=table["RouteTableId"])

        gateways = ec2.describe_internet_gateways(Filters=ec2_filters(deployment, role, made_by))["InternetGateways"]
        for igw in gateways:
            for attachment in igw.get("Attachments", []):
                delete_if_present(
                    GONE,
                    ec2.detach_internet_gateway,
                    InternetGatewayId=igw["InternetGatewayId"],
                    VpcId=attachment["VpcId"],
                )
            counts["internetGateways"] += delete_if_present(
                GONE, ec2.delete_internet_gateway, InternetGatewayId=igw["InternetGatewayId"]
            )

        for subnet in ec2.describe_subnets(Filters=ec2_filters(deployment, role, made_by))["Subnets"]:
            counts["subnets"] += delete_if_present(GONE, ec2.delete_subnet, SubnetId=subnet["SubnetId"])

        for vpc_id in vpc_ids:
            counts["vpcs"] += delete_if_present(GONE, ec2.delete_vpc, VpcId=vpc_id)
    return counts
