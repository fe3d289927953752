"""Validate input: the first state. Bad input fails here with ``InvalidInput``, before anything is made.

Event: ``{"input": <the execution input>, "execution": <execution name>}``.
"""

from mskpair_core.config import validate_request
from mskpair_core.network import availability_zones
from mskpair_core.observability import task


@task("validate-input")
def handler(event, context):
    return {"config": validate_request(event["input"], az_lookup=availability_zones)}
