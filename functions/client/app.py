"""The Kafka client machine of one region, managed through SSM only (no SSH).

Event: ``{"config", "role", "network", "cluster", "scram", "clientIam", "client", "command", "bootstrap"}``.
The SCRAM password is never in an event or a command: the scripts fetch it on the machine.
"""

import os

from mskpair_core import client_machine as cm
from mskpair_core.observability import task
from mskpair_core.tags import scope_of


def _region(event):
    return event["config"][event["role"]]["region"]


@task("create-client-role")
def create_iam(event, context):
    config = event["config"]
    return cm.ensure_client_iam(
        deployment=config["deploymentName"],
        boundary_arn=os.environ["CLIENT_ROLE_BOUNDARY_ARN"],
        regions=[config["primary"]["region"], config["secondary"]["region"]],
    )


@task("create-client-security-group")
def create_security_group(event, context):
    group = cm.ensure_client_security_group(
        deployment=event["config"]["deploymentName"], role=event["role"], network=event["network"]
    )
    return {"securityGroupId": group}


@task("launch-client")
def launch(event, context):
    return cm.launch_client(
        deployment=event["config"]["deploymentName"],
        role=event["role"],
        network=event["network"],
        instance_type=event["config"]["clientInstanceType"],
        instance_profile_arn=event["clientIam"]["instanceProfileArn"],
        security_group_id=event["clientSecurityGroup"]["securityGroupId"],
        client_token=f"{event['execution']}-{event['role']}"[-64:],
    )


@task("client-ssm-status")
def ssm_status(event, context):
    status = cm.client_ssm_status(region=_region(event), instance_id=event["client"]["instanceId"])
    return {"pingStatus": status["pingStatus"]}


def _send(event, script, what):
    command_id = cm.send_command(
        region=_region(event),
        instance_id=event["client"]["instanceId"],
        script=script,
        comment=f"msk-pair {what} {event['execution']}"[:100],
    )
    return {"commandId": command_id, "what": what}


@task("bootstrap-client")
def bootstrap(event, context):
    script = cm.bootstrap_script(
        kafka_version=event["config"]["kafkaVersion"],
        region=_region(event),
        secret_arn=event["scram"]["scramSecretArn"],
        cluster_arn=event["cluster"]["clusterArn"],
    )
    return _send(event, script, "bootstrap")


@task("verify-client")
def verify(event, context):
    script = cm.verify_script(
        bootstrap_brokers=event["bootstrapBrokers"], peer_bootstrap_brokers=event["peerBootstrapBrokers"]
    )
    return _send(event, script, "verify")


@task("command-status")
def command_status(event, context):
    command = event["command"]
    status = cm.command_status(
        region=_region(event), command_id=command["commandId"], instance_id=event["client"]["instanceId"]
    )
    cm.raise_if_failed(status, f"{event['role']} client {command['what']}")
    result = {**command, "status": status["status"]}
    if status["status"] == "Success" and command["what"] == "verify":
        result["smokeTestPassed"] = cm.smoke_test_passed(status["output"])
        result["reachable"] = cm.CROSS_REGION_MARKER in (status["output"] or "")
    return result


@task("terminate-client")
def terminate(event, context):
    result = cm.terminate_clients(
        deployment=event["config"]["deploymentName"], role=event["role"], region=_region(event), made_by=scope_of(event)
    )
    return {**result, "done": result["remaining"] == 0}


@task("delete-client-security-group")
def delete_security_group(event, context):
    deleted = cm.delete_client_security_group(
        deployment=event["config"]["deploymentName"], role=event["role"], region=_region(event), made_by=scope_of(event)
    )
    return {"deleted": deleted}


@task("delete-client-role")
def delete_iam(event, context):
    return {"deleted": cm.delete_client_iam(deployment=event["config"]["deploymentName"], made_by=scope_of(event))}
