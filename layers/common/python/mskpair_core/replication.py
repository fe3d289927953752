"""MirrorMaker 2 from the primary cluster to the secondary, run as a systemd service on the secondary client,
and the proof that it replicates: a canary and an offset sync.

The guide this project automates runs Apache Kafka's ``connect-mirror-maker.sh mm2.properties`` by hand, in
the foreground, on a machine in the secondary region ("remote consume, local produce"). Here the same
program of the cluster's Kafka version (already installed by the client's bootstrap) runs as the service
:data:`SERVICE`, configured **on the machine**:

- :func:`mm2_properties`: the configuration, without any password. Both clusters' SCRAM credentials are
  read on the machine from Secrets Manager (the primary's across regions, allowed by the client role's
  instance policy for exactly this deployment's secrets) into :data:`MM2_SECRETS`, readable only by the
  service user, and referenced with Kafka's ``FileConfigProvider`` (``${file:<path>:<key>}``).
- :func:`start_script`: the ``AWS-RunShellScript`` text that writes the files, the unit (restart on failure,
  enabled at boot, heap sized from the machine's memory) and (re)starts the service only if something
  changed or it is not running: a re-run with the same ``replication`` block does nothing.
- :func:`canary_script` (primary client): :data:`CANARY_RECORDS` records carrying the execution name to
  :data:`CANARY_TOPIC`, consumed back by the group :data:`CANARY_GROUP`, which commits its offset.
- :func:`check_script` (secondary client): the same records from the replicated topic, each with the time it
  was appended there (the replicated topic is made ``LogAppendTime``); then the group's translated offset.
- :func:`stop_script`: stop and disable the service (teardown, before the client is terminated).
- :func:`report`: ``replication.check = {sent, seen, p50Ms, p99Ms}``, ``replication.offsetSync``, the
  replicated topic names, the status command, the consumer-group failover note and a Prometheus scrape
  configuration for both clusters' open-monitoring exporters.

Names of MirrorMaker 2's settings: Apache Kafka's ``MirrorMakerConfig``, ``MirrorConnectorConfig``,
``MirrorSourceConfig``, ``MirrorCheckpointConfig``, ``MirrorHeartbeatConfig``, ``DefaultTopicFilter``,
``DefaultGroupFilter`` and the Connect worker's ``DistributedConfig``; ``tests/unit/test_replication.py``
checks the rendered file key by key against them for every Kafka version msk-pair installs. The
``*.blacklist`` names are gone in Kafka 4.0: only ``topics.exclude`` and ``groups.exclude`` are used.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shlex
from typing import Any

from mskpair_core import catalog
from mskpair_core import client_machine as cm
from mskpair_core.client_machine import CLIENT_PROPERTIES, KAFKA_HOME, TRUSTSTORE, redact
from mskpair_core.errors import ResourceFailed
from mskpair_core.tags import in_scope, tags_of

LOG = logging.getLogger(__name__)

SERVICE = "msk-pair-mm2"
SERVICE_USER = "msk-pair-mm2"
MM2_DIR = "/etc/msk-pair/mm2"
MM2_PROPERTIES = f"{MM2_DIR}/mm2.properties"
MM2_SECRETS = f"{MM2_DIR}/secrets.properties"
UNIT_PATH = f"/etc/systemd/system/{SERVICE}.service"
LOG_DIR = f"/var/log/{SERVICE}"

SOURCE = "primary"  # the cluster aliases of mm2.properties
TARGET = "secondary"
POLICIES = {
    "prefixed": "org.apache.kafka.connect.mirror.DefaultReplicationPolicy",
    "identical": "org.apache.kafka.connect.mirror.IdentityReplicationPolicy",
}
SEPARATOR = "."  # DefaultReplicationPolicy's default replication.policy.separator

CANARY_TOPIC = "msk-pair.canary"
CANARY_GROUP = "msk-pair-canary"
CANARY_RECORDS = 10
CANARY_TIMEOUT_SECONDS = 240  # how long the secondary waits for every canary record
OFFSET_SYNC_TIMEOUT_SECONDS = 120  # then how long for the group's translated offset
TOOL_TIMEOUT_SECONDS = 120  # each Kafka command line tool, at most
CONSUMER_IDLE_MS = 15000  # kafka-console-consumer.sh --timeout-ms: stop after this long without a record

INTERNAL_REPLICATION_FACTOR = 3
REFRESH_SECONDS = 10  # refresh.topics/groups.interval.seconds (defaults 600): new topics and groups within seconds
CHECKPOINT_SECONDS = 5  # emit.checkpoints.interval.seconds and sync.group.offsets.interval.seconds (defaults 60)
OFFSET_FLUSH_MS = (
    5000  # the worker's offset.flush.interval.ms (default 60000): also when MM2 sends delayed offset syncs
)
HEAP_PERCENT = 50  # of the machine's memory, for MirrorMaker 2's JVM
HEAP_MIN_MB, HEAP_MAX_MB = 256, 4096
RESTART_SECONDS = 10

# The defaults of topics.exclude and groups.exclude (DefaultTopicFilter, DefaultGroupFilter), plus
# the client's own smoke-test topic: nothing a user needs on the secondary.
TOPICS_EXCLUDE = (r".*[\-\.]internal", r".*\.replica", r"__.*", "msk-pair-smoke-test")
GROUPS_EXCLUDE = (r"console-consumer-.*", r"connect-.*", r"__.*")

MARKER_STARTED = "MSK_PAIR_MM2_OK"
MARKER_CANARY = "MSK_PAIR_CANARY_OK"
MARKER_CHECK = "MSK_PAIR_REPLICATION_OK"
MARKER_STOPPED = "MSK_PAIR_MM2_STOPPED"
SENT_PREFIX = "msk-pair canary sent: "
SEEN_PREFIX = "msk-pair canary seen: "
TOPIC_PREFIX = "msk-pair topic: "
TOPICS_LISTED = 200  # at most this many topic names per cluster in a command's output
# ... and at most this many characters of them: Kafka allows 249-character names, SSM returns the first
# 24,000 characters of stdout and command_status keeps the last OUTPUT_CHARS, so 200 long names would push
# the canary records out of what is read back (found by running the scripts for real, issue 16.2).
TOPICS_LISTED_CHARS = 8000
OUTPUT_CHARS = 20000  # of a command's standard output read back (GetCommandInvocation returns up to 24,000)
GROUP_PREFIX = "msk-pair group: "

FAILOVER_NOTE = (
    "MirrorMaker 2 writes a consumer group's translated offsets on the secondary only while the group has no "
    "active member there (sync.group.offsets.enabled; Kafka's MirrorCheckpointConfig). To fail a group over, "
    "stop its consumers on the primary, then start them on the secondary with the same group id: they resume "
    "from the translated offsets (with prefixed naming, subscribe to the replicated names, primary.<topic>). "
    "A group that is active on the secondary is never overwritten."
)

_BROKERS = re.compile(r"[A-Za-z0-9.\-]+:\d+(,[A-Za-z0-9.\-]+:\d+)*")


class ReplicationFailed(ResourceFailed):
    """The canary or the offset sync did not come through within its bound."""


def replicated_name(topic: str, topic_naming: str) -> str:
    """The name a primary topic gets on the secondary: ``primary.<topic>`` (DefaultReplicationPolicy's
    ``formatRemoteTopic``: source alias, separator, topic) or the same name (IdentityReplicationPolicy)."""
    if topic_naming == "identical":
        return topic
    return f"{SOURCE}{SEPARATOR}{topic}"


def _check_brokers(value: str, what: str) -> str:
    if not _BROKERS.fullmatch(value or ""):
        raise ValueError(f"{what} must be a comma-separated list of host:port")
    return value


def _prop(value: str) -> str:
    """A value as java.util.Properties reads it back: backslashes doubled (``\\.`` in a regex stays ``\\.``)."""
    return value.replace("\\", "\\\\")


def _regex_list(*entries: str) -> str:
    return ", ".join(e.strip() for entry in entries for e in entry.split(",") if e.strip())


def _literal(name: str) -> str:
    """A topic or group name as a regex matching only itself (their other characters are not special)."""
    return name.replace(".", r"\.")


def _jaas(alias: str) -> str:
    ref = f"${{file:{MM2_SECRETS}:{alias}"
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ref}.username}}" password="{ref}.password}}";'
    )


def mm2_settings(*, primary_brokers: str, secondary_brokers: str, replication: dict[str, Any]) -> list[tuple[str, str]]:
    """The (key, value) pairs of mm2.properties, in file order. No password: references only."""
    _check_brokers(primary_brokers, "primary_brokers")
    _check_brokers(secondary_brokers, "secondary_brokers")
    sync = bool(replication.get("syncGroupOffsets", True))
    naming = replication.get("topicNaming", catalog.DEFAULT_TOPIC_NAMING)
    rf = str(INTERNAL_REPLICATION_FACTOR)
    settings: list[tuple[str, str]] = [
        ("clusters", f"{SOURCE}, {TARGET}"),
        (f"{SOURCE}.bootstrap.servers", primary_brokers),
        (f"{TARGET}.bootstrap.servers", secondary_brokers),
        (f"{SOURCE}->{TARGET}.enabled", "true"),
        (f"{TARGET}->{SOURCE}.enabled", "false"),
        # what is replicated: the user's regexes, and always the canary topic and group
        ("topics", _regex_list(replication.get("topics", ".*"), _literal(CANARY_TOPIC))),
        ("topics.exclude", _regex_list(*TOPICS_EXCLUDE)),
        ("groups", _regex_list(replication.get("groups", ".*"), _literal(CANARY_GROUP))),
        ("groups.exclude", _regex_list(*GROUPS_EXCLUDE)),
        ("replication.policy.class", POLICIES[naming]),
        ("refresh.topics.interval.seconds", str(REFRESH_SECONDS)),
        ("refresh.groups.interval.seconds", str(REFRESH_SECONDS)),
        ("sync.topic.configs.enabled", "true"),
        # MSK's SCRAM clusters have no ACL authorizer to read ACLs from
        ("sync.topic.acls.enabled", "false"),
        ("emit.heartbeats.enabled", "true"),
        ("emit.checkpoints.enabled", "true"),
        ("emit.checkpoints.interval.seconds", str(CHECKPOINT_SECONDS)),
        ("sync.group.offsets.enabled", "true" if sync else "false"),
        ("sync.group.offsets.interval.seconds", str(CHECKPOINT_SECONDS)),
        # a worker setting: MirrorMakerConfig.workerConfig passes the target cluster's prefixed keys to the
        # worker of the flow into that cluster (a top-level offset.flush.interval.ms would be ignored)
        (f"{TARGET}.offset.flush.interval.ms", str(OFFSET_FLUSH_MS)),
        # internal topics (and the replicated ones) with three replicas, like the clusters' own
        ("replication.factor", rf),
        ("checkpoints.topic.replication.factor", rf),
        ("heartbeats.topic.replication.factor", rf),
        ("offset-syncs.topic.replication.factor", rf),
        ("offset.storage.replication.factor", rf),
        ("status.storage.replication.factor", rf),
        ("config.storage.replication.factor", rf),
        ("config.providers", "file"),
        ("config.providers.file.class", "org.apache.kafka.common.config.provider.FileConfigProvider"),
    ]
    for alias in (SOURCE, TARGET):
        settings += [
            (f"{alias}.security.protocol", "SASL_SSL"),
            (f"{alias}.sasl.mechanism", "SCRAM-SHA-512"),
            (f"{alias}.sasl.jaas.config", _jaas(alias)),
            (f"{alias}.ssl.truststore.location", TRUSTSTORE),
        ]
    return settings


def mm2_properties(
    *, primary_brokers: str, secondary_brokers: str, replication: dict[str, Any], deployment: str = "?"
) -> str:
    """The text of :data:`MM2_PROPERTIES` (java.util.Properties syntax, values escaped)."""
    lines = [
        f"# MirrorMaker 2 for msk-pair deployment {deployment}: {SOURCE} -> {TARGET}, run by the service {SERVICE}.",
        f"# Written by msk-pair. No password here: both are read from {MM2_SECRETS} (FileConfigProvider).",
    ]
    for key, value in mm2_settings(
        primary_brokers=primary_brokers, secondary_brokers=secondary_brokers, replication=replication
    ):
        lines.append(f"{key} = {_prop(value)}")
    return "\n".join(lines) + "\n"


def parse_properties(text: str) -> dict[str, str]:
    """``key = value`` lines as java.util.Properties reads them (the subset mm2.properties uses)."""
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"not a key=value line: {raw!r}")
        found[key.strip()] = re.sub(r"\\(.)", r"\1", value.strip())
    return found


# -- the scripts ------------------------------------------------------------------------------------

_WRITE_SECRETS = r"""
# msk-pair: write the MirrorMaker 2 secrets file (each cluster's SCRAM username and password)
import json, os, subprocess, sys
path, pairs = sys.argv[1], sys.argv[2:]
lines = []
for alias, secret_arn, region in zip(pairs[0::3], pairs[1::3], pairs[2::3]):
    got = subprocess.run(
        ["aws", "secretsmanager", "get-secret-value", "--secret-id", secret_arn, "--region", region,
         "--query", "SecretString", "--output", "text"],
        capture_output=True, text=True)
    if got.returncode != 0:
        sys.exit("msk-pair: cannot read the " + alias + " SCRAM secret: " + got.stderr.strip())
    try:
        secret = json.loads(got.stdout)
        username, pw = secret["username"], secret["password"]
    except (ValueError, KeyError, TypeError):
        sys.exit("msk-pair: the " + alias + " SCRAM secret is not JSON with username and password")
    def jaas(value):  # the values land inside sasl.jaas.config's double quotes
        return value.replace("\\", "\\\\").replace('"', '\\"')
    def prop(value):  # java.util.Properties, as FileConfigProvider reads the file
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\:").replace("=", "\\=")
    lines += [alias + ".username=" + prop(jaas(username)), alias + ".password=" + prop(jaas(pw))]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write("\n".join(lines) + "\n")
