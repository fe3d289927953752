"""Create and delete the network of one region (event: ``{"config": ..., "role": "primary"|"secondary"}``)."""

from typing import Any

from mskpair_core import network
from mskpair_core.event import target_of
from mskpair_core.observability import LambdaContext, task
from mskpair_core.tags import scope_of


@task("network-create")
def network_create(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    side = event["config"][event["role"]]
    return network.create_network(
        **target_of(event), vpc_cidr=side["vpcCidr"], subnet_plan=side["subnets"], azs=side["availabilityZones"]
    )


@task("network-delete")
def network_delete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return network.delete_network(**target_of(event), made_by=scope_of(event))
