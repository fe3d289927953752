"""The MSK cluster of one region: create, watch, associate the SCRAM secret, read the brokers, delete.

Made as the guide's "Custom create": a provisioned cluster named ``<deployment>-<role>`` with
brokers spread over the three broker subnets and the VPC's default security group, SASL/SCRAM
client authentication (unauthenticated access and IAM off), TLS between clients and brokers and
inside the cluster, enhanced monitoring ``PER_TOPIC_PER_PARTITION``, and Prometheus open
monitoring with both the JMX exporter and the node exporter. MSK takes tens of minutes to
create a cluster and several to delete one; nothing here waits: the state machine polls
:func:`cluster_state` (or DescribeClusterV2 directly) and calls :func:`delete_cluster` again
until it reports nothing remaining.

Errors (see :mod:`mskpair_core.errors`): throttling (``TooManyRequestsException``) and MSK's
5xx errors (``InternalServerErrorException``, ``ServiceUnavailableException``) are ``Transient``
on every call; what else is transient is said per call below.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict

from botocore.exceptions import ClientError

from mskpair_core import catalog
from mskpair_core.aws import client, error_code, translate_errors
from mskpair_core.errors import Conflict, ResourceFailed, Transient
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG, Role, in_scope, tag_dict

LOG = logging.getLogger(__name__)

MSK_TRANSIENT = frozenset({"TooManyRequestsException", "InternalServerErrorException", "ServiceUnavailableException"})

# States in which a cluster is on its way somewhere and a call refused now may succeed later.
IN_TRANSITION = frozenset({"CREATING", "UPDATING", "HEALING", "MAINTENANCE", "REBOOTING_BROKER"})

# States in which MSK refuses DeleteCluster ("BadRequestException: You can't delete cluster in CREATING
# state", and so for the others; MSK API reference, DeleteCluster, and the console's rule that only an
# ACTIVE or FAILED cluster can be deleted). A FAILED cluster is deletable.
NOT_DELETABLE = IN_TRANSITION

# UnprocessedScramSecrets error codes that mean "not yet" rather than "never" (e.g. the emulator's
# InvalidClusterState; on AWS a cluster that is not ACTIVE is also detected by re-reading its state).
ASSOCIATION_NOT_YET = frozenset({"InvalidClusterState", "TooManyRequestsException", "InternalServerError"})


class ClusterRef(TypedDict):
    clusterArn: str
    clusterName: str


def cluster_name(deployment: str, role: Role) -> str:
    return f"{deployment}-{role}"


def _tags_match(tags: dict[str, str] | None, deployment: str, role: Role | None) -> bool:
    tags = tags or {}
    return tags.get(DEPLOYMENT_TAG) == deployment and (role is None or tags.get(ROLE_TAG) == role)


def _list_clusters(kafka: Any, name_prefix: str | None = None) -> list[dict[str, Any]]:
    kwargs = {"ClusterNameFilter": name_prefix} if name_prefix else {}
    out: list[dict[str, Any]] = []
    with translate_errors(transient=MSK_TRANSIENT):
        for page in kafka.get_paginator("list_clusters_v2").paginate(**kwargs):
            out.extend(page.get("ClusterInfoList", []))
    return out


# -- create ---------------------------------------------------------------------------------------


def _create_request(deployment: str, role: Role, network: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    brokers = list(network["subnets"]["brokers"])
    return {
        "ClusterName": cluster_name(deployment, role),
        "Tags": tag_dict(deployment, role),
        "Provisioned": {
            "BrokerNodeGroupInfo": {
                "BrokerAZDistribution": "DEFAULT",
                "ClientSubnets": brokers,
                "InstanceType": config["brokerInstanceType"],
                "SecurityGroups": [network["defaultSecurityGroupId"]],
                "StorageInfo": {"EbsStorageInfo": {"VolumeSize": int(config["brokerStorageGiB"])}},
            },
            "KafkaVersion": config["kafkaVersion"],
            "NumberOfBrokerNodes": len(brokers) * int(config["brokersPerAz"]),
            "ClientAuthentication": {
                "Sasl": {"Scram": {"Enabled": True}, "Iam": {"Enabled": False}},
                "Tls": {"Enabled": False},
                "Unauthenticated": {"Enabled": False},
            },
            "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
            "EnhancedMonitoring": catalog.ENHANCED_MONITORING_LEVEL,
            "OpenMonitoring": {
                "Prometheus": {
                    "JmxExporter": {"EnabledInBroker": True},
                    "NodeExporter": {"EnabledInBroker": True},
                }
            },
        },
    }


def find_cluster(*, deployment: str, role: Role, region: str) -> dict[str, Any] | None:
    """The cluster named ``<deployment>-<role>`` that is not being deleted, or None.

    ListClustersV2's name filter is a prefix: the exact name is matched here. A cluster of that
    name that is someone else's (not tagged with this deployment and role) raises ``Conflict``;
    one that is ``DELETING`` raises ``Conflict`` too (its name is taken until it is gone).
    Any other state is returned, ``FAILED`` included, so the state machine sees it and fails
    rather than a second cluster being made next to it.
    """
    name = cluster_name(deployment, role)
    found = [c for c in _list_clusters(client("kafka", region), name) if c["ClusterName"] == name]
    for info in found:
        if not _tags_match(info.get("Tags"), deployment, role):
            raise Conflict(
                f"an MSK cluster named {name} exists in {region} but is not tagged as deployment {deployment}"
            )
    live = [c for c in found if c["State"] != "DELETING"]
    if live:
        return live[0]
    if found:
        raise Conflict(f"MSK cluster {name} in {region} is still being deleted; run again when it is gone")
    return None


def ensure_cluster(
    *, deployment: str, role: Role, region: str, network: dict[str, Any], config: dict[str, Any]
) -> ClusterRef:
    """Find or create the provisioned cluster of ``deployment``/``role`` in ``region``; returns its ARN and name.

    ``network`` is what :func:`mskpair_core.network.create_network` returned (3 broker subnets,
    the default security group), ``config`` the validated request. Creation returns at once with
    the cluster ``CREATING``. Transient: throttling and 5xx; ``ConflictException`` (another attempt
    created it a moment ago) is resolved by looking it up again.
    """
    existing = find_cluster(deployment=deployment, role=role, region=region)
    if existing is not None:
        return {"clusterArn": existing["ClusterArn"], "clusterName": existing["ClusterName"]}
    kafka = client("kafka", region)
    request = _create_request(deployment, role, network, config)
    try:
        with translate_errors(transient=MSK_TRANSIENT):
            created = kafka.create_cluster_v2(**request)
    except ClientError as exc:
        if error_code(exc) != "ConflictException":
            raise
        existing = find_cluster(deployment=deployment, role=role, region=region)
        if existing is None:
            raise Transient(f"CreateClusterV2: ConflictException for {request['ClusterName']} in {region}") from None
        return {"clusterArn": existing["ClusterArn"], "clusterName": existing["ClusterName"]}
    LOG.info(
        "creating MSK cluster %s (%s, %d x %s, Kafka %s)",
        created["ClusterArn"],
        region,
        request["Provisioned"]["NumberOfBrokerNodes"],
        config["brokerInstanceType"],
        config["kafkaVersion"],
    )
    return {"clusterArn": created["ClusterArn"], "clusterName": created["ClusterName"]}


# -- watch ----------------------------------------------------------------------------------------


def cluster_state(*, region: str, cluster_arn: str) -> dict[str, Any]:
    """``{"state": "CREATING" | "ACTIVE" | "FAILED" | ..., "stateInfo": {"code", "message"}}``.

    ``stateInfo`` is ``{}`` unless MSK gives one (it does for ``FAILED``). Transient: throttling,
    5xx, and ``NotFoundException`` (a cluster created a moment ago may not be visible yet).
    """
    kafka = client("kafka", region)
    with translate_errors(transient=MSK_TRANSIENT | {"NotFoundException"}):
        info = kafka.describe_cluster_v2(ClusterArn=cluster_arn)["ClusterInfo"]
    state_info = info.get("StateInfo") or {}
    return {
        "state": info["State"],
        "stateInfo": {k: state_info[k] for k in ("Code", "Message") if k in state_info},
    }


def pair_state(*, clusters: dict[str, ClusterRef], config: dict[str, Any]) -> dict[str, str]:
    """Both clusters' states in one check (one wait loop for the pair): ``{"state", "primary", "secondary"}``.

    ``state`` is ACTIVE when every cluster is, else CREATING; each role's own state is kept for the loop's
    timeout message. A cluster that ended FAILED raises ``ResourceFailed`` (not retried: rollback) with
    MSK's StateInfo code and message.
    """
    states = {}
    for role, made in clusters.items():
        state = cluster_state(region=config[role]["region"], cluster_arn=made["clusterArn"])
        if state["state"] == "FAILED":
            info = state.get("stateInfo") or {}
            raise ResourceFailed(
                f"{role} cluster {made['clusterName']} ended FAILED: "
                f"{info.get('Code', 'unknown')}: {info.get('Message', '')}"
            )
        states[role] = state["state"]
    both = "ACTIVE" if all(s == "ACTIVE" for s in states.values()) else "CREATING"
    return {"state": both, **states}


def _state_or_none(kafka: Any, cluster_arn: str) -> str | None:
    try:
        with translate_errors(transient=MSK_TRANSIENT):
            return kafka.describe_cluster_v2(ClusterArn=cluster_arn)["ClusterInfo"]["State"]
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            return None
        raise


def _raise_if_not_ready(kafka: Any, cluster_arn: str, what: str) -> None:
    """After a refusal: ``Transient`` if the cluster is on its way to ACTIVE, ``ResourceFailed`` if it failed."""
    state = _state_or_none(kafka, cluster_arn)
    if state in IN_TRANSITION:
        raise Transient(f"{what}: cluster {cluster_arn} is {state}, not ACTIVE yet")
    if state in ("FAILED", "DELETING", None):
        raise ResourceFailed(f"{what}: cluster {cluster_arn} is {state or 'gone'}")


# -- SCRAM secret ---------------------------------------------------------------------------------


def _associated(kafka: Any, cluster_arn: str) -> list[str]:
    out: list[str] = []
    with translate_errors(transient=MSK_TRANSIENT):
        for page in kafka.get_paginator("list_scram_secrets").paginate(ClusterArn=cluster_arn):
            out.extend(page.get("SecretArnList", []))
    return out


def associate_secret(*, region: str, cluster_arn: str, secret_arn: str) -> None:
    """Associate the SCRAM secret with the (ACTIVE) cluster; a secret already associated is fine.

    MSK answers 200 and lists refused secrets in ``UnprocessedScramSecrets``. A refusal while the
    cluster is not ACTIVE yet (or with a "not yet" code) is ``Transient``; any other refusal is
    ``ResourceFailed`` with MSK's ErrorCode and ErrorMessage (which name the secret's ARN, never
    its value). A ``BadRequestException`` for the whole call is classified the same way, by the
    cluster's state.
    """
    kafka = client("kafka", region)
    try:
        if secret_arn in _associated(kafka, cluster_arn):
            return
    except ClientError as exc:
        if error_code(exc) != "BadRequestException":
            raise
        _raise_if_not_ready(kafka, cluster_arn, "ListScramSecrets")
        raise
    try:
        with translate_errors(transient=MSK_TRANSIENT):
            result = kafka.batch_associate_scram_secret(ClusterArn=cluster_arn, SecretArnList=[secret_arn])
    except ClientError as exc:
        if error_code(exc) != "BadRequestException":
            raise
        _raise_if_not_ready(kafka, cluster_arn, "BatchAssociateScramSecret")
        raise
    refused = [u for u in result.get("UnprocessedScramSecrets", []) if u.get("SecretArn", secret_arn) == secret_arn]
    if not refused:
        LOG.info("associated secret %s with cluster %s", secret_arn, cluster_arn)
        return
    code, message = refused[0].get("ErrorCode", ""), refused[0].get("ErrorMessage", "")
    what = f"BatchAssociateScramSecret refused {secret_arn}: {code}: {message}"
    _raise_if_not_ready(kafka, cluster_arn, what)  # the cluster's state decides first
    if code in ASSOCIATION_NOT_YET:
        raise Transient(what)
    raise ResourceFailed(what)


def bootstrap_brokers(*, region: str, cluster_arn: str) -> str:
    """The SASL/SCRAM bootstrap broker string (``b-1...:9096,b-2...:9096,...``) of an ACTIVE cluster.

    Transient: throttling, 5xx, a ``BadRequestException`` while the cluster is still on its way to
    ACTIVE, and an answer without the SASL/SCRAM string.
    """
    kafka = client("kafka", region)
    try:
        with translate_errors(transient=MSK_TRANSIENT):
            result = kafka.get_bootstrap_brokers(ClusterArn=cluster_arn)
    except ClientError as exc:
        if error_code(exc) != "BadRequestException":
            raise
        _raise_if_not_ready(kafka, cluster_arn, "GetBootstrapBrokers")
        raise
    brokers = result.get("BootstrapBrokerStringSaslScram")
    if not brokers:
        raise Transient(f"GetBootstrapBrokers: cluster {cluster_arn} has no SASL/SCRAM bootstrap brokers yet")
    return brokers


# -- in-place updates -----------------------------------------------------------------------------

UPDATE_ORDER = ("brokersPerAz", "brokerStorageGiB", "brokerInstanceType", "kafkaVersion")
"""One MSK update at a time (MSK refuses a second while the cluster is UPDATING), in this order."""


def compatible_versions(*, region: str, cluster_arn: str) -> list[str]:
    """The Kafka versions MSK will upgrade this cluster to (GetCompatibleKafkaVersions, MSK API reference
    compatible-kafka-versions.html). Transient: throttling and 5xx."""
    kafka = client("kafka", region)
    with translate_errors(transient=MSK_TRANSIENT):
        found = kafka.get_compatible_kafka_versions(ClusterArn=cluster_arn)
    targets = {t for item in found.get("CompatibleKafkaVersions", []) for t in item.get("TargetVersions", [])}
    return sorted(targets)


def cluster_settings(info: dict[str, Any]) -> dict[str, Any]:
    """The contract's fields as a cluster has them (ListClustersV2 / DescribeClusterV2 ``ClusterInfo``)."""
    provisioned = info.get("Provisioned", {})
    nodes = provisioned.get("BrokerNodeGroupInfo", {})
    zones = len(nodes.get("ClientSubnets", [])) or catalog.AVAILABILITY_ZONE_COUNT
    return {
        "brokersPerAz": int(provisioned.get("NumberOfBrokerNodes", 0)) // zones,
        "brokerStorageGiB": nodes.get("StorageInfo", {}).get("EbsStorageInfo", {}).get("VolumeSize"),
        "brokerInstanceType": nodes.get("InstanceType"),
        "kafkaVersion": provisioned.get("CurrentBrokerSoftwareInfo", {}).get("KafkaVersion"),
    }


