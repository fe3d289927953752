"""Validate input: the first state. Bad input fails here with ``InvalidInput``, before anything is made.

Event: ``{"input": <the execution input>, "execution": <name>, "executionArn", "stateMachineArn"}``.
Here (not offline) Validate input also asks Amazon MSK in both regions whether the Kafka
version is ACTIVE (``config.msk_kafka_versions``: ListKafkaVersions).
A second execution for a deployment that one is already working on fails here with
``Conflict`` (see mskpair_core/guard.py), before anything is made. Returns
``{"config": ...}``: the validated input with defaults, plus the wait loops' limits
in polls (the ASL counts polls; it has no date arithmetic).
"""

from mskpair_core.config import msk_kafka_versions, validate_request
from mskpair_core.guard import refuse_concurrent
from mskpair_core.network import availability_zones
from mskpair_core.observability import task
from mskpair_core.timing import loop_limits


@task("validate-input")
def handler(event, context):
    config = validate_request(event["input"], az_lookup=availability_zones, versions_lookup=msk_kafka_versions)
    refuse_concurrent(
        state_machine_arn=event["stateMachineArn"],
        execution_arn=event["executionArn"],
        deployment=config["deploymentName"],
    )
    config["timing"].update(loop_limits(config["timing"]))  # the same limits the history budget was checked with
    return {"config": config}
