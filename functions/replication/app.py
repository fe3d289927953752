"""MirrorMaker 2 (primary -> secondary) on the secondary client, and the proof that it replicates.

Events carry ``config``, ``role``, the ``execution`` name and the ``client`` of that role; each send handler
also gets the bootstrap strings (and ``scram``: the secrets' ARNs, never their values). The scripts read
the SCRAM passwords from Secrets Manager on the machine: no password is in an event, a command or a result.
"""

from mskpair_core import client_machine as cm
from mskpair_core import replication as rep
from mskpair_core.observability import task
from mskpair_core.tags import scope_of

BROKERS = "bootstrapBrokersSaslScram"


def _region(event, role=None):
    return event["config"][role or event["role"]]["region"]


def _send(event, script, what):
    command_id = cm.send_command(
        region=_region(event),
        instance_id=event["client"]["instanceId"],
        script=script,
        comment=f"msk-pair {what} {event['execution']}"[:100],
    )
    return {"commandId": command_id, "what": what, "execution": event["execution"]}


@task("start-mirrormaker")
def start(event, context):
    config, brokers, scram = event["config"], event["brokers"], event["scram"]
    script = rep.start_script(
        deployment=config["deploymentName"],
        primary_brokers=brokers["primary"]["bootstrapBrokersSaslScram"],
        secondary_brokers=brokers["secondary"]["bootstrapBrokersSaslScram"],
        primary_secret_arn=scram["primary"]["scramSecretArn"],
        primary_region=_region(event, "primary"),
        secondary_secret_arn=scram["secondary"]["scramSecretArn"],
        secondary_region=_region(event, "secondary"),
        replication=config["replication"],
    )
    return _send(event, script, "mm2-start")


@task("send-canary")
def canary(event, context):
    script = rep.canary_script(bootstrap_brokers=event["bootstrapBrokers"], execution=event["execution"])
    return _send(event, script, "canary")


@task("check-replication")
def check(event, context):
    replication = event["config"]["replication"]
    script = rep.check_script(
        bootstrap_brokers=event["bootstrapBrokers"],
        peer_bootstrap_brokers=event["peerBootstrapBrokers"],
        execution=event["execution"],
        topic_naming=replication["topicNaming"],
        sync_group_offsets=replication["syncGroupOffsets"],
    )
    return _send(event, script, "replication-check")


@task("replication-command-status")
def command_status(event, context):
    command = event["command"]
    status = cm.command_status(
        region=_region(event),
        command_id=command["commandId"],
        instance_id=event["client"]["instanceId"],
        output_chars=rep.OUTPUT_CHARS,
    )
    result = rep.command_result(status, command, role=event["role"], config=event["config"])
    if "check" in result:  # the check succeeded: its report is the output's replication section
        config = event["config"]
        result["report"] = rep.report(
            deployment=config["deploymentName"],
            replication=config["replication"],
            canary=event["canary"],
            check=result["check"],
            instance_id=event["client"]["instanceId"],
            clusters={
                role: {"region": config[role]["region"], "bootstrapBrokers": event["brokers"][role][BROKERS]}
                for role in ("primary", "secondary")
            },
        )
    return result


@task("stop-mirrormaker")
def stop(event, context):
    return rep.stop_service(
        deployment=event["config"]["deploymentName"],
        region=_region(event),
        comment=f"msk-pair mm2-stop {event['execution']}"[:100],
        made_by=scope_of(event),
    )
