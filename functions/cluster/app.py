"""The MSK cluster of one region (event: ``{"config", "role", "network", "cluster", "scram"}``)."""

from typing import Any

from mskpair_core import cluster
from mskpair_core.event import region_of, target_of
from mskpair_core.observability import LambdaContext, task
from mskpair_core.tags import scope_of


@task("cluster-create")
def cluster_create(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cluster.ensure_cluster(**target_of(event), network=event["network"], config=event["config"])


@task("cluster-status")
def cluster_status(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Both clusters' states in one check (one wait loop for the pair): ACTIVE when both are."""
    return cluster.pair_state(clusters=event["clusters"], config=event["config"])


@task("cluster-associate")
def cluster_associate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    cluster.associate_secret(
        region=region_of(event), cluster_arn=event["cluster"]["clusterArn"], secret_arn=event["scram"]["scramSecretArn"]
    )
    return {"associated": True}


@task("cluster-bootstrap")
def cluster_bootstrap(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    brokers = cluster.bootstrap_brokers(region=region_of(event), cluster_arn=event["cluster"]["clusterArn"])
    return {"bootstrapBrokersSaslScram": brokers}


@task("cluster-delete")
def cluster_delete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cluster.delete_cluster(**target_of(event), made_by=scope_of(event))


@task("cluster-update")
def cluster_update(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """One step of the in-place update loop: start the next MSK update the request needs, or report done."""
    return cluster.update_cluster(**target_of(event), config=event["config"], previous=event.get("previous"))
