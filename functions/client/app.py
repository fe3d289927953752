"""The Kafka client machine of one region, managed through SSM only (no SSH).

Event: ``{"config", "role", "network", "cluster", "scram", "clientIam", "client", "command", "bootstrap"}``.
The SCRAM password is never in an event or a command: the scripts fetch it on the machine.
"""

import os
from typing import Any

from mskpair_core import client_machine as cm
from mskpair_core.event import client_of, region_of, target_of
from mskpair_core.observability import LambdaContext, task
from mskpair_core.tags import scope_of


@task("client-iam-create")
def client_iam_create(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cm.ensure_client_iam(
        deployment=event["config"]["deploymentName"],
        boundary_arn=os.environ["CLIENT_ROLE_BOUNDARY_ARN"],
        regions=[region_of(event, "primary"), region_of(event, "secondary")],
    )


@task("client-security-group-create")
def client_security_group_create(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    group = cm.ensure_client_security_group(
        deployment=event["config"]["deploymentName"], role=event["role"], network=event["network"]
    )
    return {"securityGroupId": group}


@task("client-launch")
def client_launch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
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
def client_ssm_status(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    status = cm.client_ssm_status(**client_of(event))
    return {"pingStatus": status["pingStatus"]}


@task("client-bootstrap")
def client_bootstrap(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    script = cm.bootstrap_script(
        kafka_version=event["config"]["kafkaVersion"],
        region=region_of(event),
        secret_arn=event["scram"]["scramSecretArn"],
        cluster_arn=event["cluster"]["clusterArn"],
    )
    return cm.submit_command(**client_of(event), script=script, what="bootstrap", execution=event["execution"])


@task("client-verify")
def client_verify(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    script = cm.verify_script(
        bootstrap_brokers=event["bootstrapBrokers"], peer_bootstrap_brokers=event["peerBootstrapBrokers"]
    )
    return cm.submit_command(**client_of(event), script=script, what="verify", execution=event["execution"])


@task("client-command-status")
def client_command_status(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cm.poll_command(**client_of(event), command=event["command"], role=event["role"])


@task("client-terminate")
def client_terminate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cm.terminate_clients(**target_of(event), made_by=scope_of(event))


@task("client-security-group-delete")
def client_security_group_delete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"deleted": cm.delete_client_security_group(**target_of(event), made_by=scope_of(event))}


@task("client-iam-delete")
def client_iam_delete(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"deleted": cm.delete_client_iam(deployment=event["config"]["deploymentName"], made_by=scope_of(event))}