"""


def _unit(deployment: str) -> str:
    """The systemd unit; ``$HEAP_MB`` is filled in on the machine (systemd.service, systemd.exec man pages)."""
    return f"""[Unit]
Description=msk-pair MirrorMaker 2 for {deployment}: {SOURCE} -> {TARGET}
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User={SERVICE_USER}
Group={SERVICE_USER}
Environment="KAFKA_HEAP_OPTS=-Xms{HEAP_MIN_MB}m -Xmx${{HEAP_MB}}m"
Environment=LOG_DIR={LOG_DIR}
LogsDirectory={SERVICE}
ExecStart={KAFKA_HOME}/bin/connect-mirror-maker.sh {MM2_PROPERTIES}
Restart=on-failure
RestartSec={RESTART_SECONDS}
SuccessExitStatus=143
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
"""


def _q(value: str) -> str:
    return shlex.quote(value)


def start_script(
    *,
    deployment: str,
    primary_brokers: str,
    secondary_brokers: str,
    primary_secret_arn: str,
    primary_region: str,
    secondary_secret_arn: str,
    secondary_region: str,
    replication: dict[str, Any],
) -> str:
    """The ``AWS-RunShellScript`` text that runs MirrorMaker 2 as :data:`SERVICE` on the secondary client.

    Safe to run twice: the files are written next to the installed ones and replace them only if they
    differ; the service is restarted only if one did or it is not active, else nothing changes. The
    replicated canary topic is made first on the secondary with ``message.timestamp.type=LogAppendTime``
    (MirrorMaker 2 creates only missing topics and never syncs that setting: DefaultConfigPropertyFilter
    excludes it), so its records carry the time they arrived there. No password in this text.
    """
    props = mm2_properties(
        primary_brokers=primary_brokers,
        secondary_brokers=secondary_brokers,
        replication=replication,
        deployment=deployment,
    )
    canary = replicated_name(CANARY_TOPIC, replication.get("topicNaming", catalog.DEFAULT_TOPIC_NAMING))
    files = " ".join((MM2_SECRETS, MM2_PROPERTIES, UNIT_PATH))
    return f"""#!/bin/bash
