"""The MSK cluster of one region (event: ``{"config", "role", "network", "cluster", "scram"}``)."""

from mskpair_core import cluster
from mskpair_core.errors import ResourceFailed
from mskpair_core.observability import task
from mskpair_core.tags import scope_of


def _region(event):
    return event["config"][event["role"]]["region"]


@task("create-cluster")
def create(event, context):
    return cluster.ensure_cluster(
        deployment=event["config"]["deploymentName"],
        role=event["role"],
        region=_region(event),
        network=event["network"],
        config=event["config"],
    )


@task("cluster-status")
def status(event, context):
    """Both clusters' states in one check (one wait loop for the pair): ACTIVE when both are."""
    states = {}
    for role, made in event["clusters"].items():
        state = cluster.cluster_state(region=event["config"][role]["region"], cluster_arn=made["clusterArn"])
        if state["state"] == "FAILED":
            info = state.get("stateInfo") or {}
            raise ResourceFailed(
                f"{role} cluster {made['clusterName']} ended FAILED: "
                f"{info.get('Code', 'unknown')}: {info.get('Message', '')}"
            )
        states[role] = state["state"]
    both = "ACTIVE" if all(s == "ACTIVE" for s in states.values()) else "CREATING"
    return {"state": both, **states}


@task("associate-secret")
def associate(event, context):
    cluster.associate_secret(
        region=_region(event), cluster_arn=event["cluster"]["clusterArn"], secret_arn=event["scram"]["scramSecretArn"]
    )
    return {"associated": True}


@task("bootstrap-brokers")
def bootstrap(event, context):
    brokers = cluster.bootstrap_brokers(region=_region(event), cluster_arn=event["cluster"]["clusterArn"])
    return {"bootstrapBrokersSaslScram": brokers}


@task("delete-cluster")
def delete(event, context):
    return cluster.delete_cluster(
        deployment=event["config"]["deploymentName"], role=event["role"], region=_region(event), made_by=scope_of(event)
    )


@task("update-cluster")
def update(event, context):
    """One step of the in-place update loop: start the next MSK update the request needs, or report done."""
    return cluster.update_cluster(
        deployment=event["config"]["deploymentName"],
        role=event["role"],
        region=_region(event),
        config=event["config"],
        previous=event.get("previous"),
    )
