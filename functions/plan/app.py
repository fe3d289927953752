"""Plan changes: the second state. What the request would change in a deployment that already exists.

Event: ``{"config", "execution"}``. Reads what is deployed (found by tags; Describe/List calls only) and
returns ``{"existed": bool, ...the plan}``; a request that needs any replacement fails here with
``ReplacementRequired`` naming each field, before anything is made or deleted (mskpair_core/plan.py).
"""

from mskpair_core.observability import task
from mskpair_core.plan import make_plan, refuse_replacements


@task("plan-changes")
def handler(event, context):
    plan = make_plan(event["config"])
    refuse_replacements(plan)
    return plan.to_dict()
