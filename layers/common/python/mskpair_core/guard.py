"""One execution per deployment at a time.

Two executions working on the same deployment would race: both create, or one tears
down what the other builds. The first state asks Step Functions which executions of
this state machine are running; if another one for the same deployment started
earlier (ties broken by ARN, so both executions agree on who goes first), this one
refuses with ``Conflict`` before it touches anything, and does not roll back: what
exists belongs to the other execution.
"""

from __future__ import annotations

import json
from typing import Any

from mskpair_core.aws import client, translate_errors
from mskpair_core.errors import Conflict


def _region(arn: str) -> str:
    return arn.split(":")[3]


def earlier_runs(*, state_machine_arn: str, execution_arn: str, deployment: str) -> list[dict[str, Any]]:
    """Running executions of the state machine, for the same deployment, that go before this one."""
    sfn = client("stepfunctions", _region(state_machine_arn))
    with translate_errors():
        mine = sfn.describe_execution(executionArn=execution_arn)
        running: list[dict[str, Any]] = []
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=state_machine_arn, statusFilter="RUNNING"
        ):
            running.extend(page["executions"])
        earlier = []
        for other in running:
            if other["executionArn"] == execution_arn:
                continue
            if (other["startDate"], other["executionArn"]) > (mine["startDate"], execution_arn):
                continue
            described = sfn.describe_execution(executionArn=other["executionArn"])
            try:
                request = json.loads(described.get("input") or "{}")
            except ValueError:
                continue
            if isinstance(request, dict) and request.get("deploymentName") == deployment:
                earlier.append(other)
    return earlier


def refuse_concurrent(*, state_machine_arn: str, execution_arn: str, deployment: str) -> None:
    """Raise ``Conflict`` if an earlier running execution works on ``deployment``."""
    earlier = earlier_runs(state_machine_arn=state_machine_arn, execution_arn=execution_arn, deployment=deployment)
    if earlier:
        names = ", ".join(e["name"] for e in earlier)
        raise Conflict(
            f"deployment {deployment} is already being worked on by execution {names}; "
            "wait for it to end (or stop it) and start again"
        )
