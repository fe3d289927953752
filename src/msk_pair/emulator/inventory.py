"""What a deployment has left in an account: every tagged resource, in both regions.

AWS service: none modelled: a test's view of what a deployment left in EC2, Amazon MSK, Secrets
  Manager, KMS and IAM, read through their Describe and List calls.
Sources: each service's API Reference for what counts as gone (terminated, deleted,
  PendingDeletion).

Tests use it to prove "nothing left behind" (the CLI finds deployments through the tagging API instead:
src/msk_pair/cli/deployments.py). It looks the way teardown does, by the deployment tags, and counts only what is
still alive: a terminated instance, a deleted peering, a KMS key pending deletion
or a cluster that is gone do not count.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError

from mskpair_core.tags import DEPLOYMENT_TAG


def _ec2_filters(deployment: str) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [deployment]}]


def region_inventory(deployment: str, region: str) -> dict[str, list[str]]:
    ec2 = boto3.client("ec2", region_name=region)
    f = _ec2_filters(deployment)
    found: dict[str, list[str]] = {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs(Filters=f)["Vpcs"]],
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=f)["Subnets"]],
        "internetGateways": [
            g["InternetGatewayId"] for g in ec2.describe_internet_gateways(Filters=f)["InternetGateways"]
        ],
        "routeTables": [t["RouteTableId"] for t in ec2.describe_route_tables(Filters=f)["RouteTables"]],
        "securityGroups": [g["GroupId"] for g in ec2.describe_security_groups(Filters=f)["SecurityGroups"]],
        "instances": [
            i["InstanceId"]
            for r in ec2.describe_instances(Filters=f)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ],
        "peeringConnections": [
            p["VpcPeeringConnectionId"]
            for p in ec2.describe_vpc_peering_connections(Filters=f)["VpcPeeringConnections"]
            if p["Status"]["Code"] not in ("deleted", "rejected", "failed", "expired")
        ],
    }
    kafka = boto3.client("kafka", region_name=region)
    found["clusters"] = [
        c["ClusterArn"]
        for c in kafka.list_clusters_v2()["ClusterInfoList"]
        if c.get("Tags", {}).get(DEPLOYMENT_TAG) == deployment
    ]
    sm = boto3.client("secretsmanager", region_name=region)
    found["secrets"] = [
        s["ARN"]
        for s in sm.list_secrets(Filters=[{"Key": "tag-key", "Values": [DEPLOYMENT_TAG]}])["SecretList"]
        if any(t["Key"] == DEPLOYMENT_TAG and t["Value"] == deployment for t in s.get("Tags", []))
    ]
    kms = boto3.client("kms", region_name=region)
    keys = []
    for key in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if meta["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion") or meta.get("KeyManager") == "AWS":
            continue
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if any(t["TagKey"] == DEPLOYMENT_TAG and t["TagValue"] == deployment for t in tags):
            keys.append(meta["Arn"])
    found["kmsKeys"] = keys
    return {k: v for k, v in found.items() if v}


def iam_inventory(deployment: str) -> dict[str, list[str]]:
    iam = boto3.client("iam", region_name="us-east-1")
    roles = []
    for role in iam.list_roles()["Roles"]:
        try:
            tags = iam.list_role_tags(RoleName=role["RoleName"])["Tags"]
        except ClientError:
            continue
        if any(t["Key"] == DEPLOYMENT_TAG and t["Value"] == deployment for t in tags):
            roles.append(role["RoleName"])
    profiles = []
    for profile in iam.list_instance_profiles()["InstanceProfiles"]:
        tags = {t["Key"]: t["Value"] for t in profile.get("Tags", [])}
        if tags.get(DEPLOYMENT_TAG) == deployment or profile["InstanceProfileName"].startswith(
            f"msk-pair-{deployment}-"
        ):
            profiles.append(profile["InstanceProfileName"])
    found = {"roles": roles, "instanceProfiles": profiles}
    return {k: v for k, v in found.items() if v}


def inventory(deployment: str, regions: list[str]) -> dict[str, dict[str, list[str]]]:
    """Everything tagged with ``deployment``, by region (and ``iam``); empty dict when nothing is left."""
    result = {region: region_inventory(deployment, region) for region in regions}
    result["iam"] = iam_inventory(deployment)
    return {k: v for k, v in result.items() if v}