# msk-pair: MirrorMaker 2 ({SOURCE} -> {TARGET}) as the systemd service {SERVICE} on this client.
set -euo pipefail
set +x
umask 022
PRIMARY_SECRET_ARN={_q(primary_secret_arn)}
PRIMARY_REGION={_q(primary_region)}
SECONDARY_SECRET_ARN={_q(secondary_secret_arn)}
SECONDARY_REGION={_q(secondary_region)}
SECONDARY_BROKERS={_q(_check_brokers(secondary_brokers, "secondary_brokers"))}
REPLICATED_CANARY={_q(canary)}
if ! id -u {SERVICE_USER} >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /sbin/nologin {SERVICE_USER}
fi
install -d -m 0750 -o root -g {SERVICE_USER} {MM2_DIR}
umask 077
python3 - {MM2_SECRETS}.new {SOURCE} "$PRIMARY_SECRET_ARN" "$PRIMARY_REGION" \\
  {TARGET} "$SECONDARY_SECRET_ARN" "$SECONDARY_REGION" <<'MSKPAIR_PY'
{_WRITE_SECRETS.strip()}
MSKPAIR_PY
umask 022
cat > {MM2_PROPERTIES}.new <<'MSKPAIR_MM2'
{props.rstrip()}
MSKPAIR_MM2
MEM_KB="$(awk '/^MemTotal:/ {{print $2}}' /proc/meminfo)"
HEAP_MB=$((MEM_KB * {HEAP_PERCENT} / 100 / 1024))
if [ "$HEAP_MB" -gt {HEAP_MAX_MB} ]; then HEAP_MB={HEAP_MAX_MB}; fi
if [ "$HEAP_MB" -lt {HEAP_MIN_MB} ]; then HEAP_MB={HEAP_MIN_MB}; fi
cat > {UNIT_PATH}.new <<MSKPAIR_UNIT
{_unit(deployment).rstrip()}
MSKPAIR_UNIT
CHANGED=0
for f in {files}; do
  if cmp -s "$f.new" "$f"; then rm -f "$f.new"; else mv -f "$f.new" "$f"; CHANGED=1; fi
