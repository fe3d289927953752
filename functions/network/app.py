"""Create and delete the network of one region (event: ``{"config": ..., "role": "primary"|"secondary"}``)."""

from mskpair_core import network
from mskpair_core.observability import task
from mskpair_core.tags import scope_of


@task("create-network")
def create_network(event, context):
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


@task("delete-network")
def delete_network(event, context):
    role = event["role"]
    return network.delete_network(
        deployment=event["config"]["deploymentName"],
        role=role,
        region=event["config"][role]["region"],
        made_by=scope_of(event),
    )
