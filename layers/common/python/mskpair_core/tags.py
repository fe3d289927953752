"""The deployment tags every created resource carries, and the filters that find them.

Teardown finds what to delete by these tags, never only by what an execution
remembered, so a crash half-way through a step still leaves nothing behind.
"""

from __future__ import annotations

from typing import Literal

DEPLOYMENT_TAG = "msk-pair:deployment"
ROLE_TAG = "msk-pair:role"

Role = Literal["primary", "secondary", "shared"]


def tag_dict(deployment: str, role: Role, name: str | None = None) -> dict[str, str]:
    tags = {DEPLOYMENT_TAG: deployment, ROLE_TAG: role}
    if name:
        tags["Name"] = name
    return tags


def tag_list(deployment: str, role: Role, name: str | None = None) -> list[dict[str, str]]:
    """Tags in EC2/IAM form: ``[{"Key": ..., "Value": ...}]``."""
    return [{"Key": k, "Value": v} for k, v in tag_dict(deployment, role, name).items()]


def tag_specifications(resource_type: str, deployment: str, role: Role, name: str | None = None) -> list[dict]:
    """EC2 ``TagSpecifications`` so a resource is tagged in the same call that makes it."""
    return [{"ResourceType": resource_type, "Tags": tag_list(deployment, role, name)}]


def ec2_filters(deployment: str, role: Role | None = None) -> list[dict]:
    """EC2 ``Filters`` that select this deployment's resources (of one role, if given)."""
    filters = [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [deployment]}]
    if role:
        filters.append({"Name": f"tag:{ROLE_TAG}", "Values": [role]})
    return filters
