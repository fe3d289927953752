"""What a Kafka user needs from a finished deployment, ready to paste.

Built from a successful execution's output (see the README's "Output"): per
region the SASL/SCRAM bootstrap string, the SSM Session Manager command for a
shell on the client machine, where ``client.properties`` is on it; and
MirrorMaker 2: the service ``msk-pair-mm2`` that replicates primary -> secondary
on the secondary client (``replication.engine`` mm2, the default), what proved it
(the canary, the offset sync), its status command, and its ``mm2.properties``,
the same rendering the service runs (:mod:`mskpair_core.replication`).

No password is ever written: ``mm2.properties`` reads each cluster's SCRAM
credentials through Kafka's ``FileConfigProvider`` from the secrets file that the
service's start command wrote on the machine, from Secrets Manager.
"""

from __future__ import annotations

import shlex
from typing import Any

from msk_pair.layer import ensure_on_path

ensure_on_path()

from mskpair_core import replication as rep  # noqa: E402 - the layer is on sys.path now
from mskpair_core.catalog import DEFAULT_SCRAM_USERNAME, defaults  # noqa: E402
from mskpair_core.client_machine import CLIENT_PROPERTIES, KAFKA_HOME  # noqa: E402

ROLES = ("primary", "secondary")
MM2_PROPERTIES = rep.MM2_PROPERTIES
MM2_SECRETS = rep.MM2_SECRETS
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


def mm2_properties(output: dict[str, Any], replication: dict[str, Any] | None = None) -> str:
    """The ``mm2.properties`` the service runs for this deployment (primary -> secondary), no password in it.

    ``replication`` is the execution input's ``replication`` block (the defaults when absent).
    """
    primary, secondary = (_side(output, role) for role in ROLES)
    return rep.mm2_properties(
        primary_brokers=primary["bootstrapBrokersSaslScram"],
        secondary_brokers=secondary["bootstrapBrokersSaslScram"],
        replication={**defaults()["replication"], **(replication or {})},
        deployment=str(output.get("deploymentName", "?")),
    )


def replication_lines(output: dict[str, Any], where: str) -> list[str]:
    """What ``outputs`` says about MirrorMaker 2: the service and its proof, or how to get it."""
    replication = output.get("replication")
    if not isinstance(replication, dict):
        return [
            "MirrorMaker 2: not running (replication.engine none). Provision again with replication.engine mm2",
            "  (the default) to run it as the service msk-pair-mm2 on the secondary client, proven by a canary.",
            f"  {where} writes the configuration that service would run.",
        ]
    service, check = replication.get("service") or {}, replication.get("check") or {}
    lines = [
        f"MirrorMaker 2, {replication.get('direction', 'primary -> secondary')}: the service {service.get('name')} "
        f"on the secondary client {service.get('instanceId')} ({service.get('region')})",
        f"  canary:             {check.get('seen')} of {check.get('sent')} records replicated, "
        f"p50 {check.get('p50Ms')} ms, p99 {check.get('p99Ms')} ms",
    ]
    sync = replication.get("offsetSync")
    if sync:
        lines.append(
            f"  offset sync:        group {sync['group']} at {sync['primaryOffset']} on the primary, "
            f"{sync['secondaryOffset']} on the secondary"
        )
    topics = replication.get("replicatedTopics") or {}
    named = ", ".join(f"{a} -> {b}" for a, b in list(topics.items())[:10]) + (" ..." if len(topics) > 10 else "")
    lines += [
        f"  replicated topics:  {named or '-'} (new topics arrive as {replication.get('replicatedName')})",
        f"  status (over SSM):  {service.get('statusCommand')}",
        f"  configuration:      {service.get('configPath')} on that client (sudo cat it there); {where} writes it",
        f"  consumer groups:    {replication.get('consumerGroupFailover')}",
        "  Prometheus:         --prometheus FILE writes a scrape configuration for both clusters' exporters "
        "(brokers on 11001 and 11002)",
    ]
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
    what reads ``client.properties`` or the MirrorMaker 2 files runs with ``sudo``. ``username`` is
    the input's scramUsername (shown; the scripts read it from the secret).
    """
    deployment = output.get("deploymentName", "?")
    out = [f"Deployment {deployment}", ""]
    for role in ROLES:
        r = region_outputs(output, role)
        out += [
            f"{role} ({r['region']})",
            f"  bootstrap (SASL/SCRAM, port 9096): {r['bootstrapBrokersSaslScram']}",
            f"  cluster:            {r['clusterArn'] or '-'}",
            f"  SCRAM secret:       {r['scramSecretArn'] or '-'} (user {username or DEFAULT_SCRAM_USERNAME})",
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
    where = f"--mm2 FILE (here: {mm2_file})" if mm2_file else "--mm2 FILE"
    out += replication_lines(output, where)
    return "\n".join(out) + "\n"


def parse_properties(text: str) -> dict[str, str]:
    """Parse ``key = value`` lines (the subset of Java properties that mm2.properties uses)."""
    return rep.parse_properties(text)


def prometheus_config(output: dict[str, Any]) -> str:
    """The Prometheus scrape configuration of both clusters' open-monitoring exporters (11001, 11002)."""
    replication = output.get("replication")
    if isinstance(replication, dict) and replication.get("prometheusScrapeConfig"):
        return str(replication["prometheusScrapeConfig"])
    clusters = {
        role: {
            "region": _side(output, role)["region"],
            "bootstrapBrokers": _side(output, role)["bootstrapBrokersSaslScram"],
        }
        for role in ROLES
    }
    return rep.prometheus_scrape_config(deployment=str(output.get("deploymentName", "?")), clusters=clusters)