done
chown {SERVICE_USER}:{SERVICE_USER} {MM2_SECRETS}
chmod 0400 {MM2_SECRETS}
chown root:{SERVICE_USER} {MM2_PROPERTIES}
chmod 0640 {MM2_PROPERTIES}
systemctl daemon-reload
timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-topics.sh --bootstrap-server "$SECONDARY_BROKERS" \\
  --command-config {CLIENT_PROPERTIES} --create --if-not-exists --topic "$REPLICATED_CANARY" \\
  --partitions 1 --replication-factor {INTERNAL_REPLICATION_FACTOR} --config message.timestamp.type=LogAppendTime
systemctl enable {SERVICE}
ACTION="running, configuration unchanged: nothing to do"
if [ "$CHANGED" = 1 ] || ! systemctl is-active --quiet {SERVICE}; then
  systemctl restart {SERVICE}
  ACTION="(re)started"
fi
echo "msk-pair: {SERVICE} $ACTION"
systemctl is-active {SERVICE}
echo "{MARKER_STARTED}"
"""


def canary_id(execution: str) -> str:
    """The canary's tag, from the execution name: one shell- and seq-safe word, the same for the same name.

    Step Functions names may hold more than letters, digits, '-' and '_' (dots, non-ASCII letters...):
    anything else becomes '_' (the tag only has to tell this execution's records from others').
    """
    tag = re.sub(r"[^A-Za-z0-9_.-]", "_", execution or "")[:80]
    if not tag:
        raise ValueError("an execution name is needed to tag the canary")
    return tag


def canary_script(*, bootstrap_brokers: str, execution: str) -> str:
    """The ``AWS-RunShellScript`` text for the primary client: produce the canary, consume it as the group.

    :data:`CANARY_RECORDS` records ``<execution> <n>`` to :data:`CANARY_TOPIC` (made if missing), then the
    group :data:`CANARY_GROUP` consumes as many and commits (kafka-console-consumer.sh commits on close);
    the records it read (with their CreateTime) and the group's offsets are printed.
    """
    tag = canary_id(execution)
    return f"""#!/bin/bash
