"""MirrorMaker 2 (primary -> secondary) on the secondary client, and the proof that it replicates.

Events carry ``config``, ``role``, the ``execution`` name and the ``client`` of that role; each send handler
also gets the bootstrap strings (and ``scram``: the secrets' ARNs, never their values). The scripts read
the SCRAM passwords from Secrets Manager on the machine: no password is in an event, a command or a result.
"""

from typing import Any

from mskpair_core import replication as rep
from mskpair_core.event import client_of, region_of
from mskpair_core.observability import LambdaContext, task
from mskpair_core.tags import scope_of


@task("replication-start")
def replication_start(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config, brokers, scram = event["config"], event["brokers"], event["scram"]
    script = rep.start_script(
        deployment=config["deploymentName"],
        primary_brokers=brokers["primary"]["bootstrapBrokersSaslScram"],
        secondary_brokers=brokers["secondary"]["bootstrapBrokersSaslScram"],
        primary_secret_arn=scram["primary"]["scramSecretArn"],
        primary_region=region_of(event, "primary"),
        secondary_secret_arn=scram["secondary"]["scramSecretArn"],
        secondary_region=region_of(event, "secondary"),
        replication=config["replication"],
    )
    return rep.submit_command(**client_of(event), script=script, what="mm2-start", execution=event["execution"])


@task("replication-canary")
def replication_canary(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    script = rep.canary_script(bootstrap_brokers=event["bootstrapBrokers"], execution=event["execution"])
    return rep.submit_command(**client_of(event), script=script, what="canary", execution=event["execution"])


@task("replication-check")
def replication_check(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    replication = event["config"]["replication"]
    script = rep.check_script(
        bootstrap_brokers=event["bootstrapBrokers"],
        peer_bootstrap_brokers=event["peerBootstrapBrokers"],
        execution=event["execution"],
        topic_naming=replication["topicNaming"],
        sync_group_offsets=replication["syncGroupOffsets"],
    )
    return rep.submit_command(**client_of(event), script=script, what="replication-check", execution=event["execution"])


@task("replication-command-status")
def replication_command_status(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return rep.poll_command(
        **client_of(event),
        command=event["command"],
        role=event["role"],
        config=event["config"],
        canary=event.get("canary"),
        brokers=event.get("brokers"),
    )


@task("replication-stop")
def replication_stop(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return rep.stop_service(
        deployment=event["config"]["deploymentName"],
        region=region_of(event),
        execution=event["execution"],
        made_by=scope_of(event),
    )
