"""The deployment tags every created resource carries, and the filters that find them.

Teardown finds what to delete by these tags, never only by what an execution
remembered, so a crash half-way through a step still leaves nothing behind.

Every resource also records the execution that made it (``msk-pair:execution``): a failed
run on a deployment that already existed rolls back only what that run made, never what was
there before it started. The execution is the one whose handler is running
(:func:`made_by`, set by :func:`mskpair_core.observability.task` for every invocation).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

DEPLOYMENT_TAG = "msk-pair:deployment"
ROLE_TAG = "msk-pair:role"
EXECUTION_TAG = "msk-pair:execution"
"""The name of the Step Functions execution that made the resource."""
REGIONS_TAG = "msk-pair:regions"
"""On the deployment's (global) client role: its primary and secondary regions, space-separated."""

Role = Literal["primary", "secondary", "shared"]

_execution: ContextVar[str | None] = ContextVar("msk_pair_execution", default=None)


@contextmanager
def made_by(execution: str | None) -> Iterator[None]:
    """Within: resources made get ``msk-pair:execution = execution`` (none if ``execution`` is None)."""
    token = _execution.set(execution)
    try:
        yield
    finally:
        _execution.reset(token)


def current_execution() -> str | None:
    return _execution.get()


def tag_dict(deployment: str, role: Role, name: str | None = None) -> dict[str, str]:
    tags = {DEPLOYMENT_TAG: deployment, ROLE_TAG: role}
    if name:
        tags["Name"] = name
    execution = _execution.get()
    if execution:
        tags[EXECUTION_TAG] = execution
    return tags


def tag_list(deployment: str, role: Role, name: str | None = None) -> list[dict[str, str]]:
    """Tags in EC2/IAM form: ``[{"Key": ..., "Value": ...}]``."""
    return [{"Key": k, "Value": v} for k, v in tag_dict(deployment, role, name).items()]


def tag_specifications(resource_type: str, deployment: str, role: Role, name: str | None = None) -> list[dict]:
    """EC2 ``TagSpecifications`` so a resource is tagged in the same call that makes it."""
    return [{"ResourceType": resource_type, "Tags": tag_list(deployment, role, name)}]


def ec2_filters(deployment: str, role: Role | None = None, made_by: str | None = None) -> list[dict]:
    """EC2 ``Filters`` that select this deployment's resources (of one role, and made by one execution, if given)."""
    filters = [{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [deployment]}]
    if role:
        filters.append({"Name": f"tag:{ROLE_TAG}", "Values": [role]})
    if made_by:
        filters.append({"Name": f"tag:{EXECUTION_TAG}", "Values": [made_by]})
    return filters


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    """A resource's tags as a dict, from ``[{"Key", "Value"}]``, ``[{"TagKey", "TagValue"}]`` or a map."""
    raw = resource.get("Tags") or resource.get("tags") or []
    if isinstance(raw, dict):
        return dict(raw)
    return {t.get("Key", t.get("TagKey")): t.get("Value", t.get("TagValue", "")) for t in raw}


def in_scope(tags: dict[str, str], made_by: str | None) -> bool:
    """Whether a resource with these tags is in a teardown's scope: all of the deployment (``made_by`` None) or
    only what one execution made."""
    return made_by is None or tags.get(EXECUTION_TAG) == made_by


def scope_of(event: dict[str, Any]) -> str | None:
    """The teardown scope a state passes (``{"scope": {"madeBy": <execution> | None}}``): None means everything."""
    return (event.get("scope") or {}).get("madeBy")