def _start_update(kafka: Any, arn: str, version: str, field: str, target: Any, zones: int) -> None:
    if field == "brokersPerAz":  # MSK API reference, clusters-clusterarn-nodes-count (UpdateBrokerCount)
        kafka.update_broker_count(ClusterArn=arn, CurrentVersion=version, TargetNumberOfBrokerNodes=target * zones)
    elif field == "brokerStorageGiB":  # clusters-clusterarn-nodes-storage (UpdateBrokerStorage)
        kafka.update_broker_storage(
            ClusterArn=arn,
            CurrentVersion=version,
            TargetBrokerEBSVolumeInfo=[{"KafkaBrokerNodeId": "All", "VolumeSizeGB": target}],
        )
    elif field == "brokerInstanceType":  # clusters-clusterarn-nodes-type (UpdateBrokerType)
        kafka.update_broker_type(ClusterArn=arn, CurrentVersion=version, TargetInstanceType=target)
    else:  # clusters-clusterarn-version (UpdateClusterKafkaVersion)
        kafka.update_cluster_kafka_version(ClusterArn=arn, CurrentVersion=version, TargetKafkaVersion=target)


def update_cluster(
    *, deployment: str, role: Role, region: str, config: dict[str, Any], previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One step of bringing the cluster to ``config`` in place; the state machine calls it again after Wait states.

    MSK takes one update at a time, only while ACTIVE, and only from the cluster's ``CurrentVersion``; each
    ends ACTIVE with a new ``CurrentVersion``. So: while an update of ours is under way, wait; when the cluster
    is ACTIVE with a new version and the setting we asked for, go on; start the next needed update (in
    :data:`UPDATE_ORDER`); when nothing differs, done. ``previous`` is this function's last answer.

    Returns ``{"done": bool, "state", "applied": [{"field", "from", "to"}], "pending": {...} | None}``. An
    update that ends without the setting (MSK reverts a failed operation) is ``ResourceFailed``; a refusal
    (the plan let through only what MSK allows, but its six-hour storage cool-down, say) too, with MSK's
    message. Transient: throttling, 5xx, ``ConflictException`` and a refusal while the cluster left ACTIVE.
    """
    kafka = client("kafka", region)
    previous = previous or {}
    applied: list[dict[str, Any]] = list(previous.get("applied") or [])
    pending: dict[str, Any] | None = previous.get("pending")
    found = find_cluster(deployment=deployment, role=role, region=region)
    if found is None:
        raise ResourceFailed(f"the {role} MSK cluster of {deployment} is gone")
    arn, state, version = found["ClusterArn"], found["State"], found.get("CurrentVersion", "")
    now = cluster_settings(found)

    def waiting(pending_now: dict[str, Any] | None) -> dict[str, Any]:
        return {"done": False, "state": state, "applied": applied, "pending": pending_now}

    if state == "FAILED":
        raise ResourceFailed(f"the {role} MSK cluster {found['ClusterName']} is FAILED")
    if pending is not None:
        if state != "ACTIVE":
            return waiting({**pending, "seenUpdating": True})
        if version == pending["fromVersion"]:
            polls = int(pending.get("activePolls", 0)) + 1
            if pending.get("seenUpdating") or polls > 3:
                raise ResourceFailed(
                    f"MSK's update of {pending['field']} on the {role} cluster {found['ClusterName']} ended without "
                    f"changing it (still {now[pending['field']]}; see aws kafka list-cluster-operations-v2)"
                )
            return waiting({**pending, "activePolls": polls})  # not UPDATING yet: MSK takes a moment to start
        if now[pending["field"]] != pending["to"]:
            raise ResourceFailed(
                f"the {role} cluster's {pending['field']} is {now[pending['field']]} after MSK's update to "
                f"{pending['to']}"
            )
        LOG.info(
            "%s: %s is now %s (cluster version %s)", found["ClusterName"], pending["field"], pending["to"], version
        )
    elif state != "ACTIVE":
        return waiting(None)  # another operation (MSK's own maintenance, say): wait until ACTIVE
    for field in UPDATE_ORDER:
        target = config[field]
        if now[field] == target:
            continue
        zones = len(found.get("Provisioned", {}).get("BrokerNodeGroupInfo", {}).get("ClientSubnets", [])) or 3
        try:
            with translate_errors(transient=MSK_TRANSIENT | {"ConflictException"}):
                _start_update(kafka, arn, version, field, target, zones)
        except ClientError as exc:
            if error_code(exc) != "BadRequestException":
                raise
            _raise_if_not_ready(kafka, arn, f"update of {field}")  # left ACTIVE meanwhile: Transient
            message = exc.response.get("Error", {}).get("Message", "")
            raise ResourceFailed(
                f"MSK refused to change {field} of the {role} cluster to {target}: {message}"
            ) from None
        LOG.info("%s: updating %s from %s to %s", found["ClusterName"], field, now[field], target)
        applied.append({"field": field, "from": now[field], "to": target})
        return {
            "done": False,
            "state": "UPDATING",
            "applied": applied,
            "pending": {"field": field, "to": target, "fromVersion": version, "seenUpdating": False},
        }
    return {"done": True, "state": state, "applied": applied, "pending": None}


# -- teardown -------------------------------------------------------------------------------------


def _ours(region: str, deployment: str, role: Role | None, made_by: str | None = None) -> list[dict[str, Any]]:
    return [
        c
        for c in _list_clusters(client("kafka", region))
        if _tags_match(c.get("Tags"), deployment, role) and in_scope(c.get("Tags") or {}, made_by)
    ]


def _disassociate_all(kafka: Any, cluster_arn: str) -> None:
    """Best effort: deleting the cluster drops its associations anyway."""
    secrets = _associated(kafka, cluster_arn)
    if not secrets:
        return
    with translate_errors(transient=MSK_TRANSIENT):
        result = kafka.batch_disassociate_scram_secret(ClusterArn=cluster_arn, SecretArnList=secrets)
    for refused in result.get("UnprocessedScramSecrets", []):
        LOG.warning(
            "could not disassociate %s from %s: %s", refused.get("SecretArn"), cluster_arn, refused.get("ErrorCode")
        )


def delete_cluster(*, deployment: str, role: Role, region: str, made_by: str | None = None) -> dict[str, Any]:
    """Delete this deployment's clusters of ``role`` in ``region`` as far as MSK allows now. Never waits.

    Clusters are found by tags (every cluster of the region is listed). An ACTIVE or FAILED cluster is
    deleted (an ACTIVE one first has its SCRAM secrets disassociated). One that MSK refuses to delete
    now (:data:`NOT_DELETABLE`: CREATING, UPDATING...) is left alone and reported as waiting: the
    state machine removes everything else, then calls again after Wait states until it is deletable.

    Returns ``{"remaining": n, "waiting": {name: state}, "started": bool, "done": bool}``:
    ``remaining`` counts the clusters that still exist (any state); ``started``: none is waiting (each
    is gone or ``DELETING``); ``done``: none remains.

    Transient: throttling, 5xx, ``ConflictException``. A ``NotFoundException`` (gone meanwhile) counts
    as deleted; a ``BadRequestException`` is resolved by the cluster's state read again (``DELETING``
    or gone: done; a state MSK refuses deletion in: waiting). ``made_by``: only a cluster that execution made.
    """
    kafka = client("kafka", region)
    waiting: dict[str, str] = {}
    for info in _ours(region, deployment, role, made_by):
        arn, state = info["ClusterArn"], info["State"]
        if state == "DELETING":
            continue
        if state in NOT_DELETABLE:
            waiting[info["ClusterName"]] = state
            continue
        try:
            if state == "ACTIVE":
                _disassociate_all(kafka, arn)
            with translate_errors(transient=MSK_TRANSIENT | {"ConflictException"}):
                kafka.delete_cluster(ClusterArn=arn)
            LOG.info("deleting MSK cluster %s (was %s)", arn, state)
        except ClientError as exc:
            code = error_code(exc)
            if code == "NotFoundException":
                continue
            if code != "BadRequestException":
                raise
            now = _state_or_none(kafka, arn)
            if now in (None, "DELETING"):
                continue
            if now in NOT_DELETABLE:  # it moved into such a state between our read and the call
                waiting[info["ClusterName"]] = now
                continue
            raise
    remaining = len(_ours(region, deployment, role, made_by))
    if waiting:
        LOG.info("MSK refuses to delete %s now: waiting", waiting)
    return {"remaining": remaining, "waiting": waiting, "started": not waiting, "done": remaining == 0}
