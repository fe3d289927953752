"""Validate input: the first state. Bad input fails here with ``InvalidInput``, before anything is made.

Event: ``{"input": <the execution input>, "execution": <name>, "executionArn", "stateMachineArn"}``.
Here (not offline) Validate input also asks Amazon MSK in both regions whether the Kafka
version is ACTIVE (``config.msk_kafka_versions``: ListKafkaVersions).
A second execution for a deployment that one is already working on fails here with
``Conflict`` (see mskpair_core/guard.py), before anything is made. Returns
``{"config": ...}``: the validated input with defaults, plus the wait loops' limits
in polls (the ASL counts polls; it has no date arithmetic).
"""

import math

from mskpair_core.config import msk_kafka_versions, validate_request
from mskpair_core.guard import refuse_concurrent
from mskpair_core.network import availability_zones
from mskpair_core.observability import task


@task("validate-input")
def handler(event, context):
    config = validate_request(event["input"], az_lookup=availability_zones, versions_lookup=msk_kafka_versions)
    refuse_concurrent(
        state_machine_arn=event["stateMachineArn"],
        execution_arn=event["executionArn"],
        deployment=config["deploymentName"],
    )
    timing = config["timing"]
    timing["maxClusterPolls"] = math.ceil(timing["clusterTimeoutMinutes"] * 60 / timing["pollSeconds"])
    timing["maxClientPolls"] = math.ceil(timing["clientTimeoutMinutes"] * 60 / timing["pollSeconds"])
    return {"config": config}
