"""The Kafka client machine of one region, managed through SSM only (no SSH).

Event: ``{"config", "role", "network", "cluster", "scram", "clientIam", "client", "command", "bootstrap"}``.
The SCRAM password is never in an event or a command: the scripts fetch it on the machine.
"""

import os
from typing import Any

from mskpair_core import client_machine as cm
from mskpair_core.config import region_of
from mskpair_core.observability import LambdaContext, task
from mskpair_core.tags import scope_of


@task("create-client-role")
def create_iam(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    config = event["config"]
    return cm.ensure_client_iam(
        deployment=config["deploymentName"],
        boundary_arn=os.environ["CLIENT_ROLE_BOUNDARY_ARN"],
        regions=[region_of(event, "primary"), region_of(event, "secondary")],
    )


@task("create-client-security-group")
def create_security_group(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    group = cm.ensure_client_security_group(
        deployment=event["config"]["deploymentName"], role=event["role"], network=event["network"]
    )
    return {"securityGroupId": group}


@task("launch-client")
def launch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
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
def ssm_status(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    status = cm.client_ssm_status(region=region_of(event), instance_id=event["client"]["instanceId"])
    return {"pingStatus": status["pingStatus"]}


@task("bootstrap-client")
def bootstrap(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cm.submit_command(
        region=region_of(event),
        instance_id=event["client"]["instanceId"],
        what="bootstrap",
        execution=event["execution"],
        script=cm.bootstrap_script(
            kafka_version=event["config"]["kafkaVersion"],
            region=region_of(event),
            secret_arn=event["scram"]["scramSecretArn"],
            cluster_arn=event["cluster"]["clusterArn"],
        ),
    )


@task("verify-client")
def verify(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cm.submit_command(
        region=region_of(event),
        instance_id=event["client"]["instanceId"],
        what="verify",
        execution=event["execution"],
        script=cm.verify_script(
            bootstrap_brokers=event["bootstrapBrokers"], peer_bootstrap_brokers=event["peerBootstrapBrokers"]
        ),
    )


@task("command-status")
def command_status(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cm.poll_command(
        region=region_of(event), instance_id=event["client"]["instanceId"], command=event["command"], role=event["role"]
    )


@task("terminate-client")
def terminate(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return cm.terminate_clients(
        deployment=event["config"]["deploymentName"],
        role=event["role"],
        region=region_of(event),
        made_by=scope_of(event),
    )


@task("delete-client-security-group")
def delete_security_group(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deleted = cm.delete_client_security_group(
        deployment=event["config"]["deploymentName"],
        role=event["role"],
        region=region_of(event),
        made_by=scope_of(event),
    )
    return {"deleted": deleted}


@task("delete-client-role")
def delete_iam(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"deleted": cm.delete_client_iam(deployment=event["config"]["deploymentName"], made_by=scope_of(event))}
