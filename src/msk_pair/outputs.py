"""What a Kafka user needs from a finished deployment, ready to paste.

Built from a successful execution's output (see the README's "Output"): per
region the SASL/SCRAM bootstrap string, the SSM Session Manager command for a
shell on the client machine, where ``client.properties`` is on it; and a
MirrorMaker 2 ``mm2.properties`` replicating primary -> secondary.

No password is ever written: ``mm2.properties`` reads each cluster's SCRAM
password through Kafka's ``FileConfigProvider`` from a secrets file that the
user fills from Secrets Manager on the machine that runs MirrorMaker 2.
"""

from __future__ import annotations

import shlex
from typing import Any

from msk_pair.layer import ensure_on_path

ensure_on_path()

from mskpair_core.catalog import DEFAULT_SCRAM_USERNAME  # noqa: E402 - the layer is on sys.path now
from mskpair_core.client_machine import CLIENT_PROPERTIES, KAFKA_HOME  # noqa: E402

ROLES = ("primary", "secondary")
MM2_PROPERTIES = f"{KAFKA_HOME}/config/mm2.properties"
MM2_SECRETS = f"{KAFKA_HOME}/config/mm2-secrets.properties"
REPLICATION_FACTOR = 3
# Session Manager shells run as ssm-user, whom SSM Agent adds to /etc/sudoers; client.properties
# (it holds the SCRAM password) is mode 0600 root: read it with sudo. Source: "Turn on or turn off
# ssm-user account administrative permissions", AWS Systems Manager User Guide,
# https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-getting-started-ssm-user-permissions.html
SESSION_USER = "ssm-user"


class OutputError(ValueError):
    """The execution output lacks what a Kafka user needs (not a successful provisioning)."""


def _side(output: dict[str, Any], role: str) -> dict[str, Any]:
    side = output.get(role)
    if not isinstance(side, dict):
        raise OutputError(f"the execution output has no {role!r} section (was it a provisioning that succeeded?)")
    missing = [k for k in ("region", "bootstrapBrokersSaslScram") if not side.get(k)]
    if missing:
        raise OutputError(f"the execution output's {role} section lacks {', '.join(missing)}")
    return side


def ssm_shell_command(instance_id: str, region: str) -> str:
    return f"aws ssm start-session --target {instance_id} --region {region}"


def secret_fetch_command(secret_arn: str, region: str) -> str:
    """Prints the SCRAM password of one cluster (run it where the secrets file is written, never paste it)."""
    return (
        f"aws secretsmanager get-secret-value --secret-id {secret_arn} --region {region} "
        "--query SecretString --output text | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"password\"])'"
    )


def region_outputs(output: dict[str, Any], role: str) -> dict[str, Any]:
    """One region's connection facts."""
    side = _side(output, role)
    instance = side.get("clientInstanceId")
    return {
        "role": role,
        "region": side["region"],
        "clusterArn": side.get("clusterArn"),
        "bootstrapBrokersSaslScram": side["bootstrapBrokersSaslScram"],
        "scramSecretArn": side.get("scramSecretArn"),
        "clientInstanceId": instance,
        "shellCommand": ssm_shell_command(instance, side["region"]) if instance else None,
        "clientProperties": CLIENT_PROPERTIES,
    }


def _jaas(username: str, role: str, secrets_file: str) -> str:
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{username}" password="${{file:{secrets_file}:{role}.password}}";'
    )


def mm2_properties(output: dict[str, Any], username: str | None = None, secrets_file: str | None = None) -> str:
    """A MirrorMaker 2 ``mm2.properties`` replicating every topic from primary to secondary.

    Passwords are references (``${file:<secrets_file>:<role>.password}``), never values.
    """
    username = username or DEFAULT_SCRAM_USERNAME
    secrets_file = secrets_file or MM2_SECRETS
    primary, secondary = (_side(output, role) for role in ROLES)
    deployment = output.get("deploymentName", "?")
    lines = [
        f"# MirrorMaker 2 for msk-pair deployment {deployment}: {primary['region']} (primary) -> "
        f"{secondary['region']} (secondary).",
        f"# Run it with: sudo {KAFKA_HOME}/bin/connect-mirror-maker.sh {MM2_PROPERTIES}",
        f"# No password here: each is read from {secrets_file} (keys primary.password, secondary.password),",
        "# which you fill from the clusters' Secrets Manager secrets (AmazonMSK_<deployment>):",
    ]
    for role, side in zip(ROLES, (primary, secondary), strict=True):
        lines.append(f"#   {role}.password: secret {side.get('scramSecretArn', '?')} in {side['region']}")
    lines += [
        "",
        "clusters = primary, secondary",
        f"primary.bootstrap.servers = {primary['bootstrapBrokersSaslScram']}",
        f"secondary.bootstrap.servers = {secondary['bootstrapBrokersSaslScram']}",
        "",
        "primary->secondary.enabled = true",
        "secondary->primary.enabled = false",
        "topics = .*",
        "sync.topic.acls.enabled = false",
        "",
        f"replication.factor = {REPLICATION_FACTOR}",
        f"checkpoints.topic.replication.factor = {REPLICATION_FACTOR}",
        f"heartbeats.topic.replication.factor = {REPLICATION_FACTOR}",
        f"offset-syncs.topic.replication.factor = {REPLICATION_FACTOR}",
        f"offset.storage.replication.factor = {REPLICATION_FACTOR}",
        f"status.storage.replication.factor = {REPLICATION_FACTOR}",
        f"config.storage.replication.factor = {REPLICATION_FACTOR}",
        "",
        "config.providers = file",
        "config.providers.file.class = org.apache.kafka.common.config.provider.FileConfigProvider",
    ]
    for role in ROLES:
        lines += [
            "",
            f"{role}.security.protocol = SASL_SSL",
            f"{role}.sasl.mechanism = SCRAM-SHA-512",
            f"{role}.sasl.jaas.config = {_jaas(username, role, secrets_file)}",
        ]
    return "\n".join(lines) + "\n"