# msk-pair: the replication canary on the {SOURCE} cluster.
set -euo pipefail
set +x
BOOTSTRAP={_q(_check_brokers(bootstrap_brokers, "bootstrap_brokers"))}
CANARY_ID={_q(tag)}
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" \\
  --command-config {CLIENT_PROPERTIES} --create --if-not-exists --topic {CANARY_TOPIC} \\
  --partitions 1 --replication-factor {INTERNAL_REPLICATION_FACTOR}
timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" \\
  --command-config {CLIENT_PROPERTIES} --list > "$WORK/topics"
awk -v most={TOPICS_LISTED} -v budget={TOPICS_LISTED_CHARS} \\
  '{{ n += length($0) + 1 }} NR <= most && n <= budget {{ print "{TOPIC_PREFIX}" $0 }}' "$WORK/topics"
seq -f "$CANARY_ID %g" 1 {CANARY_RECORDS} | timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-console-producer.sh \\
  --bootstrap-server "$BOOTSTRAP" --producer.config {CLIENT_PROPERTIES} --topic {CANARY_TOPIC} \\
  --producer-property acks=all
echo "msk-pair: produced {CANARY_RECORDS} canary records"
timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-console-consumer.sh --bootstrap-server "$BOOTSTRAP" \\
  --consumer.config {CLIENT_PROPERTIES} --topic {CANARY_TOPIC} --group {CANARY_GROUP} --from-beginning \\
  --max-messages {CANARY_RECORDS} --timeout-ms {CONSUMER_IDLE_MS} --property print.timestamp=true \\
  --property print.offset=true > "$WORK/records" 2> "$WORK/consumer.err"
grep -F -- "$CANARY_ID " "$WORK/records" | sed 's/^/{SENT_PREFIX}/' || true
timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-consumer-groups.sh --bootstrap-server "$BOOTSTRAP" \\
  --command-config {CLIENT_PROPERTIES} --describe --group {CANARY_GROUP} > "$WORK/group" 2>&1
sed 's/^/{GROUP_PREFIX}/' "$WORK/group"
echo "{MARKER_CANARY}"
"""


def check_script(
    *,
    bootstrap_brokers: str,
    peer_bootstrap_brokers: str,
    execution: str,
    topic_naming: str = catalog.DEFAULT_TOPIC_NAMING,
    sync_group_offsets: bool = True,
) -> str:
    """The ``AWS-RunShellScript`` text for the secondary client: wait (bounded) for the canary on the
    replicated topic, then for the canary group's translated offset to point past it.

    Exits 1 if not every canary record arrives within :data:`CANARY_TIMEOUT_SECONDS`, or (with
    ``sync_group_offsets``) the offset does not within :data:`OFFSET_SYNC_TIMEOUT_SECONDS`; it then prints
    on stderr what a person would look at: the service's status and log, and whether this machine reaches
    each primary broker (MirrorMaker 2 consumes from there over the peering), then what is missing (last:
    the tail of stderr is what the failure's cause keeps).
    """
    tag = canary_id(execution)
    topic = replicated_name(CANARY_TOPIC, topic_naming)
    offsets = ""
    if sync_group_offsets:
        offsets = f"""LAST="$(grep -F -- "$CANARY_ID " "$WORK/records" | cut -f2 | sed -n 's/^Offset://p' \\
  | sort -n | tail -n 1)"
WANT=$((LAST + 1))
SYNCED=-1
DEADLINE=$((SECONDS + {OFFSET_SYNC_TIMEOUT_SECONDS}))
while [ "$SYNCED" -lt "$WANT" ] && [ "$SECONDS" -lt "$DEADLINE" ]; do
  timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-consumer-groups.sh --bootstrap-server "$BOOTSTRAP" \\
    --command-config {CLIENT_PROPERTIES} --describe --group {CANARY_GROUP} > "$WORK/group" 2>&1 || true
  SYNCED="$(awk -v t="$TOPIC" '$2 == t && $3 == "0" && $4 ~ /^[0-9]+$/ {{print $4}}' "$WORK/group" | head -n 1)"
  SYNCED="${{SYNCED:--1}}"
  if [ "$SYNCED" -lt "$WANT" ]; then sleep 5; fi
done
sed 's/^/{GROUP_PREFIX}/' "$WORK/group"
if [ "$SYNCED" -lt "$WANT" ]; then
  diagnose
  echo "msk-pair: group {CANARY_GROUP} is at $SYNCED on $TOPIC, not $WANT, after {OFFSET_SYNC_TIMEOUT_SECONDS} s" >&2
  exit 1
fi
"""
    return f"""#!/bin/bash
