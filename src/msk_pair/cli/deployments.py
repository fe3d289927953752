"""What a deployment has in the account now, found by its tags (never by what an execution remembered).

Per region, the Resource Groups Tagging API's ``GetResources`` lists everything tagged
``msk-pair:deployment`` (one call for every service: MSK clusters, EC2, KMS keys, secrets); IAM,
which that API does not cover for roles, is asked for the client role ``msk-pair-<deployment>-client``.
The tagging API is eventually consistent and still lists resources on their way out, so what can
linger is checked with its own service before it counts: a cluster being deleted or gone
(``DescribeClusterV2``), a terminated instance, a deleted peering, a key pending deletion, a secret
scheduled for deletion. EC2 resources are confirmed with one Describe call per type, filtered
by the same tag (as teardown finds them).

Sources: GetResources, Resource Groups Tagging API Reference,
https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html
("Returns all the tagged or previously tagged resources"); DescribeClusterV2 (Amazon MSK API
Reference), DescribeInstances, DescribeVpcPeeringConnections (Amazon EC2 API Reference), DescribeKey
(AWS KMS API Reference), DescribeSecret (AWS Secrets Manager API Reference), GetRole (IAM API Reference).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from msk_pair.cli.backends import Clients, aws_errors
from msk_pair.layer import ensure_on_path

ensure_on_path()

from mskpair_core.client_machine import client_role_name  # noqa: E402 - the layer is on sys.path now
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG  # noqa: E402

# Resource types (the tagging API's "service:type") and what a user calls them, in teardown order.
KINDS = {
    "kafka:cluster": "cluster",
    "ec2:instance": "client",
    "ec2:vpc-peering-connection": "peering",
    "ec2:vpc": "VPC",
    "ec2:subnet": "subnet",
    "ec2:route-table": "route table",
    "ec2:internet-gateway": "internet gateway",
    "ec2:security-group": "security group",
    "ec2:volume": "volume",
    "kms:key": "KMS key",
    "secretsmanager:secret": "secret",
}
GONE_PEERING = frozenset({"deleted", "deleting", "rejected", "failed", "expired"})
GONE_KEY = frozenset({"PendingDeletion", "PendingReplicaDeletion"})
NOT_FOUND = frozenset(
    {
        "NotFoundException",  # MSK DescribeClusterV2, KMS DescribeKey
        "ResourceNotFoundException",  # Secrets Manager DescribeSecret
        "NoSuchEntity",  # IAM GetRole
    }
)


@dataclass
class Resource:
    arn: str
    type: str
    role: str
    state: str = ""

    @property
    def kind(self) -> str:
        return KINDS.get(self.type, self.type)

    @property
    def id(self) -> str:
        return self.arn.rsplit("/", 1)[-1] if self.type.startswith("ec2:") or self.type == "kms:key" else self.arn

    @property
    def label(self) -> str:
        if self.type == "kafka:cluster":
            name = self.arn.split(":cluster/", 1)[-1].split("/", 1)[0]
        elif self.type == "secretsmanager:secret":
            name = self.arn.rsplit(":", 1)[-1]
        else:
            name = self.id
        return f"{self.kind} {name}" + (f" ({self.state})" if self.state else "")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "type": self.type, "arn": self.arn, "role": self.role, "state": self.state or None}


@dataclass
class Deployment:
    name: str
    regions: dict[str, list[Resource]] = field(default_factory=dict)
    iam: list[str] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return any(self.regions.values()) or bool(self.iam)

    def roles(self) -> dict[str, str]:
        """``{"primary": region, "secondary": region}`` as the resources' role tags say."""
        found: dict[str, str] = {}
        for region, resources in sorted(self.regions.items()):
            for r in resources:
                if r.role in ("primary", "secondary"):
                    found.setdefault(r.role, region)
        return found

    def clusters(self) -> dict[str, Resource]:
        """The live cluster of each role, by role."""
        return {
            r.role: r for resources in self.regions.values() for r in resources if r.type == "kafka:cluster" and r.role
        }

    @property
    def state(self) -> str:
        if not self.exists:
            return "gone"
        clusters = self.clusters()
        states = {clusters[role].state for role in ("primary", "secondary") if role in clusters}
        if len(clusters) == 2 and states == {"ACTIVE"}:
            return "ACTIVE"
        if states & {"CREATING", "UPDATING", "REBOOTING_BROKER", "HEALING"}:
            return "CREATING" if "CREATING" in states else "UPDATING"
        if "DELETING" in states:
            return "DELETING"
        if "FAILED" in states:
            return "FAILED"
        return "INCOMPLETE" if clusters else "LEFTOVERS"

    def summary(self, region: str) -> str:
        resources = self.regions.get(region, [])
        counted: dict[str, list[Resource]] = {}
        for r in resources:
            counted.setdefault(r.kind, []).append(r)
        parts = []
        for kind in dict.fromkeys(KINDS.values()):
            items = counted.pop(kind, [])
            if len(items) == 1 or (items and kind in ("cluster", "client", "VPC", "KMS key", "secret", "peering")):
                parts += [r.label for r in items]
            elif items:
                parts.append(f"{len(items)} {kind}s")
        parts += [f"{len(items)} of {kind}" for kind, items in counted.items()]
        return ", ".join(parts) or "nothing"

    def to_dict(self) -> dict[str, Any]:
        return {
            "deploymentName": self.name,
            "state": self.state,
            "regions": {region: [r.to_dict() for r in res] for region, res in sorted(self.regions.items()) if res},
            "iam": self.iam,
        }


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _tagged(backend: Clients, region: str, deployment: str | None) -> list[tuple[str, dict[str, str]]]:
    """(ARN, tags) of every resource tagged with the deployment (any deployment if None) in ``region``."""
    tagging = backend.client("resourcegroupstaggingapi", region)
    tag_filter: dict[str, Any] = {"Key": DEPLOYMENT_TAG}
    if deployment:
        tag_filter["Values"] = [deployment]
    found = []
    with aws_errors():
        for page in tagging.get_paginator("get_resources").paginate(TagFilters=[tag_filter]):
            for item in page["ResourceTagMappingList"]:
                found.append((item["ResourceARN"], {t["Key"]: t["Value"] for t in item.get("Tags", [])}))
    return found


