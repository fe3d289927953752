"""Make moto's Amazon MSK (service ``kafka``) behave like MSK where the workflow depends on it.

AWS service: Amazon MSK (service kafka): clusters, their states, SCRAM secret association, bootstrap
  brokers, Kafka versions, in-place updates.
Sources: Amazon MSK API Reference (clusters, kafka-versions, BrokerNodeGroupInfo, the update
  operations) and Developer Guide (quotas, SASL/SCRAM); MSK's error messages as quoted in the
  public reports named with each rule below.

moto 5.2.5 keeps a cluster ``CREATING`` forever, deletes it at once, drops most of what
CreateClusterV2 asks for (client authentication, encryption, monitoring), and has no SCRAM
secret association nor GetBootstrapBrokers. :func:`install` patches moto's classes (no fork,
no edit of site-packages); :func:`uninstall` restores every original. Time is emulated:
durations come from :func:`msk_pair.emulator.profile.active` and "now" from
:func:`msk_pair.emulator.clock.now`; nothing sleeps, states are computed when read.

Rules (what MSK does; "moto:" says what moto 5.2.5 did):

1. ARNs have MSK's shape ``arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>-<n>``
   (moto: ``cluster/<uuid>``), so IAM resource patterns written for AWS match here too.
2. CreateClusterV2 (provisioned) keeps the whole request: broker node group, client
   authentication, encryption, enhanced and open monitoring, logging, configuration; Describe
   and List return them in MSK's shape with MSK's defaults filled in. It refuses what MSK
   refuses: a name already used by a cluster that still exists (``ConflictException``), client
   subnets that do not exist, are fewer than two or share an availability zone, a broker count
   that is not a multiple of the subnet count, security groups that do not exist
   (``BadRequestException``). moto: none of these checks, settings dropped.
3. A cluster is ``CREATING`` for ``profile.cluster_create`` emulated seconds, then ``ACTIVE``
   (or ``FAILED`` with ``StateInfo {Code, Message}`` when a test asked, see
   :func:`fail_next_cluster`). moto: ``CREATING`` forever.
4. DeleteCluster makes it ``DELETING`` for ``profile.cluster_delete`` seconds, then it is gone
   (Describe: ``NotFoundException``). MSK refuses to delete a cluster that is ``CREATING``,
   ``UPDATING``, ``HEALING``, ``MAINTENANCE``, ``REBOOTING_BROKER`` or already ``DELETING``:
   ``BadRequestException: You can't delete cluster in CREATING state.`` (the message AWS returns,
   quoted for DELETING in crossplane-contrib/provider-aws#733; the states from the MSK API reference's
   cluster states and issue 11). ``ACTIVE`` and ``FAILED`` clusters are deletable. A test can hold a
   cluster in one of those states for a while (:func:`hold_cluster`). moto: gone at once, in any
   state; a missing cluster raised a server error.
5. BatchAssociateScramSecret / BatchDisassociateScramSecret / ListScramSecrets (moto: missing).
   A secret is refused, in ``UnprocessedScramSecrets`` with an ``ErrorCode``, unless the
   cluster is ``ACTIVE`` (``InvalidClusterState``), the secret exists, its name starts with
   ``AmazonMSK_`` and it is encrypted with an enabled customer managed KMS key given by key ID
   or ARN (``InvalidSecretArn``: a secret on the default ``aws/secretsmanager`` key cannot be
   used with MSK). Associating a secret twice is a no-op.
6. GetBootstrapBrokers (moto: missing) answers only for an ``ACTIVE`` cluster
   (``BadRequestException`` otherwise), one ``b-<n>.<name>.<id>.c2.kafka.<region>.amazonaws.com``
   per broker, on 9096 for SASL/SCRAM, 9098 for IAM, 9094 for TLS (only when TLS client
   authentication or unauthenticated access is on, as MSK), 9092 for plaintext.
7. Broker network interfaces: creating a cluster creates one ENI per broker in its client
   subnets, with its security groups, so the subnets and groups are in use (with strict_ec2,
   DeleteSubnet gets ``DependencyViolation``). They are removed ``profile.cluster_eni_linger``
   seconds after the cluster is gone, checked lazily at every Kafka and EC2 request.
8. ListKafkaVersions (moto: missing; ``GET /v1/kafka-versions``, paginated with ``maxResults`` and
   ``nextToken``) answers ``[{"version", "status": "ACTIVE" | "DEPRECATED"}]`` (MSK API reference,
   https://docs.aws.amazon.com/msk/1.0/apireference/kafka-versions.html) from :data:`KAFKA_VERSIONS`;
   :func:`set_kafka_version_status` changes one region's list for a test.
9. CreateClusterV2 (provisioned) and CreateCluster refuse a ``KafkaVersion`` that the region does not
   list ``ACTIVE`` (``BadRequestException``, MSK's message "Unsupported KafkaVersion [2.1.0]. Valid
   values: [2.3.1, 2.4.1, 1.1.1, 2.2.1]" as quoted in hashicorp/terraform-provider-aws#14150 and
   aws/aws-cdk#25565). So ``4.0.x`` is refused: Kafka 4 exists on MSK only as ``4.0.x.kraft``.
   moto: any string accepted.
10. CreateClusterV2 (provisioned) and CreateCluster refuse client subnets in an Availability Zone
   whose zone ID is in :data:`UNSUPPORTED_CLIENT_ZONE_IDS` (``BadRequestException``). Source: MSK API
   reference, BrokerNodeGroupInfo.clientSubnets: "Client subnets can't occupy the Availability Zone
   with ID use1-az3." The developer guide says only that the error names the unsupported zones, so
   the message is that sentence after the subnet's name (paraphrased). A zone's ID, not its name,
   decides: names map to different zones per account, so :func:`remap_zone_ids` lets a test give a
   region another name -> ID mapping (moto's fixed one puts use1-az3 at us-east-1e).
11. Describe and List of a KRaft cluster (a ``*.kraft`` version: KRaft mode, "KRaft mode", MSK
   developer guide, metadata-management.html#kraft-intro) carry no ZooKeeper connection strings.
12. In-place updates (moto: all missing): UpdateBrokerCount, UpdateBrokerStorage, UpdateBrokerType,
   UpdateClusterKafkaVersion (MSK API reference, clusters-clusterarn-nodes-count.html, -nodes-storage,
   -nodes-type, -version). Each is refused (``BadRequestException``) unless the cluster is ``ACTIVE``
   ("You can't update a cluster in UPDATING state. ...", paraphrased after rule 4's message; the
   developer guide, msk-cluster-states.html: no update operation until the cluster is ACTIVE again)
   and the caller's ``CurrentVersion`` is the cluster's (:data:`NOT_CURRENT`, MSK's message,
   hashicorp/terraform-provider-aws#25061).
   Versions are strings like ``K3AEGXETSR30VB`` ("Cluster versions aren't simple integers",
   manually-expand-storage.html), one per cluster from its creation. An accepted update answers a
   ``ClusterOperationArn``; the cluster is ``UPDATING`` (Describe: ``ActiveOperationArn``, the old
   settings) for ``profile.cluster_update`` seconds, then ``ACTIVE`` with the new settings and a new
   ``CurrentVersion``; DescribeClusterOperation (``/v1/operations/...``) says ``UPDATE_IN_PROGRESS``,
   then ``UPDATE_COMPLETE`` with ``OperationType``, ``Source``/``TargetClusterInfo`` (as the developer
   guide's example, msk-update-broker-count.html). DeleteCluster is refused while UPDATING (rule 4).
13. UpdateBrokerCount: only more brokers ("a whole number that is greater than the current number of
   brokers in the cluster. It must also be a multiple of the number of Availability Zones",
   msk-update-broker-count.html; MSK's newer broker removal, msk-remove-broker.html, has its own
   preconditions and is not modelled: a decrease is refused), at most :data:`MAX_BROKERS_PER_CLUSTER`
   (limits.html; botocore's max of 15 is not MSK's limit). New brokers get network interfaces at once,
   in the client subnets as at create (rule 7). Messages paraphrased.
14. UpdateBrokerStorage: one item, ``KafkaBrokerNodeId`` ``All``; the same size is refused with MSK's
   "The request does not include any updates to the EBS volumes of the cluster. Verify the request,
   then try again." (cloudposse/terraform-aws-msk-apache-kafka-cluster#99), less than 10 GiB more (a
   decrease included) with MSK's "To update storage, you must increase it by at least 10 GiB."
   (hashicorp/terraform-provider-aws#20327); a target of 100 GiB or less or over 16384 GiB, and a
   second scaling within :data:`STORAGE_COOLDOWN_SECONDS` of the end of the last one, are refused
   (manually-expand-storage.html; messages paraphrased).
15. UpdateBrokerType: Standard types only (MSK's "Unsupported InstanceType specified. Valid values:
   [...]", hashicorp/terraform-provider-aws#35151); never a smaller size ("You can't migrate from a
   larger broker size to a smaller broker size", msk-update-broker-type.html, the size order
   small < large < xlarge < 2xlarge ...); across families only :data:`BROKER_FAMILY_MOVES`.
16. GetCompatibleKafkaVersions (``GET /v1/compatible-kafka-versions``, compatible-kafka-versions.html)
   lists for the cluster's version the newer versions the region lists ``ACTIVE`` (rule 8) in the
   same metadata mode; UpdateClusterKafkaVersion refuses any other target (paraphrased), downgrades
   included ("You can't downgrade", version-upgrades.html). ZooKeeper to KRaft stays refused: the
   developer guide said "You can't upgrade an existing MSK cluster from a ZooKeeper-based Apache Kafka
   version to a newer version that uses or requires KRaft mode"; its newer page zk-to-kraft-migration.html
   allows it from 3.9.x with prerequisites (3 AZs, ZooKeeper access disabled through UpdateConnectivity,
   no kafka.t3.small ...) that this emulator does not model, so it refuses the migration.
17. A test can fail the next update (:func:`fail_next_update`): ``UPDATING`` as usual, then ``ACTIVE``
   with the old settings and the old ``CurrentVersion``, the new brokers' interfaces removed, and the
   operation ``UPDATE_FAILED`` with ``ErrorInfo {ErrorCode, ErrorString}`` (ClusterOperationInfo.ErrorInfo,
   "Describes the error if the operation fails"; the cluster's ``StateInfo`` stays empty: it describes
   a FAILED cluster, not a failed operation).

No new URL route is needed for rules 5, 6 and 12-15: moto's ``/v1/clusters/(?P<clusterArn>.+)$`` route
already matches ``.../scram-secrets``, ``.../bootstrap-brokers``, ``.../nodes/count`` and the others,
and moto picks the operation from botocore's service model; only the response methods were missing.
Rule 8 adds the route ``/v1/kafka-versions``, rules 12 and 16 ``/v1/operations/...`` and
``/v1/compatible-kafka-versions``, to moto's Kafka URL table while installed.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend, Zone
from moto.ec2.responses import EC2Response
from moto.kafka import urls as kafka_urls
from moto.kafka.exceptions import BadRequestException, KafkaException, NotFoundException
from moto.kafka.models import FakeKafkaCluster, KafkaBackend, kafka_backends
from moto.kafka.responses import KafkaResponse
from moto.kms.models import kms_backends
from moto.secretsmanager.models import secretsmanager_backends

from msk_pair.emulator import clock, profile
from msk_pair.emulator.patching import PatchSet

SECRET_PREFIX = "AmazonMSK_"
DEFAULT_SECRETS_KEY_ALIAS = "alias/aws/secretsmanager"
ENI_DESCRIPTION = "Amazon MSK network interface for cluster {arn}"

_lock = threading.RLock()

# Cluster attributes we keep in the moto object's __dict__.
_T_CREATED = "_msk_created_at"
_T_DELETING = "_msk_deleting_at"
_CREATE_SECONDS = "_msk_create_seconds"
_FAILURE = "_msk_failure"
_SECRETS = "_msk_scram_secrets"
_ENIS = "_msk_enis"
_HOLD = "_msk_hold"  # (state, until): a test holds the cluster in a transitional state (rule 4)
_UPDATE = "_msk_update"  # ARN of the update operation in flight, or None (rules 12-16)
_STORAGE_SCALED_AT = "_msk_storage_scaled_at"  # when the last storage scaling finished (rule 14)

# MSK refuses DeleteCluster in these states (rule 4).
NOT_DELETABLE = ("CREATING", "UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER", "DELETING")


class ConflictException(KafkaException):
    def __init__(self, msg: str):
        super().__init__("ConflictException", msg)


# -- what MSK offers (rules 8, 9, 10) -------------------------------------------------------------

KAFKA_VERSIONS: dict[str, str] = {
    **dict.fromkeys(("1.1.1", "2.1.0", "2.4.1"), "DEPRECATED"),
    **dict.fromkeys(
        (
            "2.2.1", "2.3.1", "2.4.1.1", "2.5.1", "2.6.0", "2.6.1", "2.6.2", "2.6.3", "2.7.0", "2.7.1",
            "2.7.2", "2.8.0", "2.8.1", "2.8.2.tiered", "3.1.1", "3.2.0", "3.3.1", "3.3.2", "3.4.0",
            "3.5.1", "3.6.0", "3.7.x", "3.7.x.kraft",
        ),
        "DEPRECATED",
    ),
    **dict.fromkeys(
        ("3.8.x", "3.8.x.kraft", "3.9.x", "3.9.x.kraft", "4.0.x.kraft", "4.1.x.kraft"), "ACTIVE"
    ),
}  # fmt: skip
"""The versions ListKafkaVersions lists in every region, with their status, as of 2026-11.