# msk-pair: replication check on the {TARGET} cluster: the canary and the offset sync.
set -euo pipefail
set +x
BOOTSTRAP={_q(_check_brokers(bootstrap_brokers, "bootstrap_brokers"))}
PRIMARY_BROKERS={_q(_check_brokers(peer_bootstrap_brokers, "peer_bootstrap_brokers"))}
CANARY_ID={_q(tag)}
TOPIC={_q(topic)}
EXPECTED={CANARY_RECORDS}
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
diagnose() {{
  systemctl status {SERVICE} --no-pager >&2 || true
  journalctl -u {SERVICE} -n 20 --no-pager >&2 || true
  for broker in $(echo "$PRIMARY_BROKERS" | tr ',' ' '); do
    timeout 10 bash -c "exec 3<>/dev/tcp/${{broker%:*}}/${{broker##*:}}" || echo "msk-pair: cannot reach $broker" >&2
  done
}}
SEEN=0
DEADLINE=$((SECONDS + {CANARY_TIMEOUT_SECONDS}))
while [ "$SEEN" -lt "$EXPECTED" ] && [ "$SECONDS" -lt "$DEADLINE" ]; do
  timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-console-consumer.sh --bootstrap-server "$BOOTSTRAP" \\
    --consumer.config {CLIENT_PROPERTIES} --topic "$TOPIC" --from-beginning --timeout-ms {CONSUMER_IDLE_MS} \\
    --property print.timestamp=true --property print.offset=true > "$WORK/records" 2> "$WORK/consumer.err" || true
  SEEN="$(grep -c -F -- "$CANARY_ID " "$WORK/records" || true)"
done
timeout {TOOL_TIMEOUT_SECONDS} {KAFKA_HOME}/bin/kafka-topics.sh --bootstrap-server "$BOOTSTRAP" \\
  --command-config {CLIENT_PROPERTIES} --list > "$WORK/topics" || true
awk -v most={TOPICS_LISTED} -v budget={TOPICS_LISTED_CHARS} \\
  '{{ n += length($0) + 1 }} NR <= most && n <= budget {{ print "{TOPIC_PREFIX}" $0 }}' "$WORK/topics"
grep -F -- "$CANARY_ID " "$WORK/records" | sed 's/^/{SEEN_PREFIX}/' || true
if [ "$SEEN" -lt "$EXPECTED" ]; then
  diagnose
  echo "msk-pair: $SEEN of $EXPECTED canary records on $TOPIC within {CANARY_TIMEOUT_SECONDS} s" >&2
  exit 1
fi
{offsets}echo "{MARKER_CHECK}"
"""


def stop_script() -> str:
    """The ``AWS-RunShellScript`` text that stops and disables :data:`SERVICE` (teardown; safe if absent)."""
    return f"""#!/bin/bash
# msk-pair: stop MirrorMaker 2 before the client goes.
set -euo pipefail
set +x
if [ -f {UNIT_PATH} ]; then
  systemctl disable --now {SERVICE}
fi
echo "{MARKER_STOPPED}"
"""


# -- reading what the scripts printed ---------------------------------------------------------------

_RECORD = re.compile(r"^(?P<type>CreateTime|LogAppendTime):(?P<ts>-?\d+)\tOffset:(?P<offset>\d+)\t(?P<value>.*)$")


def parse_records(output: str, prefix: str, tag: str) -> dict[int, dict[str, int]]:
    """``{n: {"timestamp": ms, "offset": o}}`` of the canary records ``<tag> <n>`` in the lines starting with
    ``prefix`` (kafka-console-consumer.sh with print.timestamp and print.offset: DefaultMessageFormatter
    prints ``<TimestampType>:<ms>``, ``Offset:<o>`` and the value, separated by tabs)."""
    found: dict[int, dict[str, int]] = {}
    for line in (output or "").splitlines():
        if not line.startswith(prefix):
            continue
        m = _RECORD.match(line[len(prefix) :])
        if not m:
            continue
        value = m["value"].split(" ")
        if len(value) == 2 and value[0] == tag and value[1].isdigit():
            found.setdefault(int(value[1]), {"timestamp": int(m["ts"]), "offset": int(m["offset"])})
    return found


def parse_group_offset(output: str, topic: str) -> int | None:
    """CURRENT-OFFSET of partition 0 of ``topic`` in kafka-consumer-groups.sh --describe output (its table:
    GROUP TOPIC PARTITION CURRENT-OFFSET ...; ``-`` when the group has no offset there)."""
    for line in (output or "").splitlines():
        if line.startswith(GROUP_PREFIX):
            line = line[len(GROUP_PREFIX) :]
        cols = line.split()
        if len(cols) >= 4 and cols[1] == topic and cols[2] == "0" and cols[3].isdigit():
            return int(cols[3])
    return None


def parse_topics(output: str) -> list[str]:
    """The topic names a script listed (kafka-topics.sh --list: one name a line)."""
    return [line[len(TOPIC_PREFIX) :].strip() for line in (output or "").splitlines() if line.startswith(TOPIC_PREFIX)]


def _matches_any(patterns: str, name: str) -> bool:
    # MirrorUtils.compilePatternList: the comma-separated entries joined with "|", matched whole (matches()).
    return any(re.fullmatch(p.strip(), name) for p in patterns.split(",") if p.strip())


def replicated_topics(primary: list[str], secondary: list[str], replication: dict[str, Any]) -> dict[str, str]:
    """Primary topic -> its name on the secondary, for each topic the filters select that is there."""
    naming = replication.get("topicNaming", catalog.DEFAULT_TOPIC_NAMING)
    include = _regex_list(replication.get("topics", ".*"), _literal(CANARY_TOPIC))
    exclude = _regex_list(*TOPICS_EXCLUDE)
    there = set(secondary)
    found = {}
    for topic in sorted(set(primary)):
        if _matches_any(include, topic) and not _matches_any(exclude, topic):
            name = replicated_name(topic, naming)
            if name in there:
                found[topic] = name
    return found


def canary_result(output: str, execution: str) -> dict[str, Any]:
    """What the primary's canary command printed: the records it produced (as consumed back) and the
    group's committed offset there."""
    records = parse_records(output, SENT_PREFIX, canary_id(execution))
    return {
        "sent": CANARY_RECORDS,
        "createTimes": {str(n): r["timestamp"] for n, r in sorted(records.items())},
        "primaryOffset": parse_group_offset(output, CANARY_TOPIC),
        "topics": parse_topics(output),
    }


