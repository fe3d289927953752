"""What a handler reads from its state's input: the ASL's ``Parameters`` (``config``, ``role``, ``client``...).

Handlers unpack their event with these and pass keyword arguments to one library function, so that the same
fields are read the same way everywhere. (The teardown scope is :func:`mskpair_core.tags.scope_of`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def region_of(event: Mapping[str, Any], role: str | None = None) -> str:
    """The region of ``role`` (default: the state's own ``"role"``), from the validated config."""
    return event["config"][role or event["role"]]["region"]


def target_of(event: Mapping[str, Any]) -> dict[str, str]:
    """What a per-region state works on, as keyword arguments: ``deployment``, ``role``, ``region``."""
    return {"deployment": event["config"]["deploymentName"], "role": event["role"], "region": region_of(event)}


def client_of(event: Mapping[str, Any]) -> dict[str, str]:
    """The client machine a state's command goes to, as keyword arguments: ``region``, ``instance_id``."""
    return {"region": region_of(event), "instance_id": event["client"]["instanceId"]}