def _resource_type(arn: str) -> str:
    """``arn:aws:ec2:us-east-1:1:vpc/vpc-1`` -> ``ec2:vpc`` (the tagging API's resource type names)."""
    parts = arn.split(":", 5)
    return f"{parts[2]}:{re.split('[/:]', parts[5], maxsplit=1)[0]}" if len(parts) == 6 else arn


# EC2 resource types: the Describe call (and the key of its items) that says which still exist.
EC2_DESCRIBE = {
    "ec2:instance": ("describe_instances", "Reservations", "InstanceId"),
    "ec2:vpc-peering-connection": (
        "describe_vpc_peering_connections",
        "VpcPeeringConnections",
        "VpcPeeringConnectionId",
    ),
    "ec2:vpc": ("describe_vpcs", "Vpcs", "VpcId"),
    "ec2:subnet": ("describe_subnets", "Subnets", "SubnetId"),
    "ec2:route-table": ("describe_route_tables", "RouteTables", "RouteTableId"),
    "ec2:internet-gateway": ("describe_internet_gateways", "InternetGateways", "InternetGatewayId"),
    "ec2:security-group": ("describe_security_groups", "SecurityGroups", "GroupId"),
    "ec2:volume": ("describe_volumes", "Volumes", "VolumeId"),
}