def check_result(output: str, execution: str, topic_naming: str) -> dict[str, Any]:
    """What the secondary's check printed: the canary records seen there (LogAppendTime) and the offset."""
    topic = replicated_name(CANARY_TOPIC, topic_naming)
    records = parse_records(output, SEEN_PREFIX, canary_id(execution))
    return {
        "seen": len(records),
        "appendTimes": {str(n): r["timestamp"] for n, r in sorted(records.items())},
        "secondaryOffset": parse_group_offset(output, topic),
        "topics": parse_topics(output),
    }


def check_failed(status: dict[str, Any], role: str) -> None:
    """Raise ReplicationFailed (not retried: rollback) when the check command failed; its stderr says why."""
    if status.get("status") in ("Failed", "Cancelled", "TimedOut", "Undeliverable", "Terminated"):
        detail = redact(status.get("error") or status.get("output") or "no output")
        raise ReplicationFailed(
            f"MirrorMaker 2 replication check on the {role} client: {status['status']} "
            f"(exit code {status.get('responseCode', -1)}): {detail}"
        )


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least pct % of the values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def prometheus_scrape_config(*, deployment: str, clusters: dict[str, dict[str, str]]) -> str:
    """A Prometheus ``scrape_configs`` section for both clusters' open monitoring: each broker's JMX
    exporter on 11001 and node exporter on 11002 (MSK developer guide, "Open monitoring with Prometheus").

    ``clusters``: role -> ``{"region", "bootstrapBrokers"}``. Prometheus must run where it reaches the
    brokers (a client machine: the default group admits the client group on those ports).
    """
    lines = ["scrape_configs:"]
    for job, port in (("jmx", catalog.JMX_EXPORTER_PORT), ("node", catalog.NODE_EXPORTER_PORT)):
        lines += [f"  - job_name: msk-pair-{deployment}-{job}", "    static_configs:"]
        for role, info in clusters.items():
            hosts = [b.rsplit(":", 1)[0] for b in _check_brokers(info["bootstrapBrokers"], role).split(",")]
            targets = ", ".join(json.dumps(f"{h}:{port}") for h in hosts)
            lines += [
                f"      - targets: [{targets}]",
                f"        labels: {{role: {role}, region: {info['region']}}}",
            ]
    return "\n".join(lines) + "\n"


def status_command(*, instance_id: str, region: str) -> str:
    """The service's status over SSM Run Command (no shell on the machine needed)."""
    return (
        f"aws ssm send-command --region {region} --instance-ids {instance_id} "
        "--document-name AWS-RunShellScript "
        f"--parameters 'commands=[\"systemctl status {SERVICE} --no-pager\"]' "
        "--query Command.CommandId --output text"
    )


def report(
    *,
    deployment: str,
    replication: dict[str, Any],
    canary: dict[str, Any],
    check: dict[str, Any],
    instance_id: str,
    clusters: dict[str, dict[str, str]],
) -> dict[str, Any]:
    """The ``replication`` section of the output. Raises ReplicationFailed if the canary is incomplete or
    (with syncGroupOffsets) the group's offset did not come through."""
    naming = replication.get("topicNaming", catalog.DEFAULT_TOPIC_NAMING)
    created = canary.get("createTimes") or {}
    appended = check.get("appendTimes") or {}
    sent, seen = int(canary.get("sent", CANARY_RECORDS)), int(check.get("seen", 0))
    latencies = [float(appended[n] - created[n]) for n in appended if n in created]
    target = replicated_name(CANARY_TOPIC, naming)
    if seen < sent:
        raise ReplicationFailed(f"canary: {seen} of {sent} records seen on {target} on the {TARGET} cluster")
    sync = bool(replication.get("syncGroupOffsets", True))
    offset_sync = None
    if sync:
        offset_sync = {
            "group": CANARY_GROUP,
            "primaryOffset": canary.get("primaryOffset"),
            "secondaryOffset": check.get("secondaryOffset"),
        }
        if offset_sync["secondaryOffset"] is None:
            raise ReplicationFailed(f"offset sync: group {CANARY_GROUP} has no offset on {target} on the {TARGET}")
    region = clusters[TARGET]["region"]
    return {
        "engine": "mm2",
        "direction": f"{SOURCE} -> {TARGET}",
        "topicNaming": naming,
        "replicatedTopics": replicated_topics(canary.get("topics") or [], check.get("topics") or [], replication),
        "replicatedName": replicated_name("<topic>", naming),
        "service": {
            "name": SERVICE,
            "instanceId": instance_id,
            "region": region,
            "statusCommand": status_command(instance_id=instance_id, region=region),
            "configPath": MM2_PROPERTIES,
        },
        "check": {
            "sent": sent,
            "seen": seen,
            "p50Ms": percentile(latencies, 50),
            "p99Ms": percentile(latencies, 99),
        },
        "offsetSync": offset_sync,
        "consumerGroupFailover": FAILOVER_NOTE,
        "prometheusScrapeConfig": prometheus_scrape_config(deployment=deployment, clusters=clusters),
    }


