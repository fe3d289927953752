"""Create and delete the network of one region (event: ``{"config": ..., "role": "primary"|"secondary"}``)."""

from typing import Any

from mskpair_core import network
from mskpair_core.config import region_of
from mskpair_core.observability import LambdaContext, task
from mskpair_core.tags import scope_of


@task("network-create")
def network_create(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    role = event["role"]
    region = event["config"][role]
    return network.create_network(
        deployment=event["config"]["deploymentName"],
        role=role,
        region=region["region"],
        vpc_cidr=region["vpcCidr"],
        subnet_plan=region["subnets"],
        azs=region["availabilityZones"],
    )


@task("network-delete")
def network_delete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return network.delete_network(
        deployment=event["config"]["deploymentName"],
        role=event["role"],
        region=region_of(event),
        made_by=scope_of(event),
    )
