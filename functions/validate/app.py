"""Validate input: the first state. Bad input fails here with ``InvalidInput``, before anything is made.

Event: ``{"input": <the execution input>, "execution": <name>, "executionArn", "stateMachineArn"}``.
Here (not offline) Validate input also asks Amazon MSK in both regions whether the Kafka
version is ACTIVE (``config.msk_kafka_versions``: ListKafkaVersions).
A second execution for a deployment that one is already working on fails here with
``Conflict`` (see mskpair_core/guard.py), before anything is made. Returns
``{"config": ...}``: the validated input with defaults, plus the wait loops' limits
in polls (the ASL counts polls; it has no date arithmetic).
"""

from typing import Any

from mskpair_core.config import validate_execution
from mskpair_core.observability import LambdaContext, task


@task("input-validate")
def input_validate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = validate_execution(
        event["input"], state_machine_arn=event["stateMachineArn"], execution_arn=event["executionArn"]
    )
    return {"config": config}
