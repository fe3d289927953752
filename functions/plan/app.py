"""Plan changes: the second state. What the request would change in a deployment that already exists.

Event: ``{"config", "execution"}``. Reads what is deployed (found by tags; Describe/List calls only) and
returns ``{"existed": bool, ...the plan}``; a request that needs any replacement fails here with
``ReplacementRequired`` naming each field, before anything is made or deleted (mskpair_core/plan.py).
"""

from typing import Any

from mskpair_core.observability import LambdaContext, task
from mskpair_core.plan import plan_changes


@task("changes-plan")
def changes_plan(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return plan_changes(event["config"])