Strings: "Supported Apache Kafka versions" (MSK developer guide, supported-kafka-versions.html), with
the API spellings ``2.8.2.tiered`` (MSK's own "Valid values" list, aws/aws-cdk#25565) and ``*.kraft``
("KRaft mode", metadata-management.html#kraft-intro; AWS CDK aws-msk-alpha ``KafkaVersion``: 3.7.x
to 3.9.x in both modes, 4.0.x and 4.1.x in KRaft mode only). ``DEPRECATED``: 1.1.1, 2.1.0 and 2.4.1
(CDK: "Deprecated by Amazon MSK. You can't create a Kafka cluster with a deprecated version."), and,
an assumption of this model, every version whose end of support date has passed by 2026-11 (MSK
"phases out support for creating new clusters" on them; the page gives no status). Not modelled:
4.2.x.kraft, which MSK offers on Express brokers only (the emulator makes Standard brokers).
"""

UNSUPPORTED_CLIENT_ZONE_IDS: frozenset[str] = frozenset({"use1-az3"})
"""Zone IDs where MSK refuses client subnets: MSK API reference, BrokerNodeGroupInfo.clientSubnets
(https://docs.aws.amazon.com/msk/1.0/apireference/clusters.html#clusters-model-brokernodegroupinfo)."""

_version_overrides: dict[str, dict[str, str | None]] = {}  # region -> version -> status (None: not listed)
_saved_zones: dict[str, list[Zone]] = {}  # region -> moto's own zone list, while remapped


def set_kafka_version_status(region: str, version: str, status: str | None) -> None:
    """Make ListKafkaVersions in ``region`` list ``version`` as ``status`` (``ACTIVE``/``DEPRECATED``),
    or not at all (None). Creates follow it too (rule 9). Undone by :func:`reset`."""
    if status not in (None, "ACTIVE", "DEPRECATED"):
        raise ValueError(f"status must be ACTIVE, DEPRECATED or None, got {status!r}")
    with _lock:
        _version_overrides.setdefault(region, {})[version] = status


def kafka_versions(region: str) -> dict[str, str]:
    """What ListKafkaVersions lists in ``region``: version -> status."""
    with _lock:
        listed = dict(KAFKA_VERSIONS)
        for version, status in _version_overrides.get(region, {}).items():
            if status is None:
                listed.pop(version, None)
            else:
                listed[version] = status
        return listed


def remap_zone_ids(region: str, zone_ids: dict[str, str]) -> None:
    """Give zones of ``region`` other zone IDs (zone name -> zone ID), as another account would see them.

    DescribeAvailabilityZones and subnets made from now on carry the new IDs. Undone by :func:`reset`.
    """
    with _lock:
        current = RegionsAndZonesBackend.zones[region]
        _saved_zones.setdefault(region, current)
        unknown = set(zone_ids) - {z.name for z in current}
        if unknown:
            raise ValueError(f"no such zone in {region}: {sorted(unknown)}")
        RegionsAndZonesBackend.zones[region] = [
            Zone(name=z.name, region_name=z.region_name, zone_id=zone_ids.get(z.name, z.zone_id), zone_type=z.zone_type)
            for z in current
        ]


def _restore_zones() -> None:
    for region, zones in _saved_zones.items():
        RegionsAndZonesBackend.zones[region] = zones
    _saved_zones.clear()


# -- test hooks -----------------------------------------------------------------------------------


@dataclass
class _Plan:
    region: str | None
    name: str | None
    fail: tuple[str, str] | None  # (Code, Message) of StateInfo, or None
    create_seconds: float | None


_plans: list[_Plan] = []
_pending_eni_removals: list[tuple[float, str, str, list[str]]] = []  # (due, account, region, eni ids)


def fail_next_cluster(
    region: str | None = None,
    *,
    name: str | None = None,
    code: str = "InternalFailure",
    message: str = "Amazon MSK could not create the cluster (failure injected by the emulator)",
) -> None:
    """Make the next cluster created (in ``region`` / with ``name``, if given) end ``FAILED``.

    It is ``CREATING`` for the usual ``cluster_create`` seconds, then ``FAILED`` with
    ``StateInfo {"Code": code, "Message": message}``. One call affects one cluster.
    """
    with _lock:
        _plans.append(_Plan(region, name, (code, message), None))


def slow_next_cluster(seconds: float, region: str | None = None, *, name: str | None = None) -> None:
    """Make the next cluster created (in ``region`` / with ``name``) stay ``CREATING`` for ``seconds``."""
    with _lock:
        _plans.append(_Plan(region, name, None, float(seconds)))


def hold_cluster(cluster_arn: str, state: str, seconds: float) -> None:
    """Put an existing (ACTIVE) cluster in ``state`` (HEALING, MAINTENANCE, REBOOTING_BROKER...) for ``seconds``."""
    with _lock:
        for backend in _all_backends():
            cluster = backend.clusters.get(cluster_arn)
            if cluster is not None:
                cluster.__dict__[_HOLD] = (state, clock.now() + float(seconds))
                return
    raise KeyError(f"no cluster {cluster_arn}")


def _all_backends() -> list[KafkaBackend]:
    return [backend for regions in kafka_backends.values() for backend in regions.values()]


def reset() -> None:
    """Forget test plans, pending network interface removals, version overrides, zone remaps and
    update operations."""
    with _lock:
        _plans.clear()
        _update_plans.clear()
        _operations.clear()
        _pending_eni_removals.clear()
        _version_overrides.clear()
        _restore_zones()


def _take_plan(region: str, name: str) -> _Plan | None:
    with _lock:
        for plan in _plans:
            if (plan.region in (None, region)) and (plan.name in (None, name)):
                _plans.remove(plan)
                return plan
    return None


# -- cluster state (rules 3, 4) -------------------------------------------------------------------


def _managed(cluster: FakeKafkaCluster) -> bool:
    return _T_CREATED in cluster.__dict__


def _get_state(cluster: FakeKafkaCluster) -> str:
    """The state at the calling thread's emulated now (kept in ``__dict__["state"]`` too, for moto)."""
    d = cluster.__dict__
    if not _managed(cluster):
        return d.get("state", "CREATING")
    hold = d.get(_HOLD)
    _complete_update(cluster)
    if d.get(_T_DELETING) is not None:
        state = "DELETING"
    elif clock.now() < d[_T_CREATED] + d[_CREATE_SECONDS]:
        state = "CREATING"
    elif d.get(_UPDATE):  # rule 12: an update operation is in flight
        state = "UPDATING"
    elif hold is not None and clock.now() < hold[1]:
        state = hold[0]
    else:
        state = "FAILED" if d.get(_FAILURE) else "ACTIVE"
    d["state"] = state
    return state


def _set_state(cluster: FakeKafkaCluster, value: str) -> None:
    cluster.__dict__["state"] = value


def _gone_at(cluster: FakeKafkaCluster) -> float | None:
    deleting = cluster.__dict__.get(_T_DELETING)
    return None if deleting is None else deleting + profile.active().cluster_delete


def _settle(backend: KafkaBackend) -> KafkaBackend:
    """Remove clusters whose deletion has finished by now; schedule their ENIs' removal."""
    now = clock.now()
    with _lock:
        for arn, cluster in list(backend.clusters.items()):
            _complete_update(cluster)
            gone = _gone_at(cluster)
            if gone is not None and now >= gone:
                _forget(backend, arn, cluster, gone)
        _reap_enis()
    return backend


def _forget(backend: KafkaBackend, arn: str, cluster: FakeKafkaCluster, gone_at: float) -> None:
    backend.clusters.pop(arn, None)
    backend.policies.pop(arn, None)
    backend.tagger.delete_all_tags_for_resource(arn)
    enis = cluster.__dict__.get(_ENIS) or []
    if enis:
        due = gone_at + profile.active().cluster_eni_linger
        _pending_eni_removals.append((due, backend.account_id, backend.region_name, list(enis)))


def _reap_enis() -> None:
    now = clock.now()
    with _lock:
        for item in list(_pending_eni_removals):
            due, account, region, eni_ids = item
            if now < due:
                continue
            ec2 = ec2_backends[account][region]
            for eni_id in eni_ids:
                ec2.enis.pop(eni_id, None)
            _pending_eni_removals.remove(item)


# -- create (rules 1, 2, 7) -----------------------------------------------------------------------


def _generate_arn(cluster: FakeKafkaCluster) -> str:
    kind = "cluster" if cluster.cluster_type == "PROVISIONED" else "serverless-cluster"
    partition = "aws-cn" if cluster.region_name.startswith("cn-") else "aws"
    return (
        f"arn:{partition}:kafka:{cluster.region_name}:{cluster.account_id}:{kind}/"
        f"{cluster.cluster_name}/{cluster.cluster_id}-2"
    )


def short_id(cluster: FakeKafkaCluster) -> str:
    """The 6-character cluster id MSK puts in broker host names."""
    n = int(cluster.cluster_id.replace("-", ""), 16)
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    for _ in range(6):
        n, r = divmod(n, 36)
        out += alphabet[r]
    return out


def broker_interface_ids(cluster: FakeKafkaCluster) -> list[str]:
    """The ids of the network interfaces of the cluster's brokers, broker 1's first (none if not made here)."""
    return list(cluster.__dict__.get(_ENIS) or [])


def _live_clusters(backend: KafkaBackend) -> list[FakeKafkaCluster]:
    return list(_settle(backend).clusters.values())


def _check_provisioned(backend: KafkaBackend, name: str, provisioned: dict[str, Any]) -> list[str]:
    """MSK's checks of a provisioned create; returns the security group ids the brokers use."""
    if any(c.cluster_name == name for c in _live_clusters(backend)):
        raise ConflictException(f"A cluster with name {name} already exists.")
    version = provisioned.get("kafkaVersion")
    listed = kafka_versions(backend.region_name)
    if listed.get(str(version)) != "ACTIVE":  # rule 9
        valid = ", ".join(v for v, status in listed.items() if status == "ACTIVE")
        raise BadRequestException(f"Unsupported KafkaVersion [{version}]. Valid values: [{valid}]")
    group = provisioned.get("brokerNodeGroupInfo") or {}
    subnet_ids = group.get("clientSubnets") or []
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    subnets = []
    for subnet_id in subnet_ids:
        found = [s for s in ec2.describe_subnets() if s.id == subnet_id]
        if not found:
            raise BadRequestException(f"The subnet {subnet_id} does not exist.")
        subnets.append(found[0])
    for subnet in subnets:  # rule 10
        if subnet.availability_zone_id in UNSUPPORTED_CLIENT_ZONE_IDS:
            raise BadRequestException(
                f"The subnet {subnet.id} is in the Availability Zone with ID {subnet.availability_zone_id}. "
                f"Client subnets can't occupy the Availability Zone with ID {subnet.availability_zone_id}."
            )
    if len(subnets) < 2:
        raise BadRequestException("Specify at least two client subnets, in different Availability Zones.")
    zones = [s.availability_zone for s in subnets]
    if len(set(zones)) != len(zones):
        raise BadRequestException("The client subnets must be in different Availability Zones.")
    if len({s.vpc_id for s in subnets}) != 1:
        raise BadRequestException("The client subnets must all be in the same VPC.")
    brokers = int(provisioned.get("numberOfBrokerNodes") or 0)
    if brokers <= 0 or brokers % len(subnets):
        raise BadRequestException(
            f"The number of broker nodes ({brokers}) must be a multiple of the number of client subnets "
            f"({len(subnets)})."
        )
    group_ids = list(group.get("securityGroups") or [])
    for group_id in group_ids:
        sg = ec2.get_security_group_from_id(group_id)
        if sg is None:
            raise BadRequestException(f"The security group {group_id} does not exist.")
        if sg.vpc_id != subnets[0].vpc_id:
            raise BadRequestException(f"The security group {group_id} is not in the VPC of the client subnets.")
    if not group_ids:  # MSK uses the VPC's default security group
        group_ids = [ec2.get_default_security_group(subnets[0].vpc_id).id]
    return group_ids


def _create_enis(backend: KafkaBackend, cluster: FakeKafkaCluster, group_ids: list[str]) -> None:
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    subnet_ids = (cluster.broker_node_group_info or {}).get("clientSubnets") or []
    enis = []
    for i in range(int(cluster.number_of_broker_nodes or 0)):
        subnet = ec2.get_subnet(subnet_ids[i % len(subnet_ids)])
        eni = ec2.create_network_interface(
            subnet, None, group_ids=group_ids, description=ENI_DESCRIPTION.format(arn=cluster.arn)
        )
        enis.append(eni.id)
    cluster.__dict__[_ENIS] = enis


def _adopt(backend: KafkaBackend, arn: str, request: dict[str, Any], group_ids: list[str] | None) -> None:
    """Stamp a cluster that moto just made with its timeline and the settings moto dropped."""
    cluster = backend.clusters[arn]
    now = clock.now()
    plan = _take_plan(backend.region_name, cluster.cluster_name)
    d = cluster.__dict__
    d[_T_CREATED] = now
    d[_T_DELETING] = None
    d[_CREATE_SECONDS] = (
        plan.create_seconds if plan and plan.create_seconds is not None else profile.active().cluster_create
    )
    d[_FAILURE] = plan.fail if plan else None
    d[_SECRETS] = []
    d[_UPDATE] = None
    cluster.current_version = _new_version()  # rule 12: MSK's versions are strings like K3AEGXETSR30VB
    cluster.creation_time = datetime.fromtimestamp(now, tz=UTC).isoformat().replace("+00:00", "Z")
    if cluster.cluster_type == "PROVISIONED":
        cluster.broker_node_group_info = request.get("brokerNodeGroupInfo") or {}
        cluster.client_authentication = request.get("clientAuthentication")
        cluster.encryption_info = request.get("encryptionInfo")
        cluster.enhanced_monitoring = request.get("enhancedMonitoring") or "DEFAULT"
        cluster.open_monitoring = request.get("openMonitoring")
        cluster.logging_info = request.get("loggingInfo")
        cluster.configuration_info = request.get("configurationInfo")
        cluster.__dict__["_msk_request"] = request
        if group_ids is not None:
            _create_enis(backend, cluster, group_ids)


def _create_cluster_v2(
    self: KafkaBackend,
    cluster_name: str,
    tags: dict[str, str] | None,
    provisioned: dict[str, Any] | None,
    serverless: dict[str, Any] | None,
) -> tuple[str, str, str, str]:
    with _lock:
        group_ids = _check_provisioned(self, cluster_name, provisioned) if provisioned else None
        if not provisioned and any(c.cluster_name == cluster_name for c in _live_clusters(self)):
            raise ConflictException(f"A cluster with name {cluster_name} already exists.")
        arn, name, _state, kind = _orig(KafkaBackend, "create_cluster_v2")(
            self, cluster_name=cluster_name, tags=tags, provisioned=provisioned, serverless=serverless
        )
        _adopt(self, arn, provisioned or {}, group_ids)
        return arn, name, self.clusters[arn].state, kind


def _create_cluster(self: KafkaBackend, **kwargs: Any) -> tuple[str, str, str]:
    """CreateCluster (v1): same rules as CreateClusterV2 provisioned."""
    request = {
        "brokerNodeGroupInfo": kwargs.get("broker_node_group_info"),
        "clientAuthentication": kwargs.get("client_authentication"),
        "encryptionInfo": kwargs.get("encryption_info"),
        "enhancedMonitoring": kwargs.get("enhanced_monitoring"),
        "openMonitoring": kwargs.get("open_monitoring"),
        "loggingInfo": kwargs.get("logging_info"),
        "configurationInfo": kwargs.get("configuration_info"),
        "numberOfBrokerNodes": kwargs.get("number_of_broker_nodes"),
        "kafkaVersion": kwargs.get("kafka_version"),
    }
    with _lock:
        group_ids = _check_provisioned(self, kwargs["cluster_name"], request)
        arn, name, _state = _orig(KafkaBackend, "create_cluster")(self, **kwargs)
        _adopt(self, arn, request, group_ids)
        return arn, name, self.clusters[arn].state


# -- describe / list (rule 2) ---------------------------------------------------------------------


def _get_cluster(backend: KafkaBackend, arn: str) -> FakeKafkaCluster:
    cluster = _settle(backend).clusters.get(arn)
    if cluster is None:
        raise NotFoundException(f"The requested resource {arn} doesn't exist.")
    return cluster


def _normalized(cluster: FakeKafkaCluster) -> dict[str, Any]:
    """The provisioned settings as MSK reports them: the request with MSK's defaults filled in."""
    group = dict(cluster.broker_node_group_info or {})
    group.setdefault("brokerAZDistribution", "DEFAULT")
    auth_in = cluster.client_authentication
    if auth_in is None:
        auth = {"unauthenticated": {"enabled": True}}
    else:
        sasl = auth_in.get("sasl") or {}
        auth = {
            "sasl": {
                "scram": {"enabled": bool((sasl.get("scram") or {}).get("enabled"))},
                "iam": {"enabled": bool((sasl.get("iam") or {}).get("enabled"))},
            },
            "tls": {
                "certificateAuthorityArnList": (auth_in.get("tls") or {}).get("certificateAuthorityArnList", []),
                "enabled": bool((auth_in.get("tls") or {}).get("enabled")),
            },
            "unauthenticated": {"enabled": bool((auth_in.get("unauthenticated") or {}).get("enabled"))},
        }
    enc_in = cluster.encryption_info or {}
    partition = cluster.arn.split(":")[1]
    encryption = {
        "encryptionAtRest": enc_in.get("encryptionAtRest")
        or {
            "dataVolumeKMSKeyId": (
                f"arn:{partition}:kms:{cluster.region_name}:{cluster.account_id}:key/"
                f"{cluster.cluster_id[::-1]}"  # stands in for the account's aws/kafka key
            )
        },
        "encryptionInTransit": {
            "clientBroker": (enc_in.get("encryptionInTransit") or {}).get("clientBroker", "TLS"),
            "inCluster": (enc_in.get("encryptionInTransit") or {}).get("inCluster", True),
        },
    }
    prom = (cluster.open_monitoring or {}).get("prometheus") or {}
    monitoring = {
        "prometheus": {
            "jmxExporter": {"enabledInBroker": bool((prom.get("jmxExporter") or {}).get("enabledInBroker"))},
            "nodeExporter": {"enabledInBroker": bool((prom.get("nodeExporter") or {}).get("enabledInBroker"))},
        }
    }
    return {"brokerNodeGroupInfo": group, "clientAuthentication": auth, "encryptionInfo": encryption,
            "openMonitoring": monitoring}  # fmt: skip


def _hosts(cluster: FakeKafkaCluster, prefix: str, count: int, port: int) -> str:
    domain = f"{cluster.cluster_name}.{short_id(cluster)}.c2.kafka.{cluster.region_name}.amazonaws.com"
    return ",".join(f"{prefix}-{i}.{domain}:{port}" for i in range(1, count + 1))


def _info(self: KafkaBackend, cluster: FakeKafkaCluster) -> dict[str, Any]:
    info = _orig(KafkaBackend, "describe_cluster_v2")(self, cluster.arn)
    state = cluster.state
    info["state"] = state
    info.pop("stateInfo", None)
    failure = cluster.__dict__.get(_FAILURE)
    if state == "FAILED" and failure:
        info["stateInfo"] = {"code": failure[0], "message": failure[1]}
    if state in ("CREATING", "DELETING"):
        info["activeOperationArn"] = (
            f"arn:{cluster.arn.split(':')[1]}:kafka:{cluster.region_name}:{cluster.account_id}:"
            f"cluster-operation/{cluster.cluster_name}/{cluster.cluster_id}-2/{cluster.cluster_id[:8]}"
        )
    elif state == "UPDATING":  # rule 12: the update operation in flight
        info["activeOperationArn"] = cluster.__dict__[_UPDATE]
    else:
        info.pop("activeOperationArn", None)
    if cluster.cluster_type == "PROVISIONED" and _managed(cluster):
        provisioned = info["provisioned"]
        provisioned.update(_normalized(cluster))
        if not cluster.logging_info:
            provisioned.pop("loggingInfo", None)
        if not cluster.configuration_info:
            provisioned["currentBrokerSoftwareInfo"] = {"kafkaVersion": cluster.kafka_version}
        if not str(cluster.kafka_version or "").endswith(".kraft"):  # ZooKeeper mode
            provisioned["zookeeperConnectString"] = _hosts(cluster, "z", 3, 2181)
            provisioned["zookeeperConnectStringTls"] = _hosts(cluster, "z", 3, 2182)
        else:  # rule 11: KRaft mode (every 4.x on MSK is x.kraft): no ZooKeeper
            provisioned.pop("zookeeperConnectString", None)
            provisioned.pop("zookeeperConnectStringTls", None)
    return info


def _describe_cluster_v2(self: KafkaBackend, cluster_arn: str) -> dict[str, Any]:
    with _lock:
        return _info(self, _get_cluster(self, cluster_arn))


def _list_clusters_v2(self: KafkaBackend, cluster_name_filter: str | None, cluster_type_filter: str | None) -> Any:
    with _lock:
        out = []
        for cluster in _live_clusters(self):
            if cluster_name_filter and not cluster.cluster_name.startswith(cluster_name_filter):
                continue
            kind = (cluster_type_filter or "ALL").upper()
            if kind != "ALL" and cluster.cluster_type != kind:
                continue
            out.append(_info(self, cluster))
        return out


def _describe_cluster(self: KafkaBackend, cluster_arn: str) -> dict[str, Any]:
    with _lock:
        cluster = _get_cluster(self, cluster_arn)
        info = _orig(KafkaBackend, "describe_cluster")(self, cluster_arn)
        v2 = _info(self, cluster)
        info.update({k: v2[k] for k in ("state", "creationTime") if k in v2})
        info.pop("stateInfo", None)
        if "stateInfo" in v2:
            info["stateInfo"] = v2["stateInfo"]
        if cluster.cluster_type == "PROVISIONED" and _managed(cluster):
            info.update(_normalized(cluster))
        return info


def _list_clusters(self: KafkaBackend, cluster_name_filter: str | None) -> list[dict[str, Any]]:
    with _lock:
        _settle(self)
        return _orig(KafkaBackend, "list_clusters")(self, cluster_name_filter)


# -- delete (rule 4) ------------------------------------------------------------------------------


def _delete_cluster(self: KafkaBackend, cluster_arn: str, current_version: str | None = None) -> tuple[str, str]:
    with _lock:
        cluster = _get_cluster(self, cluster_arn)
        if cluster.state in NOT_DELETABLE:
            raise BadRequestException(f"You can't delete cluster in {cluster.state} state.")
        if current_version and current_version != cluster.current_version:
            raise BadRequestException(
                f"The provided current version {current_version} does not match the cluster's current version."
            )
        if not _managed(cluster):
            return _orig(KafkaBackend, "delete_cluster")(self, cluster_arn, current_version)
        cluster.__dict__[_T_DELETING] = clock.now()
        cluster.__dict__[_SECRETS] = []
        _settle(self)  # a zero cluster_delete means gone at once
        return cluster_arn, "DELETING"


# -- SCRAM secrets (rule 5) -----------------------------------------------------------------------


def _secret_problem(account: str, region: str, secret_arn: str) -> str | None:
    """Why MSK would refuse this secret, or None."""
    secrets = secretsmanager_backends[account][region].secrets
    secret = secrets.get(secret_arn) if secret_arn.startswith("arn:") else None
    if secret is None or getattr(secret, "deleted_date", None):
        return f"The provided secret ARN {secret_arn} does not exist or cannot be used with Amazon MSK."
    if not secret.name.startswith(SECRET_PREFIX):
        return (
            "The provided secret arn cannot be used with Amazon MSK. "
            f"Secret names must have the prefix '{SECRET_PREFIX}'."
        )
    key_id = getattr(secret, "kms_key_id", None)
    default_key = (
        "The provided secret is encrypted with the default AWS managed key (aws/secretsmanager). "
        "Secrets used with Amazon MSK must be encrypted with a customer managed AWS KMS key."
    )
    if not key_id or key_id == DEFAULT_SECRETS_KEY_ALIAS:
        return default_key
    if key_id.startswith("alias/") or ":alias/" in key_id:
        return "The secret's KmsKeyId is an alias; Amazon MSK needs the secret's KMS key as a key ID or key ARN."
    kms = kms_backends[account][region]
    key = kms.keys.get(key_id.rsplit("/", 1)[-1])
    if key is None:
        return f"The KMS key {key_id} of the provided secret does not exist."
    if key.key_manager != "CUSTOMER":
        return default_key
    if key.key_state != "Enabled":
        return f"The KMS key {key_id} of the provided secret is {key.key_state}."
    return None


def _unprocessed(arn: str, code: str, message: str) -> dict[str, str]:
    return {"secretArn": arn, "errorCode": code, "errorMessage": message}


def _cluster_arn_of(response: KafkaResponse) -> str:
    return response.uri_match["clusterArn"]


def _batch_scram(response: KafkaResponse, change: Callable[[KafkaBackend, str, list[str]], dict | None]) -> str:
    """BatchAssociate/BatchDisassociateScramSecret: ``change`` applies one secret, or says why not."""
    backend = response.kafka_backend
    cluster_arn = _cluster_arn_of(response)
    unprocessed = []
    with _lock:
        cluster = _get_cluster(backend, cluster_arn)
        associated: list[str] = cluster.__dict__.setdefault(_SECRETS, [])
        for arn in response._get_param("secretArnList") or []:
            if cluster.state != "ACTIVE":
                refused = _unprocessed(
                    arn, "InvalidClusterState", f"The cluster is {cluster.state}; it must be ACTIVE."
                )
            else:
                refused = change(backend, arn, associated)
            if refused:
                unprocessed.append(refused)
    return json.dumps({"clusterArn": cluster_arn, "unprocessedScramSecrets": unprocessed})


def _associate(backend: KafkaBackend, arn: str, associated: list[str]) -> dict | None:
    problem = _secret_problem(backend.account_id, backend.region_name, arn)
    if problem:
        return _unprocessed(arn, "InvalidSecretArn", problem)
    if arn not in associated:
        associated.append(arn)
    return None


def _disassociate(backend: KafkaBackend, arn: str, associated: list[str]) -> dict | None:
    if arn not in associated:
        return _unprocessed(arn, "SecretNotAssociated", "The secret is not associated with the cluster.")
    associated.remove(arn)
    return None


def _batch_associate_scram_secret(self: KafkaResponse) -> str:
    return _batch_scram(self, _associate)


def _batch_disassociate_scram_secret(self: KafkaResponse) -> str:
    return _batch_scram(self, _disassociate)


def _list_scram_secrets(self: KafkaResponse) -> str:
    backend = self.kafka_backend
    with _lock:
        cluster = _get_cluster(backend, _cluster_arn_of(self))
        return json.dumps({"secretArnList": list(cluster.__dict__.get(_SECRETS) or [])})


# -- bootstrap brokers (rule 6) -------------------------------------------------------------------


def _get_bootstrap_brokers(self: KafkaResponse) -> str:
    backend = self.kafka_backend
    with _lock:
        cluster = _get_cluster(backend, _cluster_arn_of(self))
        state = cluster.state
        if state != "ACTIVE":
            raise BadRequestException(
                f"The request cannot be processed because the cluster is in the {state} state. "
                "Bootstrap brokers are available when the cluster is ACTIVE."
            )
        if cluster.cluster_type != "PROVISIONED":
            raise BadRequestException("Use GetBootstrapBrokers with a provisioned cluster.")
        norm = _normalized(cluster)
        auth, transit = norm["clientAuthentication"], norm["encryptionInfo"]["encryptionInTransit"]["clientBroker"]
        brokers = int(cluster.number_of_broker_nodes or 0)
        tls_ok = transit in ("TLS", "TLS_PLAINTEXT")
        out: dict[str, str] = {}
        unauthenticated = auth.get("unauthenticated", {}).get("enabled", False)
        if transit in ("PLAINTEXT", "TLS_PLAINTEXT") and unauthenticated:
            out["bootstrapBrokerString"] = _hosts(cluster, "b", brokers, 9092)
        if tls_ok and (unauthenticated or auth.get("tls", {}).get("enabled")):
            out["bootstrapBrokerStringTls"] = _hosts(cluster, "b", brokers, 9094)
        if tls_ok and auth.get("sasl", {}).get("scram", {}).get("enabled"):
            out["bootstrapBrokerStringSaslScram"] = _hosts(cluster, "b", brokers, 9096)
        if tls_ok and auth.get("sasl", {}).get("iam", {}).get("enabled"):
            out["bootstrapBrokerStringSaslIam"] = _hosts(cluster, "b", brokers, 9098)
        return json.dumps(out)


# -- Kafka versions (rule 8) ----------------------------------------------------------------------

KAFKA_VERSIONS_ROUTE = "{0}/v1/kafka-versions$"
_DEFAULT_PAGE = 100  # "default maximum 100 results per API call" (MSK API reference, kafka-versions.html)


def _list_kafka_versions(self: KafkaResponse) -> str:
    listed = [{"version": v, "status": status} for v, status in kafka_versions(self.region).items()]
    size = int(self._get_param("maxResults") or _DEFAULT_PAGE)
    start = int(self._get_param("nextToken") or 0)
    if size < 1 or start < 0:
        raise BadRequestException("maxResults must be at least 1 and nextToken a token from a previous call.")
    out: dict[str, Any] = {"kafkaVersions": listed[start : start + size]}
    if start + size < len(listed):
        out["nextToken"] = str(start + size)
    return json.dumps(out)


# -- in-place updates (rules 12-17) -----------------------------------------------------------------

UPDATE_ROUTES = (
    "{0}/v1/compatible-kafka-versions$",  # GetCompatibleKafkaVersions (botocore: GET, ClusterArn in the query)
    "{0}/v1/operations/(?P<clusterOperationArn>.+)$",  # DescribeClusterOperation
)

NOT_CURRENT = "The version of the cluster isn\u2019t current. Check the current version and try again."
"""MSK's words for a stale ``CurrentVersion`` (with its typographic apostrophe), quoted in
hashicorp/terraform-provider-aws#25061."""

MAX_BROKERS_PER_CLUSTER = {"ZOOKEEPER": 30, "KRAFT": 60}
"""Amazon MSK quota, Standard brokers, "Brokers per cluster": 30 for ZooKeeper-based clusters, 60 for
KRaft-based clusters (developer guide, limits.html; adjustable through Service Quotas, not modelled).
botocore's model caps ``TargetNumberOfBrokerNodes`` at 15 (``__integerMin1Max15``, as it does
``NumberOfBrokerNodes`` at create), but boto3 does not check maxima and MSK's own quota is higher."""

STORAGE_MIN_INCREASE_GIB = 10
"""MSK: "To update storage, you must increase it by at least 10 GiB." (hashicorp/terraform-provider-aws#20327)."""
STORAGE_TARGET_ABOVE_GIB, STORAGE_MAX_GIB = 100, 16384
"""Developer guide, "Manual scaling for Standard brokers" (manually-expand-storage.html): the target
"must be a whole number that is greater than 100 GiB. The storage per broker after the update
operation can't exceed 16384 GiB." (limits.html: maximum storage per broker 16384 GiB)."""
STORAGE_COOLDOWN_SECONDS = 6 * 3600.0
"""Same page: "Storage scaling has a cool-down period of at least six hours between events";
msk-update-storage.html: "the cluster requires a cool-down period after every storage scaling event"
(6 to over 24 hours). Counted from the END of the last successful UpdateBrokerStorage: the guide
says the cool-down comes after the scaling event, and an update's event ends when it completes
(from its start would let a second request through earlier than AWS could)."""

_SIZES = ("small", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge")
STANDARD_BROKER_TYPES: tuple[str, ...] = (
    "kafka.t3.small",
    *(f"kafka.m5.{size}" for size in _SIZES[1:]),
    *(f"kafka.m7g.{size}" for size in _SIZES[1:-1]),
)
"""Standard broker sizes ("Amazon MSK broker sizes", developer guide, broker-instance-sizes.html)."""
BROKER_FAMILY_MOVES = frozenset({("t3", "m5"), ("t3", "m7g"), ("m5", "m7g"), ("m7g", "m5")})
"""Developer guide, "Update the Amazon MSK cluster broker size" (msk-update-broker-type.html): "For
Standard brokers, you can update your cluster broker size from M5 or T3 to M7g, T3 to M5, or from M7g
to M5." A size change within a family is the page's main case."""


@dataclass
class _Operation:
    """One update operation, as DescribeClusterOperation reports it (MSK API reference, operations.html)."""

    arn: str
    cluster_arn: str
    kind: str  # OperationType
    start: float
    seconds: float
    source: dict[str, Any]  # SourceClusterInfo (MutableClusterInfo, wire names)
    target: dict[str, Any]  # TargetClusterInfo
    apply: Callable[[FakeKafkaCluster], None]  # what the update does to the cluster when it succeeds
    fail: tuple[str, str] | None  # ErrorInfo (ErrorCode, ErrorString) of a failure injected by a test
    new_enis: list[str]  # network interfaces made for it (new brokers), removed again if it fails
    state: str = "UPDATE_IN_PROGRESS"

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass
class _UpdatePlan:
    cluster_arn: str | None
    region: str | None
    fail: tuple[str, str]


_operations: dict[str, _Operation] = {}  # operation ARN -> operation
_update_plans: list[_UpdatePlan] = []


def fail_next_update(
    cluster_arn: str | None = None,
    *,
    region: str | None = None,
    code: str = "InternalFailure",
    message: str = "Amazon MSK could not update the cluster (failure injected by the emulator)",
) -> None:
    """Make the next update call (on ``cluster_arn`` / in ``region``, if given) fail (rule 17).

    The call is accepted as usual; the cluster is ``UPDATING`` for ``cluster_update`` seconds, then
    ``ACTIVE`` again with its old settings and its old ``CurrentVersion``, and DescribeClusterOperation
    reports ``UPDATE_FAILED`` with ``ErrorInfo {ErrorCode: code, ErrorString: message}``.
    """
    with _lock:
        _update_plans.append(_UpdatePlan(cluster_arn, region, (code, message)))


def _take_update_plan(cluster: FakeKafkaCluster) -> tuple[str, str] | None:
    for plan in _update_plans:
        if plan.cluster_arn in (None, cluster.arn) and plan.region in (None, cluster.region_name):
            _update_plans.remove(plan)
            return plan.fail
    return None


def _new_version(old: str | None = None) -> str:
    """A cluster version as MSK spells them ("Cluster versions aren't simple integers ... An example
    version is KTVPDKIKX0DER", manually-expand-storage.html; K3AEGXETSR30VB, K12V3IB1VIZHHY)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    while True:
        n, out = uuid.uuid4().int, "K"
        for _ in range(13):
            n, r = divmod(n, 36)
            out += alphabet[r]
        if out != old:
            return out


def _complete_update(cluster: FakeKafkaCluster) -> None:
    """Finish the cluster's update operation if its time is up: apply it, or undo it if it fails."""
    arn = cluster.__dict__.get(_UPDATE)
    if not arn:
        return
    with _lock:
        op = _operations.get(arn)
        if op is not None and clock.now() < op.end:
            return
        cluster.__dict__[_UPDATE] = None
        if op is None:  # forgotten by reset(): the cluster stays as it was
            return
        if op.fail:
            op.state = "UPDATE_FAILED"
            ec2 = ec2_backends[cluster.account_id][cluster.region_name]
            for eni_id in op.new_enis:
                ec2.enis.pop(eni_id, None)
            cluster.__dict__[_ENIS] = [e for e in cluster.__dict__.get(_ENIS) or [] if e not in op.new_enis]
            return
        op.apply(cluster)
        cluster.current_version = _new_version(cluster.current_version)
        op.state = "UPDATE_COMPLETE"


def _kafka_mode(version: str) -> str:
    return "KRAFT" if version.endswith(".kraft") else "ZOOKEEPER"


def _version_key(version: str) -> tuple[int, ...]:
    """Order of MSK version strings: 3.9.x > 3.8.x > 2.8.2.tiered > 2.4.1.1 > 2.4.1 ("x": newest patch)."""
    parts = version.removesuffix(".kraft").removesuffix(".tiered").split(".")
    return tuple(10**6 if p == "x" else int(p) if p.isdigit() else -1 for p in parts)


def compatible_kafka_versions(region: str, version: str) -> list[str]:
    """The versions a cluster on ``version`` in ``region`` can be upgraded to in place (rule 16)."""
    return sorted(
        (
            v
            for v, status in kafka_versions(region).items()
            if status == "ACTIVE" and _kafka_mode(v) == _kafka_mode(version) and _version_key(v) > _version_key(version)
        ),
        key=_version_key,
    )


def _updatable(response: KafkaResponse) -> tuple[KafkaBackend, FakeKafkaCluster]:
    """Rule 12: the cluster exists, is provisioned, ACTIVE, and the caller has its current version."""
    backend = response.kafka_backend
    cluster = _get_cluster(backend, _cluster_arn_of(response))
    if cluster.cluster_type != "PROVISIONED":
        raise BadRequestException("This operation is supported only for provisioned clusters.")
    state = cluster.state
    if state != "ACTIVE":
        raise BadRequestException(
            f"You can't update a cluster in {state} state. Wait for the cluster to be ACTIVE, then try again."
        )
    if response._get_param("currentVersion") != cluster.current_version:
        raise BadRequestException(NOT_CURRENT)
    return backend, cluster


def _start_update(
    cluster: FakeKafkaCluster,
    kind: str,
    source: dict[str, Any],
    target: dict[str, Any],
    apply: Callable[[FakeKafkaCluster], None],
    new_enis: list[str] | None = None,
) -> str:
    arn = (
        f"arn:{cluster.arn.split(':')[1]}:kafka:{cluster.region_name}:{cluster.account_id}:"
        f"cluster-operation/{cluster.cluster_name}/{cluster.cluster_id}-2/{uuid.uuid4()}"
    )
    _operations[arn] = _Operation(
        arn=arn,
        cluster_arn=cluster.arn,
        kind=kind,
        start=clock.now(),
        seconds=profile.active().cluster_update,
        source=source,
        target=target,
        apply=apply,
        fail=_take_update_plan(cluster),
        new_enis=list(new_enis or []),
    )
    cluster.__dict__[_UPDATE] = arn
    _complete_update(cluster)  # a zero cluster_update means done at once
    return json.dumps({"clusterArn": cluster.arn, "clusterOperationArn": arn})


def _group(cluster: FakeKafkaCluster) -> dict[str, Any]:
    """A copy of the broker node group to change (never the create request's own dict)."""
    return copy.deepcopy(cluster.broker_node_group_info or {})


def _update_broker_count(self: KafkaResponse) -> str:
    """Rule 13: UpdateBrokerCount, increase only, a multiple of the client subnets, within MSK's quota."""
    with _lock:
        backend, cluster = _updatable(self)
        current = int(cluster.number_of_broker_nodes or 0)
        target = self._get_param("targetNumberOfBrokerNodes")
        if not isinstance(target, int) or target <= current:
            raise BadRequestException(
                f"The target number of broker nodes ({target}) must be greater than the current number of "
                f"broker nodes in the cluster ({current})."
            )
        subnets = (cluster.broker_node_group_info or {}).get("clientSubnets") or []
        if target % max(len(subnets), 1):
            raise BadRequestException(
                f"The target number of broker nodes ({target}) must be a multiple of the number of "
                f"Availability Zones ({len(subnets)})."
            )
        mode = _kafka_mode(str(cluster.kafka_version))
        if target > MAX_BROKERS_PER_CLUSTER[mode]:
            raise BadRequestException(
                f"The target number of broker nodes ({target}) exceeds the quota of "
                f"{MAX_BROKERS_PER_CLUSTER[mode]} brokers per cluster for {mode.lower()}-based clusters."
            )
        new_enis = _add_broker_enis(backend, cluster, current, target)

        def apply(c: FakeKafkaCluster) -> None:
            c.number_of_broker_nodes = target

        return _start_update(
            cluster,
            "INCREASE_BROKER_COUNT",
            {"numberOfBrokerNodes": current},
            {"numberOfBrokerNodes": target},
            apply,
            new_enis,
        )


def _add_broker_enis(backend: KafkaBackend, cluster: FakeKafkaCluster, current: int, target: int) -> list[str]:
    """Rule 7 for the new brokers: one network interface each, in the client subnets, round robin."""
    if not _managed(cluster) or cluster.__dict__.get(_ENIS) is None:
        return []
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    group = cluster.broker_node_group_info or {}
    subnet_ids = group.get("clientSubnets") or []
    group_ids = list(group.get("securityGroups") or [])
    if not group_ids:  # as at create: the VPC's default security group
        group_ids = [ec2.get_default_security_group(ec2.get_subnet(subnet_ids[0]).vpc_id).id]
    made = []
    for i in range(current, target):
        eni = ec2.create_network_interface(
            ec2.get_subnet(subnet_ids[i % len(subnet_ids)]),
            None,
            group_ids=group_ids,
            description=ENI_DESCRIPTION.format(arn=cluster.arn),
        )
        made.append(eni.id)
    cluster.__dict__[_ENIS] = [*cluster.__dict__[_ENIS], *made]
    return made


def _volume_size(cluster: FakeKafkaCluster) -> int | None:
    storage = ((cluster.broker_node_group_info or {}).get("storageInfo") or {}).get("ebsStorageInfo") or {}
    size = storage.get("volumeSize")
    return None if size is None else int(size)


def _update_broker_storage(self: KafkaResponse) -> str:
    """Rule 14: UpdateBrokerStorage, all brokers, at least +10 GiB, above 100 and at most 16384 GiB,
    not within 6 hours of the last storage scaling."""
    with _lock:
        _backend, cluster = _updatable(self)
        infos = self._get_param("targetBrokerEBSVolumeInfo") or []
        if len(infos) != 1 or str(infos[0].get("kafkaBrokerNodeId", "")).upper() != "ALL":
            raise BadRequestException(
                "TargetBrokerEBSVolumeInfo must have one item, with KafkaBrokerNodeId set to the keyword ALL: "
                "the changes apply to all the brokers in the cluster."
            )
        target = infos[0].get("volumeSizeGB")
        current = _volume_size(cluster)
        if target is None or target == current:
            raise BadRequestException(
                "The request does not include any updates to the EBS volumes of the cluster. "
                "Verify the request, then try again."
            )
        if current is not None and target < current + STORAGE_MIN_INCREASE_GIB:
            raise BadRequestException(
                f"To update storage, you must increase it by at least {STORAGE_MIN_INCREASE_GIB} GiB."
            )
        if target <= STORAGE_TARGET_ABOVE_GIB or target > STORAGE_MAX_GIB:
            raise BadRequestException(
                f"The target storage per broker ({target} GiB) must be greater than {STORAGE_TARGET_ABOVE_GIB} GiB "
                f"and can't exceed {STORAGE_MAX_GIB} GiB."
            )
        last = cluster.__dict__.get(_STORAGE_SCALED_AT)
        if last is not None and clock.now() < last + STORAGE_COOLDOWN_SECONDS:
            raise BadRequestException(
                "The cluster is in a storage scaling cool-down period. Storage scaling has a cool-down period "
                "of at least six hours between events. Try again later."
            )

        def apply(c: FakeKafkaCluster) -> None:
            group = _group(c)
            group.setdefault("storageInfo", {}).setdefault("ebsStorageInfo", {})["volumeSize"] = target
            c.broker_node_group_info = group
            c.__dict__[_STORAGE_SCALED_AT] = clock.now()

        volume = [{"kafkaBrokerNodeId": "All", "volumeSizeGB": current}] if current is not None else []
        return _start_update(
            cluster,
            "UPDATE_BROKER_STORAGE",
            {"brokerEBSVolumeInfo": volume},
            {"brokerEBSVolumeInfo": [{"kafkaBrokerNodeId": "All", "volumeSizeGB": target}]},
            apply,
        )


def _broker_size(instance_type: str) -> tuple[str, int]:
    """(family, size rank) of a Standard broker type: kafka.m5.2xlarge -> ("m5", 3)."""
    _, family, size = instance_type.split(".")
    return family, _SIZES.index(size)


def _update_broker_type(self: KafkaResponse) -> str:
    """Rule 15: UpdateBrokerType, Standard types only, the family moves MSK lists, never smaller."""
    with _lock:
        _backend, cluster = _updatable(self)
        current = str((cluster.broker_node_group_info or {}).get("instanceType"))
        target = self._get_param("targetInstanceType")
        if target not in STANDARD_BROKER_TYPES:
            raise BadRequestException(
                f"Unsupported InstanceType specified. Valid values: [{', '.join(sorted(STANDARD_BROKER_TYPES))}]"
            )
        if target == current:
            raise BadRequestException(f"The cluster's brokers are already of type {target}.")
        if current in STANDARD_BROKER_TYPES:
            (from_family, from_size), (to_family, to_size) = _broker_size(current), _broker_size(target)
            if to_size < from_size:
                raise BadRequestException(
                    f"You can't migrate from a larger broker size to a smaller broker size ({current} to {target})."
                )
            if from_family != to_family and (from_family, to_family) not in BROKER_FAMILY_MOVES:
                raise BadRequestException(
                    f"You can't update the broker size from {current} to {target}. For Standard brokers, you can "
                    "update the broker size from M5 or T3 to M7g, T3 to M5, or from M7g to M5."
                )

        def apply(c: FakeKafkaCluster) -> None:
            group = _group(c)
            group["instanceType"] = target
            c.broker_node_group_info = group

        return _start_update(cluster, "UPDATE_BROKER_TYPE", {"instanceType": current}, {"instanceType": target}, apply)


def _update_cluster_kafka_version(self: KafkaResponse) -> str:
    """Rule 16: UpdateClusterKafkaVersion, only to a version GetCompatibleKafkaVersions lists."""
    with _lock:
        _backend, cluster = _updatable(self)
        current = str(cluster.kafka_version)
        target = self._get_param("targetKafkaVersion")
        compatible = compatible_kafka_versions(cluster.region_name, current)
        if target not in compatible:
            raise BadRequestException(
                f"The cluster can't be updated from Apache Kafka version {current} to {target}. "
                f"Compatible target versions: [{', '.join(compatible)}]"
            )
        configuration = self._get_param("configurationInfo")

        def apply(c: FakeKafkaCluster) -> None:
            c.kafka_version = target
            if configuration:
                c.configuration_info = configuration

        target_info: dict[str, Any] = {"kafkaVersion": target}
        if configuration:
            target_info["configurationInfo"] = configuration
        return _start_update(cluster, "UPDATE_CLUSTER_KAFKA_VERSION", {"kafkaVersion": current}, target_info, apply)


def _get_compatible_kafka_versions(self: KafkaResponse) -> str:
    """Rule 16: the cluster's version and its targets; without ClusterArn, every listed version's."""
    backend = self.kafka_backend
    with _lock:
        arn = self._get_param("clusterArn")
        sources = [str(_get_cluster(backend, arn).kafka_version)] if arn else list(kafka_versions(self.region))
        return json.dumps(
            {
                "compatibleKafkaVersions": [
                    {"sourceVersion": v, "targetVersions": compatible_kafka_versions(self.region, v)} for v in sources
                ]
            }
        )


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=UTC).isoformat().replace("+00:00", "Z")


def _describe_cluster_operation(self: KafkaResponse) -> str:
    """DescribeClusterOperation of an update: UPDATE_IN_PROGRESS, then UPDATE_COMPLETE or UPDATE_FAILED."""
    backend = self.kafka_backend  # settles the region: finishes updates whose time is up
    arn = self.uri_match.get("clusterOperationArn") or self._get_param("clusterOperationArn")
    with _lock:
        op = _operations.get(arn)
        if op is None or op.cluster_arn.split(":")[3] != backend.region_name:
            raise NotFoundException(f"The requested resource {arn} doesn't exist.")
        cluster = backend.clusters.get(op.cluster_arn)
        if cluster is not None:
            _complete_update(cluster)
        info: dict[str, Any] = {
            "clusterArn": op.cluster_arn,
            "creationTime": _iso(op.start),
            "operationArn": op.arn,
            "operationState": op.state,
            "operationType": op.kind,
            "sourceClusterInfo": op.source,
            "targetClusterInfo": op.target,
        }
        if op.state != "UPDATE_IN_PROGRESS":
            info["endTime"] = _iso(op.end)
        if op.state == "UPDATE_FAILED" and op.fail:
            info["errorInfo"] = {"errorCode": op.fail[0], "errorString": op.fail[1]}
        return json.dumps({"clusterOperationInfo": info})


def _on_install() -> None:
    reset()
    for route in (KAFKA_VERSIONS_ROUTE, *UPDATE_ROUTES):
        kafka_urls.url_paths[route] = KafkaResponse.dispatch


def _on_uninstall() -> None:
    for route in (KAFKA_VERSIONS_ROUTE, *UPDATE_ROUTES):
        kafka_urls.url_paths.pop(route, None)
    reset()


# -- request hooks --------------------------------------------------------------------------------


def _kafka_backend(self: KafkaResponse) -> KafkaBackend:
    return _settle(kafka_backends[self.current_account][self.region])


def _ec2_call_action(self: EC2Response) -> Any:
    """Every EC2 request first settles the region's clusters and removes interfaces whose linger is over."""
    _settle(kafka_backends[self.current_account][self.region])
    return _orig(EC2Response, "call_action")(self)


# -- install / uninstall --------------------------------------------------------------------------

_patches = PatchSet(
    [
        (FakeKafkaCluster, "state", property(_get_state, _set_state)),
        (FakeKafkaCluster, "_generate_arn", _generate_arn),
        (KafkaBackend, "create_cluster_v2", _create_cluster_v2),
        (KafkaBackend, "create_cluster", _create_cluster),
        (KafkaBackend, "describe_cluster_v2", _describe_cluster_v2),
        (KafkaBackend, "list_clusters_v2", _list_clusters_v2),
        (KafkaBackend, "describe_cluster", _describe_cluster),
        (KafkaBackend, "list_clusters", _list_clusters),
        (KafkaBackend, "delete_cluster", _delete_cluster),
        (KafkaResponse, "kafka_backend", property(_kafka_backend)),
        (KafkaResponse, "batch_associate_scram_secret", _batch_associate_scram_secret),
        (KafkaResponse, "batch_disassociate_scram_secret", _batch_disassociate_scram_secret),
        (KafkaResponse, "list_scram_secrets", _list_scram_secrets),
        (KafkaResponse, "get_bootstrap_brokers", _get_bootstrap_brokers),
        (KafkaResponse, "list_kafka_versions", _list_kafka_versions),
        (KafkaResponse, "update_broker_count", _update_broker_count),
        (KafkaResponse, "update_broker_storage", _update_broker_storage),
        (KafkaResponse, "update_broker_type", _update_broker_type),
        (KafkaResponse, "update_cluster_kafka_version", _update_cluster_kafka_version),
        (KafkaResponse, "get_compatible_kafka_versions", _get_compatible_kafka_versions),
        (KafkaResponse, "describe_cluster_operation", _describe_cluster_operation),
        (EC2Response, "call_action", _ec2_call_action),
    ],
    on_install=_on_install,
    on_uninstall=_on_uninstall,
    lock=_lock,
)
_orig = _patches.original


def installed() -> bool:
    return _patches.installed


def install() -> None:
    """Patch moto to follow the rules above. Idempotent."""
    _patches.install()


def uninstall() -> None:
    """Restore every patched moto attribute and forget test plans. Idempotent.

    Clusters made while installed keep their stored settings; their state reads as stored by moto.
    """
    _patches.uninstall()