def mm2_secrets_instructions(output: dict[str, Any], secrets_file: str | None = None) -> list[str]:
    """Shell lines that write the secrets file on the MirrorMaker 2 machine, values straight from Secrets Manager.

    They run in a Session Manager shell (``ssm-user``): the file is root's, mode 0600, written through
    ``sudo``; each password goes from the AWS CLI through a pipe into ``sudo tee``, never onto a command line.
    """
    secrets_file = secrets_file or MM2_SECRETS
    lines = [f"sudo sh -c 'umask 077; : > {secrets_file}'"]
    for role in ROLES:
        side = _side(output, role)
        arn = side.get("scramSecretArn", "<secret ARN>")
        fetch = secret_fetch_command(arn, side["region"])
        lines.append(f'echo "{role}.password=$({fetch})" | sudo tee -a {secrets_file} > /dev/null')
    return lines


def kafka_topics_command(bootstrap: str) -> str:
    """A first command to try on the client: list the topics (sudo: client.properties is root's, mode 0600)."""
    return (
        f"sudo {KAFKA_HOME}/bin/kafka-topics.sh --bootstrap-server {shlex.quote(bootstrap)} "
        f"--command-config {CLIENT_PROPERTIES} --list"
    )


def render_text(output: dict[str, Any], username: str | None = None, mm2_file: str | None = None) -> str:
    """The human-readable summary that ``msk-pair outputs`` prints.

    Every command is meant for a Session Manager shell on the client, which runs as ``ssm-user``:
    what reads ``client.properties`` or the MirrorMaker 2 files runs with ``sudo``.
    """
    deployment = output.get("deploymentName", "?")
    out = [f"Deployment {deployment}", ""]
    for role in ROLES:
        r = region_outputs(output, role)
        out += [
            f"{role} ({r['region']})",
            f"  bootstrap (SASL/SCRAM, port 9096): {r['bootstrapBrokersSaslScram']}",
            f"  cluster:            {r['clusterArn'] or '-'}",
            f"  SCRAM secret:       {r['scramSecretArn'] or '-'}",
            f"  client shell (SSM): {r['shellCommand'] or '-'}",
            f"  on the client:      {r['clientProperties']}  (SASL_SSL / SCRAM-SHA-512; root-only, it holds "
            f"the password: the shell runs as {SESSION_USER}, so use sudo)",
            f"  try:                {kafka_topics_command(r['bootstrapBrokersSaslScram'])}",
            "",
        ]
    peering = output.get("peering") or {}
    if peering.get("vpcPeeringConnectionId"):
        status = f" ({peering['status']})" if peering.get("status") else ""
        out += [f"VPC peering: {peering['vpcPeeringConnectionId']}{status}", ""]
    where = mm2_file or "mm2.properties (msk-pair outputs ... --mm2 FILE writes it)"
    out += [
        f"MirrorMaker 2, primary -> secondary: {where}",
        "  in a shell on the secondary client, put the file in place (paste it, then Ctrl-D):",
        f"    sudo tee {MM2_PROPERTIES} > /dev/null",
        "  write the passwords file there, straight from Secrets Manager:",
        *(f"    {line}" for line in mm2_secrets_instructions(output)),
        f"  and run: sudo {KAFKA_HOME}/bin/connect-mirror-maker.sh {MM2_PROPERTIES}",
    ]
    return "\n".join(out) + "\n"


def parse_properties(text: str) -> dict[str, str]:
    """Parse ``key = value`` lines (the subset of Java properties that mm2.properties uses)."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not a key=value line: {raw!r}")
        found[key.strip()] = value.strip()
    return found
