"""Cross-region VPC peering (event: ``{"config", "network": {"primary", "secondary"}, "peering", "role"}``)."""

from typing import Any

from mskpair_core import peering
from mskpair_core.catalog import JMX_EXPORTER_PORT, KAFKA_SASL_SCRAM_PORT, NODE_EXPORTER_PORT
from mskpair_core.event import region_of
from mskpair_core.observability import LambdaContext, task
from mskpair_core.tags import scope_of

PORTS = [KAFKA_SASL_SCRAM_PORT, JMX_EXPORTER_PORT, NODE_EXPORTER_PORT]
OTHER = {"primary": "secondary", "secondary": "primary"}


@task("peering-request")
def peering_request(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    net = event["network"]
    return peering.request_peering(
        deployment=event["config"]["deploymentName"], primary=net["primary"], secondary=net["secondary"]
    )


@task("peering-accept")
def peering_accept(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    net = event["network"]
    return peering.accept_peering(
        deployment=event["config"]["deploymentName"],
        secondary=net["secondary"],
        peering_id=event["peering"]["vpcPeeringConnectionId"],
        requester_region=net["primary"]["region"],
    )


@task("peering-status")
def peering_status(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = peering.peering_status(
        region=event["network"]["secondary"]["region"], peering_id=event["peering"]["vpcPeeringConnectionId"]
    )
    return {**event["peering"], **result}


@task("peering-route")
def peering_route(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    role = event["role"]
    net = event["network"]
    return peering.route_and_allow(
        peering_id=event["peering"]["vpcPeeringConnectionId"],
        local=net[role],
        peer=net[OTHER[role]],
        ports=PORTS,
        deployment=event["config"]["deploymentName"],
    )


@task("peering-delete")
def peering_delete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return peering.delete_peering(
        deployment=event["config"]["deploymentName"],
        primary_region=region_of(event, "primary"),
        secondary_region=region_of(event, "secondary"),
        made_by=scope_of(event),
    )