def _ec2_live(backend: Clients, region: str, kind: str, deployment: str | None) -> dict[str, str]:
    """The live resources of one EC2 type tagged with the deployment (any, if None): id -> state."""
    operation, key, id_key = EC2_DESCRIBE[kind]
    ec2 = backend.client("ec2", region)
    tag_filter = (
        {"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [deployment]}
        if deployment
        else {"Name": "tag-key", "Values": [DEPLOYMENT_TAG]}
    )
    live: dict[str, str] = {}
    with aws_errors():
        for page in ec2.get_paginator(operation).paginate(Filters=[tag_filter]):
            items = page[key]
            if kind == "ec2:instance":
                items = [i for reservation in items for i in reservation["Instances"]]
            for item in items:
                if kind == "ec2:instance":
                    state = item["State"]["Name"]
                    if state not in ("terminated", "shutting-down"):
                        live[item[id_key]] = state
                elif kind == "ec2:vpc-peering-connection":
                    if item["Status"]["Code"] not in GONE_PEERING:
                        live[item[id_key]] = item["Status"]["Code"]
                elif kind == "ec2:volume":
                    if item["State"] not in ("deleting", "deleted"):
                        live[item[id_key]] = item["State"]
                else:
                    live[item[id_key]] = ""
    return live


def _state(backend: Clients, region: str, r: Resource) -> str | None:
    """A cluster's, key's or secret's state now, or None when it is gone (or going) and must not count."""
    try:
        if r.type == "kafka:cluster":
            info = backend.client("kafka", region).describe_cluster_v2(ClusterArn=r.arn)["ClusterInfo"]
            return None if info["State"] == "DELETING" else info["State"]
        if r.type == "kms:key":
            meta = backend.client("kms", region).describe_key(KeyId=r.arn)["KeyMetadata"]
            return None if meta["KeyState"] in GONE_KEY else ""
        if r.type == "secretsmanager:secret":
            meta = backend.client("secretsmanager", region).describe_secret(SecretId=r.arn)
            return None if meta.get("DeletedDate") else ""
    except ClientError as exc:
        if _code(exc) in NOT_FOUND:
            return None
        with aws_errors():
            raise
    return ""


def _region_scan(backend: Clients, region: str, deployment: str | None) -> dict[str, list[Resource]]:
    """Live resources per deployment in one region."""
    tagged = [(arn, tags, _resource_type(arn)) for arn, tags in _tagged(backend, region, deployment)]
    ec2_live = {
        kind: _ec2_live(backend, region, kind, deployment)
        for kind in sorted({kind for _, _, kind in tagged if kind in EC2_DESCRIBE})
    }
    by_deployment: dict[str, list[Resource]] = {}
    for arn, tags, kind in tagged:
        resource = Resource(arn, kind, tags.get(ROLE_TAG, ""))
        state = ec2_live[kind].get(resource.id) if kind in EC2_DESCRIBE else _state(backend, region, resource)
        if state is None:
            continue
        resource.state = state if kind in ("kafka:cluster", "ec2:instance") else ""
        by_deployment.setdefault(tags[DEPLOYMENT_TAG], []).append(resource)
    order = list(KINDS)
    for resources in by_deployment.values():
        resources.sort(key=lambda r: (order.index(r.type) if r.type in order else len(order), r.arn))
    return by_deployment


def _iam_role(backend: Clients, deployment: str) -> list[str]:
    iam = backend.client("iam", "us-east-1")
    name = client_role_name(deployment)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if _code(exc) in NOT_FOUND:
            return []
        with aws_errors():
            raise
    tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
    return [f"role {name}"] if tags.get(DEPLOYMENT_TAG) == deployment else []


def _iam_deployments(backend: Clients) -> dict[str, list[str]]:
    """Deployments that still have a client role (IAM is global), by the role's name and tag."""
    iam = backend.client("iam", "us-east-1")
    prefix, suffix = client_role_name("\n").split("\n")
    pattern = re.compile(re.escape(prefix) + r"(.+)" + re.escape(suffix))
    found: dict[str, list[str]] = {}
    with aws_errors():
        for page in iam.get_paginator("list_roles").paginate():
            for role in page["Roles"]:
                match = pattern.fullmatch(role["RoleName"])
                if match:
                    roles = _iam_role(backend, match.group(1))
                    if roles:
                        found[match.group(1)] = roles
    return found


def scan_regions(backend: Clients) -> list[str]:
    """Every region this account has enabled where MSK exists (EC2 DescribeRegions: enabled ones only)."""
    import boto3

    msk = set(boto3.session.Session().get_available_regions("kafka"))
    with aws_errors():
        enabled = [r["RegionName"] for r in backend.client("ec2").describe_regions()["Regions"]]
    return sorted(r for r in enabled if r in msk)


def find(backend: Clients, deployment: str | None, regions: list[str]) -> dict[str, Deployment]:
    """The deployments found by tag in ``regions`` (and IAM): one, if ``deployment`` names it, else all."""
    regions = list(dict.fromkeys(regions))
    with ThreadPoolExecutor(max_workers=min(8, max(1, len(regions)))) as pool:
        scans = dict(zip(regions, pool.map(lambda r: _region_scan(backend, r, deployment), regions), strict=True))
    names = {name for found in scans.values() for name in found}
    iam = {deployment: _iam_role(backend, deployment)} if deployment else _iam_deployments(backend)
    names |= {name for name, roles in iam.items() if roles}
    if deployment:
        names.add(deployment)
    result = {}
    for name in sorted(names):
        d = Deployment(name, iam=iam.get(name, []))
        for region, found in scans.items():
            if found.get(name):
                d.regions[region] = found[name]
        result[name] = d
    return result


def one(backend: Clients, deployment: str, regions: list[str]) -> Deployment:
    return find(backend, deployment, regions)[deployment]