# -- the handlers' logic ------------------------------------------------------------------------------------


def command_result(status: dict[str, Any], command: dict[str, Any], *, role: str, config: dict[str, Any]) -> dict:
    """What a wait loop keeps of a replication command: its status and, once it succeeded, the facts it printed.

    A failed start or canary command is ``ResourceFailed``; a failed check ``ReplicationFailed`` (its stderr,
    redacted, says which records were missing and why: the service's log, the path to the primary).
    """
    what = command["what"]
    result = {
        "commandId": command["commandId"],
        "what": what,
        "execution": command.get("execution"),
        "status": status["status"],
    }
    if what == "replication-check":
        check_failed(status, role)
    else:
        cm.raise_if_failed(status, f"{role} client {what}")
    if status["status"] != "Success":
        return result
    naming = config["replication"]["topicNaming"]
    if what == "canary":
        result["canary"] = canary_result(status["output"], command["execution"])
    elif what == "replication-check":
        result["check"] = check_result(status["output"], command["execution"], naming)
    return result


def submit_command(*, region: str, instance_id: str, script: str, what: str, execution: str) -> dict[str, str]:
    """:func:`client_machine.submit_command`, and the ``execution``: :func:`command_result` reads the canary
    records that carry its name back from what the command printed."""
    sent = cm.submit_command(region=region, instance_id=instance_id, script=script, what=what, execution=execution)
    return {**sent, "execution": execution}


def poll_command(
    *,
    region: str,
    instance_id: str,
    command: dict[str, Any],
    role: str,
    config: dict[str, Any],
    canary: dict[str, Any] | None = None,
    brokers: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One check of a wait loop on a replication command: :func:`command_result` of its status; once the check
    succeeded, also its ``report`` (the output's replication section), which needs what the ``canary`` saw and
    both clusters' ``brokers`` (``{role: {"bootstrapBrokersSaslScram"}}``)."""
    status = cm.command_status(
        region=region, command_id=command["commandId"], instance_id=instance_id, output_chars=OUTPUT_CHARS
    )
    result = command_result(status, command, role=role, config=config)
    if "check" in result:  # the check succeeded: its report is the output's replication section
        if canary is None or brokers is None:
            raise ValueError("the replication check's report needs the canary's result and both clusters' brokers")
        result["report"] = report(
            deployment=config["deploymentName"],
            replication=config["replication"],
            canary=canary,
            check=result["check"],
            instance_id=instance_id,
            clusters={
                side: {"region": config[side]["region"], "bootstrapBrokers": brokers[side]["bootstrapBrokersSaslScram"]}
                for side in (SOURCE, TARGET)
            },
        )
    return result


def stop_service(*, deployment: str, region: str, execution: str, made_by: str | None = None) -> dict[str, Any]:
    """Teardown: stop MirrorMaker 2 on the deployment's secondary client, if there is one to reach.

    ``made_by``: only on a client that execution launched (the rollback of a run on a deployment that
    existed leaves the existing client, and the replication it runs, alone).

    Each call sends the stop command once (idempotent by its comment, ``msk-pair mm2-stop <execution>``)
    and reports whether it is done; a client that is gone or not online in SSM has nothing to stop. A stop
    that fails is logged, not raised: the client is terminated next anyway.
    Returns ``{"done", "status"[, "commandId"]}``.
    """
    clients = cm.find_clients(deployment=deployment, role=TARGET, region=region, states=("running",))
    clients = [c for c in clients if in_scope(tags_of(c), made_by)]
    if not clients:
        return {"done": True, "status": "no running client"}
    instance_id = clients[0]["InstanceId"]
    if not cm.client_ssm_status(region=region, instance_id=instance_id)["online"]:
        return {"done": True, "status": "client not online in SSM"}
    comment = cm.command_comment("mm2-stop", execution)
    command_id = cm.send_command(region=region, instance_id=instance_id, script=stop_script(), comment=comment)
    status = cm.command_status(region=region, command_id=command_id, instance_id=instance_id)
    if status["status"] in cm.COMMAND_FAILED:
        LOG.warning("stopping %s on %s: %s %s", SERVICE, instance_id, status["status"], status["error"])
    return {"done": status["done"], "status": status["status"], "commandId": command_id}
