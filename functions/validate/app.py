"""Validate input: the first state. Bad input fails here with ``InvalidInput``, before anything is made.

Event: ``{"input": <the execution input>, "execution": <execution name>}``. Returns
``{"config": ...}``: the validated input with defaults, plus the wait loops' limits
in polls (the ASL counts polls; it has no date arithmetic).
"""

import math

from mskpair_core.config import validate_request
from mskpair_core.network import availability_zones
from mskpair_core.observability import task


@task("validate-input")
def handler(event, context):
    config = validate_request(event["input"], az_lookup=availability_zones)
    timing = config["timing"]
    timing["maxClusterPolls"] = math.ceil(timing["clusterTimeoutMinutes"] * 60 / timing["pollSeconds"])
    timing["maxClientPolls"] = math.ceil(timing["clientTimeoutMinutes"] * 60 / timing["pollSeconds"])
    return {"config": config}
