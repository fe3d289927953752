"""Emulated Kafka: what the clusters hold, what the client machines run, and MirrorMaker 2 between them.

AWS service: Apache Kafka on Amazon MSK, as the client machines reach it: topics, consumer groups,
  SASL/SCRAM sign-in, and MirrorMaker 2.
Sources: Amazon MSK Developer Guide, "Sign-in credentials authentication with AWS Secrets Manager";
  Apache Kafka documentation (topic configs, "Geo-Replication"), KIP-382 and KIP-545; the tools'
  own output formats and error messages, quoted below.

The SSM emulator (:mod:`msk_pair.emulator.ssm`) hands this module every command that runs Apache Kafka's
own tools beyond ``kafka-topics.sh`` (``kafka-console-producer.sh``, ``kafka-console-consumer.sh``,
``kafka-consumer-groups.sh``) or the MirrorMaker 2 service (``systemctl ... msk-pair-mm2``): the script is
read line by line (see "Scripts" below) and its Kafka work is done on the model, at emulated time, with the
network path and the SCRAM credentials checked. Without it the replication steps would prove nothing:
every command succeeded and printed only its ``echo`` lines.

The model, per MSK cluster (by ARN):

1. Topics (``kafka-topics.sh --create [--if-not-exists] --partitions --config``), each with one log
   (records of partition 0: the scripts use one partition) whose records carry an offset, a value, the
   producer's time and the time they were appended. A topic's ``message.timestamp.type`` decides what a
   consumer prints: the producer's ``CreateTime`` or the broker's ``LogAppendTime`` (Kafka documentation,
   topic configs, ``message.timestamp.type``).
2. Consumer groups: committed offsets per topic with the time of each commit, and when a member was active.
   ``kafka-console-consumer.sh --group G`` is a member while it runs and commits its position when it closes
   (auto commit, ``enable.auto.commit`` defaults to true; KafkaConsumer commits on close). Without
   ``--group`` it uses a fresh ``console-consumer-<n>`` group. Without a committed offset it starts from the
   beginning with ``--from-beginning`` (auto.offset.reset=earliest), else at the end.
3. Connections: a tool (and MirrorMaker 2) reaches a cluster only if the instance has a network path to
   every broker of its bootstrap string (:func:`msk_pair.emulator.network_path.check`: security groups,
   peering, routes), and authenticates only if the SCRAM credentials its configuration file holds are those
   of a secret associated with that cluster (MSK developer guide, "Sign-in credentials authentication with
   AWS Secrets Manager": clients sign in with the username and password of a secret associated with the
   cluster). The credentials are what the machine read from Secrets Manager: ``client.properties`` holds the
   secret the bootstrap command read; MirrorMaker 2's secrets file those the start command read, each only
   if the instance's role may ``secretsmanager:GetSecretValue`` it and ``kms:Decrypt`` its key through
   Secrets Manager (decided by :mod:`msk_pair.emulator.iam_enforcement` from the role's policies and its
   permissions boundary, as IAM would). A refused tool fails as Kafka's would: unreachable brokers, a
   timeout ("Timed out waiting for a node assignment"); bad credentials, ``SaslAuthenticationException:
   Authentication failed during authentication due to invalid credentials with SASL mechanism
   SCRAM-SHA-512`` (Kafka's SaslServerAuthenticator).

MirrorMaker 2 (the service ``msk-pair-mm2``; Kafka documentation "Geo-Replication", KIP-382, KIP-545):

4. The service is its unit and its configuration (``mm2.properties``, parsed), ``systemctl``
   enable/restart/stop/disable/is-active act on it, and each start begins a *run*. A run replicates
   ``mm2_start`` seconds after it starts (the JVM and the connectors; latency profile). A test can kill it
   (:func:`kill_mm2`): with ``Restart=on-failure`` systemd starts it again ``RestartSec`` later
   (systemd.service(5): on-failure restarts a service "terminated by a signal"), unless it dies at every
   start (:func:`break_mm2`): systemd then gives up after ``StartLimitBurst`` (5) starts within
   ``StartLimitIntervalSec`` (10 s) and the unit is ``failed`` (systemd.unit(5)). Terminating the instance
   ends the run.
5. Replication, source alias -> target alias of the configuration: topics of the source that match
   ``topics`` and not ``topics.exclude`` (comma-separated regexes, matched whole: MirrorUtils
   .compilePatternList) are found at the run's start, later ones at the next ``refresh.topics.interval
   .seconds`` tick. Their remote name follows ``replication.policy.class`` (DefaultReplicationPolicy:
   ``<source alias>.<topic>``; IdentityReplicationPolicy: the same name). A missing remote topic is created
   (with the source's partition count); an existing one is kept with its own ``message.timestamp.type``
   (DefaultConfigPropertyFilter excludes it from the config sync). Each record arrives ``mm2_replication_delay``
   seconds after it was both in the source log and picked up, in order, from where the last run left off
   (the position is kept in the target's internal topics across restarts). Nothing moves while the instance
   cannot reach both clusters or authenticate to them: the service logs the error (``journalctl``).
6. Offset syncs (MirrorSourceTask): the first record of a partition in a run is synced at once, later ones at
   the next offset commit (the worker's ``offset.flush.interval.ms``, which MM2 takes from the target
   cluster's prefixed keys: ``<target>.offset.flush.interval.ms``), or at once when the downstream offset moved
   ``offset.lag.max`` (100) past the last sync. Translation (OffsetSyncStore.translateDownstream): the latest
   sync at or before the group's upstream offset, its downstream offset, plus one if the group is past it.
7. Group offsets on the target (MirrorCheckpointTask, ``sync.group.offsets.enabled``): at each
   ``sync.group.offsets.interval.seconds`` tick, for the groups matching ``groups`` and not ``groups.exclude``
   found by then (``refresh.groups.interval.seconds``), the translated offset of the group's latest commit
   as of the last ``emit.checkpoints.interval.seconds`` tick is written to the target group, only if the
   group has no active member on the target (KIP-545: "as long as no active consumers in that group are
   connected to the target cluster"; the broker refuses to alter the offsets of a non-empty group) and only
   if it is ahead of what the group has there (MM2 never rewinds a group).

Scripts: the shapes of :mod:`mskpair_core.replication`'s scripts, one statement a line (continuation
lines joined, here-documents attached to their command). Variables from simple assignments and the
substitutions those scripts use; ``while`` loops bounded by ``DEADLINE=$((SECONDS + N))`` run their body
once, as of N seconds after the script started (what a polling loop would have seen by its deadline);
``if`` takes the branch its condition selects. A Kafka tool, ``systemctl`` line or condition in a shape this
module does not know fails the invocation with an ``msk-pair emulator:`` message instead of being guessed.
A command's Kafka work happens when its invocation starts (``Pending`` ends) and is judged when it is first
read done; its duration stays the profile's ``ssm_command`` whatever the script's own waits.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
import shlex
import threading
from dataclasses import dataclass, field
from typing import Any

from msk_pair.emulator import clock, network_path, profile
from msk_pair.emulator.script_shims import parse_properties  # java.util.Properties, as Kafka reads it

EMULATOR = network_path.EMULATOR
KAFKA_HOME = "/opt/kafka"
CLIENT_PROPERTIES = "/opt/kafka/config/client.properties"
SERVICE = "msk-pair-mm2"
OFFSET_LAG_MAX = 100  # MirrorSourceConfig offset.lag.max default
START_LIMIT_BURST = 5  # systemd.unit(5) DefaultStartLimitBurst
SCRAM_FAILURE = (
    "org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during authentication "
    "due to invalid credentials with SASL mechanism SCRAM-SHA-512"
)
NODE_TIMEOUT = "Timed out waiting for a node assignment."

_lock = threading.RLock()
_ids = itertools.count(1)


# -- the model --------------------------------------------------------------------------------------------


@dataclass
class Record:
    offset: int
    value: str
    create_time: float  # producer's time (emulated seconds)
    appended_at: float  # when it was in the log


@dataclass
class Topic:
    name: str
    partitions: int
    timestamp_type: str
    created_at: float
    records: list[Record] = field(default_factory=list)

    def append(self, value: str, create_time: float, at: float) -> Record:
        record = Record(len(self.records), value, create_time, at)
        self.records.append(record)
        return record


@dataclass
class Group:
    created_at: float
    commits: dict[str, list[tuple[float, int]]] = field(default_factory=dict)  # topic -> [(at, offset)]
    active: list[tuple[float, float]] = field(default_factory=list)  # member intervals

    def committed(self, topic: str, at: float) -> int | None:
        found = [o for t, o in self.commits.get(topic, []) if t <= at]
        return found[-1] if found else None

    def active_at(self, at: float) -> bool:
        return any(a <= at <= b for a, b in self.active)


@dataclass
class Cluster:
    arn: str
    region: str
    topics: dict[str, Topic] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)


@dataclass
class Credential:
    secret_arn: str
    region: str
    problem: str | None  # why the machine could not read it (the file would not have been written)


@dataclass
class Sync:
    upstream: int
    downstream: int
    at: float


@dataclass
class Run:
    started: float
    config: dict[str, str]
    credentials: dict[str, Credential]
    ended: float | None = None
    crash: bool = False
    progress: dict[tuple[str, str], int] = field(default_factory=dict)  # (source arn, topic) -> next offset
    last_sync: dict[tuple[str, str], int] = field(default_factory=dict)  # downstream offset of this run's last sync
    advanced_to: float = 0.0
    problem: str | None = None


@dataclass
class Service:
    name: str
    unit: str = ""
    enabled: bool = False
    runs: list[Run] = field(default_factory=list)
    broken: bool = False  # dies at every start (break_mm2)
    journal: list[tuple[float, str]] = field(default_factory=list)
    restarts: int = 0  # starts requested by systemctl start/restart
    # the offset-syncs topic (on the source cluster): every run's syncs, read by every later run's checkpoints
    syncs: dict[tuple[str, str], list[Sync]] = field(default_factory=dict)

    def state(self, at: float) -> str:
        run = self.runs[-1] if self.runs else None
        if run is None or (run.ended is not None and run.ended <= at):
            if run is not None and run.crash:
                return "failed"
            return "inactive"
        return "active"


@dataclass
class _Fault:
    at: float
    persistent: bool
    applied: bool = False


@dataclass
class Machine:
    account: str
    region: str
    instance_id: str
    files: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, dict[str, Credential]] = field(default_factory=dict)  # path -> alias ("" one) -> cred
    users: set[str] = field(default_factory=set)
    services: dict[str, Service] = field(default_factory=dict)
    faults: list[_Fault] = field(default_factory=list)


@dataclass
class _State:
    clusters: dict[str, Cluster] = field(default_factory=dict)
    machines: dict[tuple[str, str, str], Machine] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


_state = _State()


def reset() -> None:
    global _state
    with _lock:
        _state = _State()


def _machine(account: str, region: str, instance_id: str) -> Machine:
    key = (account, region, instance_id)
    with _lock:
        if key not in _state.machines:
            _state.machines[key] = Machine(account, region, instance_id)
        return _state.machines[key]


def _find_machine(instance_id: str) -> Machine:
    with _lock:
        for machine in _state.machines.values():
            if machine.instance_id == instance_id:
                return machine
    raise KeyError(f"no emulated machine {instance_id}")


def _log(kind: str, **details: Any) -> None:
    with _lock:
        _state.history.append({"kind": kind, "at": clock.now(), **details})


# -- test hooks and inspection ----------------------------------------------------------------------------


def history() -> list[dict[str, Any]]:
    """What happened, in order: produce, consume, commit, service start/stop/kill, replicate, sync..."""
    with _lock:
        return [dict(h) for h in _state.history]


def service_status(instance_id: str, name: str = SERVICE) -> dict[str, Any]:
    """The service as ``systemctl`` would show it: state, enabled, its configuration, runs and journal."""
    machine = _find_machine(instance_id)
    now = clock.current().latest()
    with _lock:
        _advance_all(now)
    service = machine.services.get(name)
    if service is None:
        return {"state": "not-found", "enabled": False, "runs": [], "journal": [], "config": {}}
    return {
        "state": service.state(now),
        "enabled": service.enabled,
        "starts": service.restarts,
        "config": dict(service.runs[-1].config) if service.runs else {},
        "runs": [{"started": r.started, "ended": r.ended, "crash": r.crash} for r in service.runs],
        "journal": [line for _, line in service.journal],
    }


def machine_file(instance_id: str, path: str) -> str | None:
    return _find_machine(instance_id).files.get(path)


def kill_mm2(instance_id: str, at: float | None = None) -> None:
    """SIGKILL MirrorMaker 2 at emulated time ``at`` (now): with Restart=on-failure systemd starts it again
    RestartSec later (systemd.service(5))."""
    _machine_of(instance_id).faults.append(_Fault(clock.now() if at is None else at, persistent=False))


def break_mm2(instance_id: str, at: float | None = None) -> None:
    """From ``at`` (now) on, MirrorMaker 2 dies at every start: systemd restarts it until StartLimitBurst and
    then leaves the unit ``failed`` (systemd.unit(5), start-limit-hit)."""
    _machine_of(instance_id).faults.append(_Fault(clock.now() if at is None else at, persistent=True))


def _machine_of(instance_id: str) -> Machine:
    from moto.ec2.models import ec2_backends

    for account, regions in ec2_backends.items():
        for region, backend in regions.items():
            if any(i.id == instance_id for i in backend.all_instances()):
                return _machine(account, region, instance_id)
    raise KeyError(f"no EC2 instance {instance_id}")


def _apply_faults(machine: Machine, until: float) -> None:
    """The kills due by ``until`` end the run they hit; systemd restarts it unless it dies at every start."""
    service = machine.services.get(SERVICE)
    if service is None:
        return
    for fault in sorted(machine.faults, key=lambda f: f.at):
        if fault.applied or fault.at > until:
            continue
        run = next((r for r in service.runs if r.started <= fault.at and (r.ended is None or r.ended > fault.at)), None)
        if run is None:
            if fault.persistent:
                service.broken, fault.applied = True, True
            continue
        fault.applied = True
        if fault.persistent:
            service.broken = True
            _end_run(machine, service, fault.at, crash=True, why="Main process exited, code=killed, status=9/KILL")
            _start_run(machine, service, fault.at + _restart_seconds(service), by="systemd (Restart=on-failure)")
        else:
            _end_run(machine, service, fault.at, crash=True, why="Main process exited, code=killed, status=9/KILL")
            _start_run(machine, service, fault.at + _restart_seconds(service), by="systemd (Restart=on-failure)")


def hold_group_active(cluster_arn: str, group: str, start: float, end: float) -> None:
    """A consumer of ``group`` is active on the cluster from ``start`` to ``end`` (emulated seconds)."""
    with _lock:
        cluster = _cluster_by_arn(cluster_arn)
        cluster.groups.setdefault(group, Group(created_at=start)).active.append((start, end))


def topic_records(cluster_arn: str, topic: str) -> list[dict[str, Any]]:
    with _lock:
        found = _cluster_by_arn(cluster_arn).topics.get(topic)
        return [vars(r).copy() for r in found.records] if found else []


def topics(cluster_arn: str) -> dict[str, dict[str, Any]]:
    with _lock:
        return {
            name: {"partitions": t.partitions, "timestampType": t.timestamp_type, "records": len(t.records)}
            for name, t in _cluster_by_arn(cluster_arn).topics.items()
        }


def group_offset(cluster_arn: str, group: str, topic: str, at: float | None = None) -> int | None:
    """The group's committed offset on the cluster at ``at`` (now), MirrorMaker 2's syncs included."""
    when = clock.current().latest() if at is None else at
    with _lock:
        _advance_all(when)
        return _target_offset(_cluster_by_arn(cluster_arn), group, topic, when)


# -- clusters, brokers, credentials -----------------------------------------------------------------------


def _cluster_by_arn(arn: str) -> Cluster:
    with _lock:
        if arn not in _state.clusters:
            region = arn.split(":")[3]
            _state.clusters[arn] = Cluster(arn, region)
        return _state.clusters[arn]


def _msk_cluster(account: str, host: str) -> Any:
    """The moto cluster a broker host name belongs to (msk.py's names), or None."""
    from moto.kafka.models import kafka_backends

    from msk_pair.emulator import msk

    m = re.match(r"^b-\d+\.(?P<name>[A-Za-z0-9-]+)\.(?P<id>[a-z0-9]+)\.c2\.kafka\.(?P<region>[a-z0-9-]+)\.", host)
    if not m:
        return None
    try:
        clusters = list(kafka_backends[account][m["region"]].clusters.values())
    except KeyError:
        return None
    return next((c for c in clusters if c.cluster_name == m["name"] and msk.short_id(c) == m["id"]), None)


def _connect(machine: Machine, bootstrap: str, cred: Credential | None, where: str) -> tuple[Cluster | None, str]:
    """The cluster a client on ``machine`` reaches with this bootstrap string and credentials, or why not."""
    brokers = [b for b in bootstrap.split(",") if b]
    if not brokers:
        return None, "no bootstrap servers"
    unreachable = []
    for broker in brokers:
        result = network_path.check(machine.account, machine.region, machine.instance_id, broker)
        if not result.reachable:
            unreachable.append(f"{EMULATOR}: cannot reach {broker} from {machine.instance_id}: {result.reason}")
    if unreachable:
        return None, "\n".join([f"Error: {NODE_TIMEOUT}", *unreachable])
    cluster = _msk_cluster(machine.account, brokers[0].rsplit(":", 1)[0])
    if cluster is None:
        return None, f"{EMULATOR}: {brokers[0]} is not a broker of an emulated MSK cluster"
    if cred is None:
        return None, f"java.nio.file.NoSuchFileException: {where}"
    if cred.problem:
        return None, f"{SCRAM_FAILURE}\n{EMULATOR}: {where} has no credentials: {cred.problem}"
    associated = _associated(cluster)
    if cred.secret_arn not in associated:
        return None, (
            f"{SCRAM_FAILURE}\n{EMULATOR}: the credentials in {where} are those of {cred.secret_arn}, "
            f"which is not associated with {cluster.arn} (associated: {', '.join(associated) or 'none'})"
        )
    return _cluster_by_arn(cluster.arn), ""


def _tool_credential(machine: Machine, path: str) -> Credential | None:
    return machine.credentials.get(path, {}).get("") if path in machine.files else None


def _associated(cluster: Any) -> list[str]:
    from msk_pair.emulator import msk

    return list(cluster.__dict__.get(msk._SECRETS) or [])


def _read_secret_problem(machine: Machine, secret_arn: str, secret_region: str) -> str | None:
    """Why the instance could not read the secret on AWS (its role's policies and boundary), or None."""
    from moto.ec2.models import ec2_backends
    from moto.iam.models import iam_backends
    from moto.secretsmanager.models import secretsmanager_backends

    from msk_pair.emulator import iam_enforcement as iam

    secrets = secretsmanager_backends[machine.account][secret_region].secrets
    secret = secrets.get(secret_arn)
    if secret is None or getattr(secret, "deleted_date", None):
        return f"ResourceNotFoundException: Secrets Manager can't find the specified secret ({secret_arn})"
    ec2 = ec2_backends[machine.account][machine.region]
    association = ec2.iam_instance_profile_associations.get(machine.instance_id)
    roles = list(association.iam_instance_profile.roles) if association else []
    if not roles:
        return "the instance has no IAM role: Unable to locate credentials"
    role = roles[0]
    backend = iam_backends[machine.account]["aws"]
    docs = [_document(d) for d in role.policies.values()]
    docs += [_document(p) for arn in role.managed_policies if (p := backend.managed_policies.get(arn)) is not None]
    boundary_arn = getattr(role, "permissions_boundary", None)
    if isinstance(boundary_arn, dict):
        boundary_arn = boundary_arn.get("PermissionsBoundaryArn")
    boundary = None
    if boundary_arn:
        policy = backend.managed_policies.get(boundary_arn)
        boundary = [_document(policy)] if policy is not None else []
    key = getattr(secret, "kms_key_id", None)
    requests = [iam.Request("secretsmanager", "GetSecretValue", secret_region, {"SecretId": secret_arn})]
    if key:
        requests.append(
            iam.Request(
                "kms",
                "Decrypt",
                secret_region,
                {"KeyId": key},
                context={"kms:ViaService": [f"secretsmanager.{secret_region}.amazonaws.com"]},
            )
        )
    for req in requests:
        allowed = iam.evaluate(docs, req).allowed and (boundary is None or iam.evaluate(boundary, req).allowed)
        if not allowed:
            return (
                f"AccessDeniedException: {role.arn} is not authorized to perform {req.action} on "
                f"{req.params.get('SecretId') or req.params.get('KeyId')}"
            )
    return None


def _document(policy: Any) -> dict[str, Any]:
    """A policy document: an inline one (text or dict) or a moto managed policy's default version."""
    if isinstance(policy, str):
        return json.loads(policy)
    if isinstance(policy, dict):
        return policy
    version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
    document = version.document
    return json.loads(document) if isinstance(document, str) else document


def observe_success(account: str, region: str, instance_id: str, script: str) -> None:
    """A command that this module does not run ended ``Success``: learn what it wrote that Kafka tools use.

    The client's bootstrap (``mskpair_core.client_machine.bootstrap_script``) writes ``client.properties``
    from the secret ``SECRET_ARN`` of ``REGION`` (its ``python3 - "$SECRET_ARN" "$REGION" <path>`` line).
    """
    variables = _assignments(script)
    for line in _lines(script):
        if not line.text.startswith("python3 - ") or "sasl.jaas.config" not in line.heredoc:
            continue
        words = _split(line.text)
        if len(words) >= 5:
            machine = _machine(account, region, instance_id)
            arn, secret_region, path = (_expand(w, variables) for w in words[2:5])
            problem = _read_secret_problem(machine, arn, secret_region)
            with _lock:
                machine.files[path] = "client properties"
                machine.credentials[path] = {"": Credential(arn, secret_region, problem)}


# -- MirrorMaker 2: runs, replication, offset syncs -------------------------------------------------------


def _restart_seconds(service: Service) -> float:
    m = re.search(r"^RestartSec=(\d+)", service.unit, re.MULTILINE)
    return float(m[1]) if m else 0.1  # systemd.service(5): RestartSec defaults to 100 ms


def _start_run(machine: Machine, service: Service, at: float, by: str) -> None:
    config = parse_properties(machine.files.get(_config_path(service), ""))
    secrets_path = _secrets_path(config)
    creds = machine.credentials.get(secrets_path, {}) if secrets_path else {}
    run = Run(started=at, config=config, credentials=dict(creds), advanced_to=at)
    service.journal.append((at, f"Started {SERVICE}.service ({by})."))
    if service.broken:
        # It dies at once, systemd restarts it until StartLimitBurst: then the unit is failed.
        run.ended, run.crash = at, True
        service.journal.append((at, f"{SERVICE}.service: Main process exited, code=killed, status=9/KILL"))
        service.journal.append(
            (at, f"{SERVICE}.service: Start request repeated too quickly. Failed with result 'start-limit-hit'.")
        )
    service.runs.append(run)
    _log("mm2-start", instance=machine.instance_id, by=by, started=at)


def _end_run(machine: Machine, service: Service, at: float, crash: bool = False, why: str = "stopped") -> None:
    if not service.runs or service.runs[-1].ended is not None:
        return
    run = service.runs[-1]
    _advance_run(machine, service, run, at)
    run.ended, run.crash = at, crash
    service.journal.append((at, f"{SERVICE}.service: {why}"))
    _log("mm2-stop", why=why, ended=at)


def _config_path(service: Service) -> str:
    m = re.search(r"^ExecStart=\S*connect-mirror-maker\.sh\s+(\S+)", service.unit, re.MULTILINE)
    return m[1] if m else ""


def _secrets_path(config: dict[str, str]) -> str | None:
    for value in config.values():
        m = re.search(r"\$\{file:([^:}]+):", value)
        if m:
            return m[1]
    return None


def _patterns(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _selected(config: dict[str, str], name: str, include: str, exclude: str, defaults: tuple[str, str]) -> bool:
    inc = _patterns(config.get(include, defaults[0]))
    exc = _patterns(config.get(exclude, defaults[1]))
    return any(re.fullmatch(p, name) for p in inc) and not any(re.fullmatch(p, name) for p in exc)


TOPIC_DEFAULTS = (".*", r".*[\-\.]internal, .*\.replica, __.*")
GROUP_DEFAULTS = (".*", "console-consumer-.*, connect-.*, __.*")


def _flow(config: dict[str, str]) -> tuple[str, str] | None:
    aliases = _patterns(config.get("clusters", ""))
    for source in aliases:
        for target in aliases:
            if source != target and config.get(f"{source}->{target}.enabled", "").lower() == "true":
                return source, target
    return None


def _remote(config: dict[str, str], source_alias: str, topic: str) -> str:
    policy = config.get("replication.policy.class", "org.apache.kafka.connect.mirror.DefaultReplicationPolicy")
    if policy.endswith(".IdentityReplicationPolicy"):
        return topic
    separator = config.get("replication.policy.separator", ".")
    return f"{source_alias}{separator}{topic}"


def _seconds(config: dict[str, str], key: str, default: float) -> float:
    try:
        return float(config.get(key, default))
    except ValueError:
        return default


def _tick_at_or_after(start: float, every: float, t: float) -> float:
    return start if t <= start else start + math.ceil((t - start) / every) * every


def _run_clusters(machine: Machine, run: Run) -> tuple[tuple[str, Cluster], tuple[str, Cluster]] | str:
    """(source alias, cluster), (target alias, cluster) of a run, or why it cannot replicate now."""
    flow = _flow(run.config)
    if flow is None:
        return "no replication flow enabled (<source>-><target>.enabled = true)"
    ends = []
    for alias in flow:
        bootstrap = run.config.get(f"{alias}.bootstrap.servers", "")
        where = f"{_secrets_path(run.config)} ({alias})"
        cluster, problem = _connect(machine, bootstrap, run.credentials.get(alias), where)
        if cluster is None:
            return f"{alias}: {problem}"
        ends.append((alias, cluster))
    return ends[0], ends[1]


def _instance_gone_at(machine: Machine) -> float | None:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[machine.account][machine.region]
    instance = next((i for i in ec2.all_instances() if i.id == machine.instance_id), None)
    if instance is None:
        return clock.now()
    state = instance._state.name
    if state in ("shutting-down", "terminated", "stopping", "stopped"):
        due = instance.__dict__.get("_strict_due")
        return due[0] if due else clock.now()
    return None


def _advance_all(until: float) -> None:
    for machine in list(_state.machines.values()):
        _apply_faults(machine, until)
        for service in machine.services.values():
            gone = _instance_gone_at(machine)
            if gone is not None and service.runs and service.runs[-1].ended is None:
                _end_run(machine, service, gone, why="the instance is going away")
            for run in service.runs:
                _advance_run(machine, service, run, until)


def _advance_run(machine: Machine, service: Service, run: Run, until: float) -> None:
    """Replicate what run ``run`` replicated up to ``until`` (idempotent; only moves forward)."""
    if run.crash and run.ended == run.started:
        return
    p = profile.active()
    begin = run.started + p.mm2_start
    end = min(until, run.ended if run.ended is not None else until)
    if end <= max(begin, run.advanced_to):
        run.advanced_to = max(run.advanced_to, min(until, end))
        return
    ends = _run_clusters(machine, run)
    if isinstance(ends, str):
        if ends != run.problem:
            run.problem = ends
            first = ends.splitlines()[0]
            service.journal.append((begin, f"ERROR [MirrorMaker] {first}"))
            service.journal += [(begin, line) for line in ends.splitlines()[1:]]
        run.advanced_to = end
        return
    (source_alias, source), (target_alias, target) = ends
    config = run.config
    refresh = _seconds(config, "refresh.topics.interval.seconds", 600)
    # a worker setting: only the target cluster's prefixed key reaches the flow's worker (MirrorMakerConfig
    # .workerConfig: clusterProps(target) and a few top-level prefixes, not offset.flush.interval.ms)
    flush = _seconds(config, f"{target_alias}.offset.flush.interval.ms", 60000) / 1000.0
    for name, topic in sorted(source.topics.items()):
        if not _selected(config, name, "topics", "topics.exclude", TOPIC_DEFAULTS):
            continue
        found_at = _tick_at_or_after(begin, refresh, topic.created_at)
        if found_at > end:
            continue
        remote_name = _remote(config, source_alias, name)
        remote = target.topics.get(remote_name)
        if remote is None:
            remote = Topic(remote_name, topic.partitions, "CreateTime", found_at)
            target.topics[remote_name] = remote
            _log("mm2-create-topic", cluster=target.arn, topic=remote_name)
        key = (source.arn, name)
        position = service_position(service, key)
        syncs = service.syncs.setdefault(key, [])
        for record in topic.records[position:]:
            arrives = max(record.appended_at, found_at, begin) + p.mm2_replication_delay
            if arrives > end:
                break
            copy = remote.append(record.value, record.create_time, arrives)
            _set_position(service, key, record.offset + 1)
            last = run.last_sync.get(key)
            if last is None or copy.offset - (last + 1) >= OFFSET_LAG_MAX:  # PartitionState.update
                syncs.append(Sync(record.offset, copy.offset, arrives))
                run.last_sync[key] = copy.offset
            else:  # delayed until the next offset commit (promoteDelayedOffsetSyncs)
                syncs.append(Sync(record.offset, copy.offset, _tick_at_or_after(begin, flush, arrives)))
            _log("mm2-replicate", source=name, target=remote_name, offset=record.offset, at=arrives)
    run.advanced_to = end


def service_position(service: Service, key: tuple[str, str]) -> int:
    positions = [run.progress.get(key) for run in service.runs if key in run.progress]
    return max(positions) if positions else 0


def _set_position(service: Service, key: tuple[str, str], value: int) -> None:
    service.runs[-1].progress[key] = max(value, service_position(service, key))


def _translate(syncs: list[Sync], upstream: int, at: float) -> int | None:
    usable = [s for s in syncs if s.at <= at and s.upstream <= upstream]
    if not usable:
        return None
    best = max(usable, key=lambda s: s.upstream)
    return best.downstream + (0 if best.upstream == upstream else 1)


def _target_offset(cluster: Cluster, group_name: str, topic: str, at: float) -> int | None:
    """The committed offset of the group on ``cluster`` at ``at``: its own commits and MM2's writes."""
    group = cluster.groups.get(group_name)
    own = [(t, o) for t, o in (group.commits.get(topic, []) if group else []) if t <= at]
    writes = list(own)
    for machine in _state.machines.values():
        for service in machine.services.values():
            for run in service.runs:
                write = _mm2_write(machine, service, run, cluster, group_name, topic, at)
                if write is not None:
                    writes.append(write)
    writes.sort()
    return writes[-1][1] if writes else None


def _mm2_write(
    machine: Machine, service: Service, run: Run, cluster: Cluster, group_name: str, remote_topic: str, at: float
) -> tuple[float, int] | None:
    """The last offset run ``run`` wrote for the group on ``cluster`` by ``at``, as (time, offset)."""
    config = run.config
    if config.get("sync.group.offsets.enabled", "false").lower() != "true":
        return None
    if config.get("emit.checkpoints.enabled", "true").lower() != "true":
        return None
    ends = _run_clusters(machine, run)
    if isinstance(ends, str):
        return None
    (source_alias, source), (_t, target) = ends
    if target.arn != cluster.arn:
        return None
    if not _selected(config, group_name, "groups", "groups.exclude", GROUP_DEFAULTS):
        return None
    source_group = source.groups.get(group_name)
    if source_group is None:
        return None
    topic = next((t for t in source.topics if _remote(config, source_alias, t) == remote_topic), None)
    if topic is None:
        return None
    p = profile.active()
    begin = run.started + p.mm2_start
    stop = min(at, run.ended if run.ended is not None else at)
    every = _seconds(config, "sync.group.offsets.interval.seconds", 60)
    checkpoint = _seconds(config, "emit.checkpoints.interval.seconds", 60)
    refresh = _seconds(config, "refresh.groups.interval.seconds", 600)
    if stop < begin + every:
        return None
    found_at = _tick_at_or_after(begin, refresh, source_group.created_at)
    target_group = cluster.groups.get(group_name)
    tick = begin + math.floor((stop - begin) / every) * every
    while tick >= begin + every and tick >= found_at:
        if target_group is None or not target_group.active_at(tick):
            emitted = begin + math.floor((tick - begin) / checkpoint) * checkpoint
            upstream = source_group.committed(topic, emitted)
            if upstream is None:
                return None
            converted = _translate(service.syncs.get((source.arn, topic), []), upstream, emitted)
            if converted is None or converted < 0:
                return None
            own = target_group.committed(remote_topic, tick) if target_group else None
            if own is not None and own >= converted:
                return None
            return tick, converted
        tick -= every
    return None


# -- tools on the model -----------------------------------------------------------------------------------


def _fmt(record: Record, topic: Topic, options: dict[str, bool]) -> str:
    parts = []
    if options.get("print.timestamp"):
        at = record.appended_at if topic.timestamp_type == "LogAppendTime" else record.create_time
        parts.append(f"{topic.timestamp_type}:{round(at * 1000)}")
    if options.get("print.offset"):
        parts.append(f"Offset:{record.offset}")
    parts.append(record.value)
    return "\t".join(parts)


def _describe_group(cluster: Cluster, group_name: str, at: float) -> tuple[str, str]:
    """kafka-consumer-groups.sh --describe: (stdout, stderr), ConsumerGroupCommand's formats."""
    group = cluster.groups.get(group_name)
    rows = []
    topics_seen = set(group.commits) if group else set()
    for machine in _state.machines.values():
        for service in machine.services.values():
            for run in service.runs:
                for remote in list(cluster.topics):
                    if _mm2_write(machine, service, run, cluster, group_name, remote, at) is not None:
                        topics_seen.add(remote)
    for topic in sorted(topics_seen):
        offset = _target_offset(cluster, group_name, topic, at)
        if offset is None:
            continue
        end = len([r for r in cluster.topics[topic].records if r.appended_at <= at]) if topic in cluster.topics else 0
        rows.append((group_name, topic, "0", str(offset), str(end), str(end - offset), "-", "-", "-"))
    if not rows:
        return f"\nError: Consumer group '{group_name}' does not exist.", ""
    header = (
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = "".join("\n" + " ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows])
    stderr = (
        "" if group is not None and group.active_at(at) else f"\nConsumer group '{group_name}' has no active members."
    )
    return out, stderr


# -- reading the scripts ----------------------------------------------------------------------------------


class ScriptShapeError(ValueError):
    pass


@dataclass
class _Line:
    text: str
    heredoc: str = ""
    quoted: bool = True  # the here-document's delimiter was quoted: no expansion in its body


def _lines(script: str) -> list[_Line]:
    """Statements, one a line: continuation lines joined, here-documents attached, comments dropped."""
    raw = script.splitlines()
    out: list[_Line] = []
    i = 0
    while i < len(raw):
        text = raw[i]
        while text.endswith("\\") and i + 1 < len(raw):
            i += 1
            text = text[:-1].rstrip() + " " + raw[i].strip()
        i += 1
        m = re.search(r"<<-?('?)([A-Z][A-Z0-9_]*)'?\s*$", text)
        body: list[str] = []
        if m:
            while i < len(raw) and raw[i] != m[2]:
                body.append(raw[i])
                i += 1
            i += 1
            text = text[: m.start()].rstrip()
        if text.strip() and not text.strip().startswith("#"):
            out.append(_Line(text.strip(), "\n".join(body) + ("\n" if body else ""), quoted=bool(m and m[1])))
    return out


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text, posix=False)
    except ValueError as exc:
        raise ScriptShapeError(f"cannot read the line {text!r}: {exc}") from None


def _assignments(script: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in _lines(script):
        m = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=('[^']*'|\"[^\"$`]*\"|[^\s'\"$`]+)", line.text)
        if m:
            found[m[1]] = _unquote(m[2])
    return found


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


_VAR = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>%:\*|##\*:|:-[^}]*)?\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
)


def _expand(word: str, env: dict[str, str]) -> str:
    """A word with its quotes removed and $VAR, ${VAR}, ${VAR%:*}, ${VAR##*:}, ${VAR:-x} expanded."""
    if len(word) >= 2 and word.startswith("'") and word.endswith("'"):
        return word[1:-1]

    def var(m: re.Match[str]) -> str:
        name, op = m["name"] or m["plain"], m["op"]
        value = env.get(name, "")
        if op == "%:*":
            return value.rsplit(":", 1)[0]
        if op == "##*:":
            return value.rsplit(":", 1)[-1]
        if op and op.startswith(":-"):
            return value or op[2:]
        return value

    return _VAR.sub(var, word.replace('"', ""))


# -- running a script --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: str
    exit_code: int
    stdout: str
    stderr: str


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


LOOP_POLL_SECONDS = 5.0  # a polling loop's iteration, at the least (the scripts sleep 5 s or wait longer)
MAX_ITERATIONS = 500


@dataclass
class _Script:
    machine: Machine
    t0: float
    now: float
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # written by this script (temporary and .new files)
    staged_credentials: dict[str, dict[str, Credential]] = field(default_factory=dict)
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)
    functions: dict[str, list[_Line]] = field(default_factory=dict)

    def read(self, path: str) -> str:
        return self.files.get(path, self.machine.files.get(path, ""))


HANDLED_TOOLS = ("kafka-console-producer.sh", "kafka-console-consumer.sh", "kafka-consumer-groups.sh")


def handles(script: str) -> bool:
    """Whether this module runs the script: it uses Kafka's clients beyond kafka-topics.sh, or the service."""
    return (
        any(tool in script for tool in HANDLED_TOOLS)
        or re.search(rf"systemctl \S+ (--now )?{SERVICE}", script) is not None
    )


def run_script(account: str, region: str, instance_id: str, script: str, started: float) -> Outcome:
    """Run ``script`` on the model from emulated time ``started``: its status, exit code, stdout and stderr."""
    machine = _machine(account, region, instance_id)
    run = _Script(machine, started, started)
    with _lock:
        try:
            _block(run, _lines(script))
            code = 0
        except _Exit as exc:
            code = exc.code
        except ScriptShapeError as exc:
            run.err.append(f"{EMULATOR}: {exc}")
            code = 1
    out = "\n".join(run.out) + ("\n" if run.out else "")
    err = "\n".join(run.err) + ("\n" if run.err else "")
    return Outcome("Success" if code == 0 else "Failed", code, out, err)


def _end_of(lines: list[_Line], start: int, opener: str, closer: str) -> int:
    depth = 0
    for j in range(start, len(lines)):
        if re.fullmatch(opener, lines[j].text):
            depth += 1
        elif re.fullmatch(closer, lines[j].text):
            depth -= 1
            if depth == 0:
                return j
    raise ScriptShapeError(f"unterminated block from {lines[start].text!r}")


def _block(run: _Script, lines: list[_Line]) -> None:
    i = 0
    while i < len(lines):
        text = lines[i].text
        if m := re.fullmatch(r"([a-z_]+)\(\) \{", text):
            j = _end_of(lines, i, r"[a-z_]+\(\) \{", r"\}")
            run.functions[m[1]] = lines[i + 1 : j]
            i = j + 1
        elif text.startswith("if ") and text.endswith("; then"):
            j = _end_of(lines, i, r"if .*; then", r"fi")
            body = lines[i + 1 : j]
            k = next((n for n, b in enumerate(body) if b.text == "else"), None)
            then, other = (body, []) if k is None else (body[:k], body[k + 1 :])
            _block(run, then if _condition(run, text[3 : -len("; then")]) else other)
            i = j + 1
        elif text.startswith("if ") and text.endswith("; fi"):
            cond, _, rest = text[3 : -len("; fi")].partition("; then ")
            then, _, other = rest.partition("; else ")
            chosen = then if _condition(run, cond) else other
            _block(run, [_Line(part.strip()) for part in chosen.split("; ") if part.strip()])
            i += 1
        elif m := re.fullmatch(r"while (.+); do", text):
            j = _end_of(lines, i, r"(while|for) .*; do", r"done")
            for _ in range(MAX_ITERATIONS):
                if not _condition(run, m[1]):
                    break
                before = run.now
                _block(run, lines[i + 1 : j])
                run.now = max(run.now, before + LOOP_POLL_SECONDS)
            else:
                raise ScriptShapeError(f"the loop {text!r} did not end")
            i = j + 1
        elif m := re.fullmatch(r"for (\w+) in (.+); do", text):
            j = _end_of(lines, i, r"(while|for) .*; do", r"done")
            for value in _for_words(run, m[2]):
                run.env[m[1]] = value
                _block(run, lines[i + 1 : j])
            i = j + 1
        else:
            _statement(run, lines[i])
            i += 1


def _for_words(run: _Script, spec: str) -> list[str]:
    if m := re.fullmatch(r"\$\(echo (\S+) \| tr ',' ' '\)", spec):
        return [w for w in _expand(m[1], run.env).split(",") if w]
    if "$(" in spec:
        raise ScriptShapeError(f"a for list the emulator does not know: {spec!r}")
    return [_expand(w, run.env) for w in _split(spec)]


def _number(value: str) -> int:
    if not re.fullmatch(r"-?\d+", value):
        raise ScriptShapeError(f"not a number: {value!r}")
    return int(value)


def _sync_seconds(run: _Script) -> None:
    run.env["SECONDS"] = str(int(run.now - run.t0))


def _condition(run: _Script, cond: str) -> bool:
    _sync_seconds(run)
    if " || " in cond:
        return any(_condition(run, p.strip()) for p in cond.split(" || "))
    if " && " in cond:
        return all(_condition(run, p.strip()) for p in cond.split(" && "))
    negate = cond.startswith("! ")
    cond = cond[2:] if negate else cond
    if m := re.fullmatch(r"\[ (\S+) (-lt|-gt|-ge|-le|=) (\S+) \]", cond):
        a, b = _expand(m[1], run.env), _expand(m[3], run.env)
        if m[2] == "=":
            result = a == b
        else:
            x, y = _number(a), _number(b)
            result = {"-lt": x < y, "-gt": x > y, "-ge": x >= y, "-le": x <= y}[m[2]]
    elif m := re.fullmatch(r"\[ -f (\S+) \]", cond):
        result = _expand(m[1], run.env) in run.machine.files
    elif m := re.fullmatch(r"id -u (\S+) >/dev/null 2>&1", cond):
        result = m[1] in run.machine.users
    elif m := re.fullmatch(r"systemctl is-active --quiet (\S+)", cond):
        _apply_faults(run.machine, run.now)
        service = run.machine.services.get(m[1])
        result = service is not None and service.state(run.now) == "active"
    elif m := re.fullmatch(r"cmp -s (\S+) (\S+)", cond):
        a, b = _expand(m[1], run.env), _expand(m[2], run.env)
        result = a in run.files and b in run.machine.files and run.files[a] == run.machine.files[b]
    else:
        raise ScriptShapeError(f"a condition the emulator does not know: {cond!r}")
    return not result if negate else result


_SUBSTITUTIONS = {
    "mktemp": re.compile(r"\"\$\(mktemp -d\)\""),
    "count": re.compile(r"\"\$\(grep -c -F -- (\"[^\"]*\") (\S+) \|\| true\)\""),
    "last_offset": re.compile(
        r"\"\$\(grep -F -- (\"[^\"]*\") (\S+) \| cut -f2 \| sed -n 's/\^Offset://p' \| sort -n \| tail -n 1\)\""
    ),
    "group_offset": re.compile(
        r"\"\$\(awk -v t=\"\$TOPIC\" '\$2 == t && \$3 == \"0\" && \$4 ~ /\^\[0-9\]\+\$/ \{print \$4\}' (\S+)"
        r" \| head -n 1\)\""
    ),
    "meminfo": re.compile(r"\"\$\(awk '/\^MemTotal:/ \{print \$2\}' /proc/meminfo\)\""),
    "arith": re.compile(r"\$\(\(([A-Z_0-9 +\-*/]+)\)\)"),
}
MEMORY_KB = 4 * 1024 * 1024  # what /proc/meminfo says: t3.medium's 4 GiB (instance types' memory is not modelled)


def _assign(run: _Script, name: str, value: str) -> None:
    _sync_seconds(run)
    subst = _SUBSTITUTIONS
    if subst["mktemp"].fullmatch(value):
        result = f"/run/msk-pair-emulator/tmp.{next(_ids)}"  # an emulated path: nothing is written
    elif m := subst["count"].fullmatch(value):
        pattern, path = _expand(m[1], run.env), _expand(m[2], run.env)
        result = str(sum(1 for line in run.read(path).splitlines() if pattern in line))
    elif m := subst["last_offset"].fullmatch(value):
        pattern, path = _expand(m[1], run.env), _expand(m[2], run.env)
        offsets = [
            int(cols[1].removeprefix("Offset:"))
            for line in run.read(path).splitlines()
            if pattern in line and len(cols := line.split("\t")) > 2 and cols[1].startswith("Offset:")
        ]
        result = str(max(offsets)) if offsets else ""
    elif m := subst["group_offset"].fullmatch(value):
        topic, path = run.env.get("TOPIC", ""), _expand(m[1], run.env)
        rows = [line.split() for line in run.read(path).splitlines()]
        result = next((c[3] for c in rows if len(c) >= 4 and c[1] == topic and c[2] == "0" and c[3].isdigit()), "")
    elif subst["meminfo"].fullmatch(value):
        result = str(MEMORY_KB)
    elif m := subst["arith"].fullmatch(value):
        expr = re.sub(r"[A-Z_][A-Z0-9_]*", lambda v: str(_number(run.env.get(v[0]) or "0")), m[1])
        if not re.fullmatch(r"[-0-9 +*/]+", expr):
            raise ScriptShapeError(f"arithmetic the emulator does not know: {value}")
        result = str(_arithmetic(ast.parse(expr, mode="eval").body))
    elif "$(" in value or "`" in value:
        raise ScriptShapeError(f"a substitution the emulator does not know: {name}={value}")
    else:
        result = _expand(value, run.env)
    run.env[name] = result


def _arithmetic(node: ast.AST) -> int:
    """Bash integer arithmetic: integers, + - * and / (truncating)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_arithmetic(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        a, b = _arithmetic(node.left), _arithmetic(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        return int(a / b)
    raise ScriptShapeError("arithmetic the emulator does not know")


def _redirects(words: list[str], run: _Script) -> tuple[list[str], dict[str, tuple[str, bool]]]:
    """The words without their redirections, and {fd: (path, append)}; path "&1"/"&2" are the streams."""
    plain: list[str] = []
    targets: dict[str, tuple[str, bool]] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w == "2>&1":
            targets["2"] = targets.get("1", ("&1", False))
        elif w == ">&2":
            targets["1"] = ("&2", False)
        elif m := re.fullmatch(r"(\d?)(>>?)(\S*)", w):
            path = m[3]
            if not path:
                i += 1
                path = words[i]
            targets[m[1] or "1"] = (_expand(path, run.env), m[2] == ">>")
        else:
            plain.append(w)
        i += 1
    return plain, targets


def _emit(run: _Script, text: str, target: tuple[str, bool] | None, stream: str) -> None:
    if not text:
        return
    path = target[0] if target else f"&{stream}"
    if path in ("&1", "&2"):
        (run.out if path == "&1" else run.err).extend(text.rstrip("\n").split("\n"))
    elif path != "/dev/null":
        run.files[path] = (run.files.get(path, "") if target and target[1] else "") + text


def _from(env: dict[str, str]) -> Any:
    def value(m: re.Match[str]) -> str:
        return env.get(m["name"] or m["plain"], m[0])

    return value


def _statement(run: _Script, line: _Line) -> None:
    text = line.text
    if m := re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", text):  # "|| true" inside its $(...) is its own
        _assign(run, m[1], m[2])
        return
    alternatives = text.split(" || ")
    for n, alternative in enumerate(alternatives):
        if alternative == "true":
            return
        code = _simple(run, alternative, line if n == 0 else _Line(alternative))
        if code == 0:
            return
    raise _Exit(code)


def _simple(run: _Script, text: str, line: _Line) -> int:
    """One pipeline; returns its exit status (pipefail: the last failing stage's)."""
    _sync_seconds(run)
    if m := re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(.*)", text):
        _assign(run, m[1], m[2])
        return 0
    if text in run.functions:
        _block(run, run.functions[text])
        return 0
    if text.startswith(("set ", "umask ", "trap ")):
        return 0
    if m := re.fullmatch(r"sleep (\d+)", text):
        run.now += float(m[1])
        return 0
    if m := re.fullmatch(r"exit (\d+)", text):
        raise _Exit(int(m[1]))
    data: str | None = None
    status = 0
    stages = [s.strip() for s in text.split(" | ")]
    for n, stage in enumerate(stages):
        words, targets = _redirects(_split(stage), run)
        if words[:1] == ["timeout"]:
            words = words[2:]
        heredoc = ""
        if n == 0 and line.heredoc:
            heredoc = line.heredoc if line.quoted else _VAR.sub(_from(run.env), line.heredoc)
        out, err, code = _command(run, words, data, heredoc)
        _emit(run, err, targets.get("2"), "2")
        if n == len(stages) - 1:
            _emit(run, out, targets.get("1"), "1")
        elif "1" in targets:
            _emit(run, out, targets["1"], "1")
        data = out
        if code != 0:
            status = code
    return status


# The one awk program the replication scripts run (their topic list), known by its text: another fails as a
# script shape this model does not know.
TOPIC_LIST_PREFIX = "msk-pair topic: "
TOPIC_LIST_AWK = '{ n += length($0) + 1 } NR <= most && n <= budget { print "' + TOPIC_LIST_PREFIX + '" $0 }'


def _command(run: _Script, words: list[str], stdin: str | None, heredoc: str) -> tuple[str, str, int]:
    """(stdout, stderr, exit status) of one command."""
    if not words:
        return "", "", 0
    tool = words[0].rsplit("/", 1)[-1]
    args = [_expand(w, run.env) for w in words[1:]]
    machine = run.machine
    if tool in ("kafka-topics.sh", *HANDLED_TOOLS):
        return _kafka_tool(run, tool, args, stdin)
    if tool == "systemctl":
        return _systemctl(run, args)
    if tool == "echo":
        return " ".join(args) + "\n", "", 0
    if tool == "seq" and len(args) == 4 and args[0] == "-f" and (m := re.fullmatch(r"(.*)%g(.*)", args[1])):
        return "".join(f"{m[1]}{n}{m[2]}\n" for n in range(int(args[2]), int(args[3]) + 1)), "", 0
    if tool == "grep" and args[:2] == ["-F", "--"] and len(args) in (3, 4):
        source = stdin if len(args) == 3 else run.read(args[3])
        found = [line for line in (source or "").splitlines() if args[2] in line]
        return "".join(f"{line}\n" for line in found), "", 0 if found else 1
    if tool == "sed" and len(args) in (1, 2) and (m := re.fullmatch(r"s/\^/(.*)/", args[0])):
        source = stdin if len(args) == 1 else run.read(args[1])
        return "".join(f"{m[1]}{line}\n" for line in (source or "").splitlines()), "", 0
    if tool == "awk" and len(args) == 6 and args[0] == args[2] == "-v" and args[4] == TOPIC_LIST_AWK:
        # the replication scripts' topic list: at most `most` names and `budget` characters (awk(1) semantics:
        # n counts each line and its newline; the lines are printed while both limits hold)
        limits = dict(a.split("=", 1) for a in (args[1], args[3]))
        shown, used = [], 0
        for number, name in enumerate(run.read(args[5]).splitlines(), start=1):
            used += len(name) + 1
            if number <= int(limits["most"]) and used <= int(limits["budget"]):
                shown.append(f"{TOPIC_LIST_PREFIX}{name}\n")
        return "".join(shown), "", 0
    if tool == "head" and args[:1] == ["-n"] and len(args) in (2, 3):
        source = stdin if len(args) == 2 else run.read(args[2])
        return "".join(f"{line}\n" for line in (source or "").splitlines()[: int(args[1])]), "", 0
    if tool == "cat" and not args:
        return heredoc, "", 0
    if tool == "python3" and args[:1] == ["-"]:
        return _python(run, args[1:], heredoc)
    if tool == "useradd":
        machine.users.add(args[-1])
        return "", "", 0
    if tool in ("install", "chown", "chmod"):
        return "", "", 0
    if tool == "rm" and args[:1] == ["-f"]:
        for path in args[1:]:
            run.files.pop(path, None)
        return "", "", 0
    if tool == "mv" and args[:1] == ["-f"] and len(args) == 3:
        new, dest = args[1], args[2]
        if new not in run.files:
            return "", f"mv: cannot stat '{new}': No such file or directory\n", 1
        machine.files[dest] = run.files.pop(new)
        if new in run.staged_credentials:
            machine.credentials[dest] = run.staged_credentials.pop(new)
        return "", "", 0
    if tool == "journalctl" and "-u" in args:
        service = machine.services.get(args[args.index("-u") + 1])
        lines = [text for _, text in (service.journal if service else [])][-20:]
        return "".join(f"{line}\n" for line in lines) or "-- No entries --\n", "", 0
    if tool == "bash" and args[:1] == ["-c"] and (m := re.fullmatch(r"exec 3<>/dev/tcp/(\S+)/(\d+)", args[1])):
        result = network_path.check(machine.account, machine.region, machine.instance_id, f"{m[1]}:{m[2]}")
        if result.reachable:
            return "", "", 0
        return "", f"{EMULATOR}: {m[1]}:{m[2]} from {machine.instance_id}: {result.reason}\n", 1
    raise ScriptShapeError(f"a command the emulator does not know: {' '.join(words)!r}")


def _python(run: _Script, args: list[str], body: str) -> tuple[str, str, int]:
    """The scripts' Secrets Manager readers: MirrorMaker 2's secrets file (path, then alias ARN region...).

    The file would hold the secrets' values: the model keeps only which secret each alias' credentials are.
    """
    if "write the MirrorMaker 2 secrets file" not in body or not args or (len(args) - 1) % 3:
        raise ScriptShapeError("a python3 program the emulator does not know")
    path, rest = args[0], args[1:]
    creds: dict[str, Credential] = {}
    for alias, arn, region in zip(rest[0::3], rest[1::3], rest[2::3], strict=True):
        problem = _read_secret_problem(run.machine, arn, region)
        if problem:
            return "", f"msk-pair: cannot read the {alias} SCRAM secret: {problem}\n", 1
        creds[alias] = Credential(arn, region, None)
    run.files[path] = json.dumps({alias: [c.secret_arn, c.region] for alias, c in sorted(creds.items())})
    run.staged_credentials[path] = creds
    return "", "", 0


def _systemctl(run: _Script, args: list[str]) -> tuple[str, str, int]:
    machine, now = run.machine, run.now
    _apply_faults(machine, now)
    verb = args[0] if args else ""
    if verb == "daemon-reload":  # systemd reads the unit files again
        for path, text in machine.files.items():
            if m := re.fullmatch(r"/etc/systemd/system/(.+)\.service", path):
                machine.services.setdefault(m[1], Service(m[1])).unit = text
        return "", "", 0
    names = [a.removesuffix(".service") for a in args[1:] if not a.startswith("-")]
    if not names:
        raise ScriptShapeError(f"systemctl {' '.join(args)}: no unit")
    name = names[0]
    service = machine.services.get(name)
    known = service is not None and bool(service.unit)
    if verb == "enable":
        if not known:
            return "", f"Failed to enable unit: Unit file {name}.service does not exist.\n", 1
        service.enabled = True
        return "", "", 0
    if verb in ("restart", "start"):
        if not known:
            return "", f"Failed to {verb} {name}.service: Unit {name}.service not found.\n", 5
        if verb == "start" and service.state(now) == "active":
            return "", "", 0
        _end_run(machine, service, now, why="stopped (systemctl restart)")
        service.restarts += 1
        _start_run(machine, service, now, by=f"systemctl {verb}")
        return "", "", 0
    if verb == "disable" and "--now" in args:
        if service is not None:
            service.enabled = False
            _end_run(machine, service, now, why="stopped (systemctl disable --now)")
        return "", "", 0
    if verb in ("is-active", "status"):
        state = service.state(now) if service else "inactive"
        code = 0 if state == "active" else 3
        if verb == "is-active":
            return f"{state}\n", "", code
        journal = [text for _, text in (service.journal if service else [])][-10:]
        lines = [f"● {name}.service", f"     Active: {state}", *journal]
        return "".join(f"{line}\n" for line in lines), "", code
    raise ScriptShapeError(f"systemctl {' '.join(args)}: not a use the emulator knows")


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None


def _properties(args: list[str]) -> dict[str, bool]:
    found = {}
    for i, a in enumerate(args[:-1]):
        if a == "--property":
            key, _, value = args[i + 1].partition("=")
            found[key] = value.lower() == "true"
    return found


def _kafka_tool(run: _Script, tool: str, args: list[str], stdin: str | None) -> tuple[str, str, int]:
    bootstrap = _option(args, "--bootstrap-server")
    config = (
        _option(args, "--command-config") or _option(args, "--consumer.config") or _option(args, "--producer.config")
    )
    if not bootstrap or not config:
        raise ScriptShapeError(f"{tool} without --bootstrap-server and a client configuration file")
    cluster, problem = _connect(run.machine, bootstrap, _tool_credential(run.machine, config), config)
    if cluster is None:
        return "", problem + "\n", 1
    now = run.now
    topic_name = _option(args, "--topic") or ""
    if tool == "kafka-topics.sh":
        if "--list" in args:
            return "".join(f"{name}\n" for name in sorted(cluster.topics)), "", 0
        if "--create" in args and topic_name:
            if topic_name in cluster.topics:
                if "--if-not-exists" in args:
                    return "", "", 0
                return "", f"Error while executing topic command : Topic '{topic_name}' already exists.\n", 1
            configs = dict(args[i + 1].split("=", 1) for i, a in enumerate(args[:-1]) if a == "--config")
            timestamp_type = configs.get("message.timestamp.type", "CreateTime")
            partitions = int(_option(args, "--partitions") or 1)
            cluster.topics[topic_name] = Topic(topic_name, partitions, timestamp_type, now)
            _log("create-topic", cluster=cluster.arn, topic=topic_name)
            return f"Created topic {topic_name}.\n", "", 0
        raise ScriptShapeError(f"kafka-topics.sh {' '.join(args)}: not a use the emulator knows")
    if tool == "kafka-console-producer.sh":
        topic = cluster.topics.get(topic_name)
        if topic is None:  # MSK's default configuration has auto.create.topics.enable=false
            return "", f"{EMULATOR}: topic {topic_name} does not exist on {cluster.arn}\n", 1
        values = (stdin or "").splitlines()
        for n, value in enumerate(values):
            at = now + n * 0.001
            topic.append(value, at, at)
        _log("produce", cluster=cluster.arn, topic=topic_name, records=len(values), at=now)
        return "", "", 0
    if tool == "kafka-console-consumer.sh":
        return _consume(run, cluster, args, topic_name)
    if tool == "kafka-consumer-groups.sh" and "--describe" in args and _option(args, "--group"):
        _advance_all(now)
        out, err = _describe_group(cluster, _option(args, "--group") or "", now)
        return out, err, 0
    raise ScriptShapeError(f"{tool} {' '.join(args)}: not a use the emulator knows")


def _consume(run: _Script, cluster: Cluster, args: list[str], topic_name: str) -> tuple[str, str, int]:
    """kafka-console-consumer.sh: what it prints by the time it stops (--max-messages, or --timeout-ms idle)."""
    start_at = run.now
    idle = float(_option(args, "--timeout-ms") or 0) / 1000.0
    limit = int(_option(args, "--max-messages") or -1)
    topic = cluster.topics.get(topic_name)
    group_name = _option(args, "--group")
    group = cluster.groups.get(group_name) if group_name else None
    _advance_all(start_at + idle)
    position = group.committed(topic_name, start_at) if group else None
    if position is None:
        records = topic.records if topic else []
        position = 0 if "--from-beginning" in args else len([r for r in records if r.appended_at <= start_at])
    # it reads what arrives while it runs: until --max-messages, or until --timeout-ms passes without a record
    taken: list[Record] = []
    end = start_at
    for record in sorted((topic.records if topic else [])[position:], key=lambda r: r.offset):
        if limit >= 0 and len(taken) >= limit:
            break
        arrives = max(record.appended_at, start_at)
        if idle and arrives > end + idle:
            break
        taken.append(record)
        end = arrives
    stopped = end if limit >= 0 and len(taken) >= limit else end + idle
    run.now = max(run.now, stopped)
    options = _properties(args)
    out = "".join(_fmt(r, topic, options) + "\n" for r in taken) if topic else ""
    err = ""
    if not (limit >= 0 and len(taken) >= limit):  # ConsoleConsumer.process: the timeout ends it, logged as ERROR
        err = (
            "ERROR Error processing message, terminating consumer process:  "
            "(org.apache.kafka.tools.consumer.ConsoleConsumer)\norg.apache.kafka.common.errors.TimeoutException\n"
        )
    err += f"Processed a total of {len(taken)} messages\n"
    if group_name:
        g = cluster.groups.setdefault(group_name, Group(created_at=start_at))
        g.active.append((start_at, stopped))
        g.commits.setdefault(topic_name, []).append((stopped, position + len(taken)))
        _log("commit", cluster=cluster.arn, group=group_name, topic=topic_name, offset=position + len(taken))
    _log("consume", cluster=cluster.arn, topic=topic_name, records=len(taken), group=group_name, at=stopped)
    return out, err, 0
