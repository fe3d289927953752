"""The input contract: validate an execution's input and fill in every default.

``validate_request`` is the first state of every execution. It either returns the
normalized config (a plain, JSON-serializable dict with the contract's camelCase
keys, every default filled in, plus the derived availability zones and subnet plan
of each region) or raises ``InvalidInput`` whose message lists each problem as
``<dotted.field>: <what is wrong>``, before any resource is made.

Two passes: pydantic (strict types, ranges, unknown fields), then the checks that
need the catalog, the CIDR arithmetic, the availability zones of each region and the
execution-history budget of the timing (see ``mskpair_core.timing``). In the state machine the
second pass also asks Amazon MSK in both regions whether the Kafka version is ACTIVE there
(``versions_lookup``); offline (``msk-pair validate``) the catalog alone decides.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any, Literal

import boto3
from aws_lambda_powertools.utilities.parser import BaseModel, parse
from pydantic import ConfigDict, Field, ValidationError, field_validator

from mskpair_core import catalog
from mskpair_core.aws import client, translate_errors
from mskpair_core.cluster import MSK_TRANSIENT
from mskpair_core.errors import InvalidInput
from mskpair_core.guard import refuse_concurrent
from mskpair_core.network import Zone, availability_zones
from mskpair_core.subnets import plan_subnets
from mskpair_core.timing import history_problem, loop_limits

AzLookup = Callable[[str], Iterable[Zone]]
"""``region`` -> its available availability zones (name and zone ID): :func:`network.availability_zones`."""
VersionsLookup = Callable[[str], Mapping[str, str]]
"""``region`` -> every Kafka version MSK lists there with its status: :func:`msk_kafka_versions`."""

PROBLEM_SEPARATOR = "; "  # between problems in an InvalidInput message; no problem's text contains it

DEPLOYMENT_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
SCRAM_USERNAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
EC2_INSTANCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")

# IPv4 ranges that cannot be a VPC's address space.
_UNUSABLE_RANGES = tuple(
    ipaddress.ip_network(cidr) for cidr in ("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RegionInput(_Strict):
    region: str = Field(min_length=1)
    vpcCidr: str | None = None  # required in provision mode, checked in the second pass


class TimingInput(_Strict):
    pollSeconds: int = Field(catalog.DEFAULT_POLL_SECONDS, ge=catalog.POLL_SECONDS_MIN, le=catalog.POLL_SECONDS_MAX)
    clusterTimeoutMinutes: int = Field(
        catalog.DEFAULT_CLUSTER_TIMEOUT_MINUTES,
        ge=catalog.CLUSTER_TIMEOUT_MINUTES_MIN,
        le=catalog.CLUSTER_TIMEOUT_MINUTES_MAX,
    )
    clientTimeoutMinutes: int = Field(
        catalog.DEFAULT_CLIENT_TIMEOUT_MINUTES,
        ge=catalog.CLIENT_TIMEOUT_MINUTES_MIN,
        le=catalog.CLIENT_TIMEOUT_MINUTES_MAX,
    )


class ReplicationInput(_Strict):
    """MirrorMaker 2 from the primary to the secondary, run as a service on the secondary client."""

    engine: Literal["mm2", "none"] = catalog.DEFAULT_REPLICATION_ENGINE
    topics: str = Field(catalog.DEFAULT_REPLICATION_TOPICS, min_length=1, max_length=1000)
    groups: str = Field(catalog.DEFAULT_REPLICATION_GROUPS, min_length=1, max_length=1000)
    topicNaming: Literal["prefixed", "identical"] = catalog.DEFAULT_TOPIC_NAMING
    syncGroupOffsets: bool = catalog.DEFAULT_SYNC_GROUP_OFFSETS

    @field_validator("topics", "groups")
    @classmethod
    def _regex_list(cls, value: str) -> str:
        problem = regex_list_problem(value)
        if problem:
            raise ValueError(problem)
        return value


def regex_list_problem(value: str) -> str | None:
    """Why ``value`` cannot be MirrorMaker 2's ``topics``/``groups`` (a comma-separated list of Java regexes), or None.

    MM2 splits the list on commas (ConfigDef.Type.LIST) and compiles each entry as a Java regex; Python's
    ``re`` accepts the same for the usual patterns. Refused as well: line breaks (the value is one line of
    mm2.properties) and ``${`` (Kafka resolves ``${provider:path:key}`` in configuration values through the
    config providers: a value must not read files on the machine).
    """
    if any(c in value for c in "\r\n\0"):
        return "must be one line (no line breaks)"
    if "${" in value:
        return "must not contain '${' (Kafka would read it as a config provider reference)"
    for entry in value.split(","):
        pattern = entry.strip()
        if not pattern:
            return f"has an empty entry in the comma-separated list (got {_show(value)})"
        try:
            re.compile(pattern)
        except re.error as exc:
            return f"{_show(pattern)} is not a valid regex ({exc})"
    return None


class RequestInput(_Strict):
    deploymentName: str
    primary: RegionInput
    secondary: RegionInput
    kafkaVersion: str = catalog.DEFAULT_KAFKA_VERSION
    brokerInstanceType: str = catalog.DEFAULT_BROKER_INSTANCE_TYPE
    brokersPerAz: int = Field(
        catalog.DEFAULT_BROKERS_PER_AZ, ge=catalog.BROKERS_PER_AZ_MIN, le=catalog.BROKERS_PER_AZ_MAX
    )
    brokerStorageGiB: int = Field(
        catalog.DEFAULT_BROKER_STORAGE_GIB, ge=catalog.BROKER_STORAGE_GIB_MIN, le=catalog.BROKER_STORAGE_GIB_MAX
    )
    clientInstanceType: str = catalog.DEFAULT_CLIENT_INSTANCE_TYPE
    scramUsername: str = catalog.DEFAULT_SCRAM_USERNAME
    onFailure: Literal["ROLLBACK", "RETAIN"] = "ROLLBACK"
    timing: TimingInput = Field(default_factory=TimingInput)
    mode: Literal["provision", "teardown"] = "provision"
    replication: ReplicationInput = Field(default_factory=ReplicationInput)

    @field_validator("deploymentName")
    @classmethod
    def _deployment_name(cls, value: str) -> str:
        if not DEPLOYMENT_NAME_RE.fullmatch(value):
            raise ValueError(
                "must start with a lower-case letter, then lower-case letters, digits and hyphens, "
                f"at most 32 characters (got {_show(value)})"
            )
        if value.endswith("-") or "--" in value:
            raise ValueError(f"must not end with a hyphen or contain '--' (got {_show(value)})")
        return value

    @field_validator("scramUsername")
    @classmethod
    def _scram_username(cls, value: str) -> str:
        if not SCRAM_USERNAME_RE.fullmatch(value):
            raise ValueError(
                "must start with a letter, then letters, digits, '_', '-' or '.', 1 to 64 characters "
                f"(got {_show(value)})"
            )
        return value

    @field_validator("clientInstanceType")
    @classmethod
    def _client_instance_type(cls, value: str) -> str:
        if len(value) > 64 or not EC2_INSTANCE_TYPE_RE.fullmatch(value):
            raise ValueError(f"must be an EC2 instance type such as 't3.small' (got {_show(value)})")
        return value


_MODELS: dict[tuple[str, ...], type[BaseModel]] = {
    (): RequestInput,
    ("primary",): RegionInput,
    ("secondary",): RegionInput,
    ("timing",): TimingInput,
    ("replication",): ReplicationInput,
}


def validate_request(event: dict, *, az_lookup: AzLookup, versions_lookup: VersionsLookup | None = None) -> dict:
    """Validate an execution input against the contract and return the normalized config.

    ``az_lookup(region)`` returns the availability zones available in ``region`` (name and zone ID);
    ``versions_lookup(region)`` the Kafka versions Amazon MSK lists there with their status (None:
    the catalog alone decides, as offline). Both are called only in provision mode, and only for
    regions that passed the other checks; ``versions_lookup`` only for a version in the catalog.
    Raises ``InvalidInput`` naming every field that is wrong.
    """
    if not isinstance(event, dict):
        raise InvalidInput(f"input: must be a JSON object, got {_json_type(event)}")
    try:
        request = parse(event=event, model=RequestInput)  # Powertools' parser: pydantic, strict
    except ValidationError as exc:
        raise InvalidInput(_format_validation_error(exc)) from None

    config: dict[str, Any] = request.model_dump(mode="json")
    provision = request.mode == "provision"
    problems: list[str] = []
    regions_ok = _check_regions(request, problems)
    version_ok = False
    if provision:
        _check_cidrs(request, problems)
        version_ok = _check_catalog(request, problems)
        _check_replication(request, problems)
    _check_history_budget(request, problems)

    for role in ("primary", "secondary"):
        side = config[role]
        side["role"] = role
        side["availabilityZones"] = []
        side["availabilityZoneIds"] = []
        side["subnets"] = None
        if provision and role in regions_ok:
            zones = _choose_zones(role, side["region"], az_lookup(side["region"]), problems)
            side["availabilityZones"] = [zone.name for zone in zones]
            side["availabilityZoneIds"] = [zone.zone_id for zone in zones]
    if provision and version_ok and versions_lookup is not None:
        for role in ("primary", "secondary"):
            if role in regions_ok:
                _check_msk_lists_version(request.kafkaVersion, config[role]["region"], versions_lookup, problems)

    if problems:
        raise InvalidInput(PROBLEM_SEPARATOR.join(problems))
    if provision:
        for role in ("primary", "secondary"):
            config[role]["vpcCidr"] = str(ipaddress.ip_network(config[role]["vpcCidr"]))
            config[role]["subnets"] = plan_subnets(config[role]["vpcCidr"])
    return config


def validate_execution(request: Any, *, state_machine_arn: str, execution_arn: str) -> dict[str, Any]:
    """Validate input, the first state: the execution's input validated as :func:`validate_request` does, with
    Amazon MSK asked in both regions whether the Kafka version is ACTIVE (ListKafkaVersions); ``Conflict`` if an
    earlier execution works on the same deployment (:mod:`mskpair_core.guard`). Returns the config with the wait
    loops' limits in polls added to its ``timing`` (the ASL counts polls; it has no date arithmetic)."""
    config = validate_request(request, az_lookup=availability_zones, versions_lookup=msk_kafka_versions)
    refuse_concurrent(
        state_machine_arn=state_machine_arn, execution_arn=execution_arn, deployment=config["deploymentName"]
    )
    config["timing"].update(loop_limits(config["timing"]))  # the same limits the history budget was checked with
    return config


def _choose_zones(role: str, region: str, available: Iterable[Zone], problems: list[str]) -> list[Zone]:
    """The three broker zones: the first by name whose zone ID Amazon MSK supports.

    By name so that they read ``a, b, c`` where they can; the skip goes by zone ID because a zone
    name is a different physical zone in each account, and AWS names the zone MSK refuses by its ID.
    """
    zones = sorted(set(available))
    usable = [z for z in zones if z.zone_id not in catalog.MSK_UNSUPPORTED_ZONE_IDS]
    if len(usable) < catalog.AVAILABILITY_ZONE_COUNT:
        found = ", ".join(z.name for z in usable) or "none"
        problem = (
            f"{role}.region: {region} has {len(usable)} available availability zone(s) Amazon MSK can use "
            f"({found}), the brokers need {catalog.AVAILABILITY_ZONE_COUNT}"
        )
        skipped = [z for z in zones if z.zone_id in catalog.MSK_UNSUPPORTED_ZONE_IDS]
        if skipped:
            problem += (
                " (skipped "
                + ", ".join(f"{z.name} = {z.zone_id}: {catalog.MSK_UNSUPPORTED_ZONE_IDS[z.zone_id]}" for z in skipped)
                + ")"
            )
        problems.append(problem)
    return usable[: catalog.AVAILABILITY_ZONE_COUNT]


def _check_msk_lists_version(version: str, region: str, versions_lookup: VersionsLookup, problems: list[str]) -> None:
    """Refuse a version that Amazon MSK does not list as ``ACTIVE`` in ``region`` (ListKafkaVersions)."""
    listed = versions_lookup(region)
    status = listed.get(version)
    if status == "ACTIVE":
        return
    offered = [v for v in catalog.SUPPORTED_KAFKA_VERSIONS if listed.get(v) == "ACTIVE"]
    why = f"is {status} in Amazon MSK in {region}" if status else f"is not offered by Amazon MSK in {region}"
    instead = (
        f"use one of {', '.join(offered)}" if offered else "none of the versions msk-pair supports is ACTIVE there"
    )
    problems.append(f"kafkaVersion: {_show(version)} {why} (ListKafkaVersions), {instead}")


def msk_kafka_versions(region: str) -> dict[str, str]:
    """Every Kafka version Amazon MSK lists in ``region`` with its status (``ACTIVE`` or ``DEPRECATED``).

    ListKafkaVersions, paginated (https://docs.aws.amazon.com/msk/1.0/apireference/kafka-versions.html).
    Throttling and MSK's 5xx are ``Transient``; anything else (``ForbiddenException``: the role may not
    call it) is not retried.
    """
    kafka = client("kafka", region)
    listed: dict[str, str] = {}
    with translate_errors(transient=MSK_TRANSIENT):
        for page in kafka.get_paginator("list_kafka_versions").paginate():
            for item in page.get("KafkaVersions", []):
                listed[item["Version"]] = item.get("Status", "")
    return listed


@lru_cache(maxsize=1)
def msk_regions() -> frozenset[str]:
    """The regions where Amazon MSK is available, from botocore's offline endpoint data."""
    return frozenset(boto3.session.Session().get_available_regions("kafka"))


def _check_regions(request: RequestInput, problems: list[str]) -> set[str]:
    """Check both regions; return the roles whose region passed."""
    passed = set()
    for role in ("primary", "secondary"):
        region = getattr(request, role).region
        if region not in msk_regions():
            problems.append(
                f"{role}.region: {_show(region)} is not an AWS region where Amazon MSK is available"
                + _did_you_mean(region, msk_regions())
            )
        elif role == "secondary" and region == request.primary.region:
            problems.append(f"secondary.region: must differ from primary.region (both are {region})")
        else:
            passed.add(role)
    return passed


def _check_history_budget(request: RequestInput, problems: list[str]) -> None:
    """Refuse a timing whose wait loops could reach Step Functions' history quota (no rollback would run)."""
    problem = history_problem(
        request.timing.model_dump(),
        poll_range=(catalog.POLL_SECONDS_MIN, catalog.POLL_SECONDS_MAX),
        cluster_range=(catalog.CLUSTER_TIMEOUT_MINUTES_MIN, catalog.CLUSTER_TIMEOUT_MINUTES_MAX),
        client_range=(catalog.CLIENT_TIMEOUT_MINUTES_MIN, catalog.CLIENT_TIMEOUT_MINUTES_MAX),
    )
    if problem:
        problems.append(problem)


def _check_cidrs(request: RequestInput, problems: list[str]) -> None:
    networks: dict[str, ipaddress.IPv4Network] = {}
    for role in ("primary", "secondary"):
        field = f"{role}.vpcCidr"
        cidr = getattr(request, role).vpcCidr
        if cidr is None:
            problems.append(f"{field}: is required")
            continue
        network, problem = _parse_vpc_cidr(cidr)
        if problem:
            problems.append(f"{field}: {problem}")
        else:
            networks[role] = network
    if len(networks) == 2 and networks["primary"].overlaps(networks["secondary"]):
        problems.append(
            f"secondary.vpcCidr: {networks['secondary']} overlaps primary.vpcCidr {networks['primary']} "
            "(VPC peering needs CIDRs that do not overlap)"
        )


def _parse_vpc_cidr(cidr: str) -> tuple[ipaddress.IPv4Network | None, str | None]:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None, f"{_show(cidr)} is not a valid IPv4 CIDR such as '10.0.0.0/16'"
    if network.version != 4:
        return None, f"{_show(cidr)} is not an IPv4 CIDR (a VPC's primary CIDR is IPv4)"
    if "/" not in cidr:
        return None, f"{_show(cidr)} has no prefix length, write it like '10.0.0.0/16'"
    if str(network.network_address) != cidr.split("/", 1)[0]:
        return None, f"{_show(cidr)} has host bits set (did you mean {network}?)"
    if not catalog.VPC_MIN_PREFIX <= network.prefixlen <= catalog.VPC_MAX_PREFIX:
        return None, (
            f"{cidr} has prefix /{network.prefixlen}, a VPC CIDR must be between "
            f"/{catalog.VPC_MIN_PREFIX} and /{catalog.VPC_MAX_PREFIX}"
        )
    if any(network.overlaps(bad) for bad in _UNUSABLE_RANGES):
        return None, f"{cidr} is in a reserved range that cannot be a VPC's address space"
    try:
        plan_subnets(str(network))
    except ValueError as exc:
        return None, str(exc)
    return network, None


def _check_catalog(request: RequestInput, problems: list[str]) -> bool:
    """Check the Kafka version and the broker type against the catalog; return whether the version passed."""
    version = request.kafkaVersion
    version_ok = version in catalog.SUPPORTED_KAFKA_VERSIONS
    if not version_ok:
        supported = ", ".join(catalog.SUPPORTED_KAFKA_VERSIONS)
        ended = catalog.END_OF_SUPPORT_KAFKA_VERSIONS.get(version)
        hint = catalog.KAFKA_VERSION_HINTS.get(version)
        if ended:
            why = f"is past its MSK end of support ({ended})"
        elif hint:
            why = hint
        else:
            why = "is not a Kafka version msk-pair supports"
        problems.append(f"kafkaVersion: {_show(version)} {why}, use one of {supported}")
    broker = request.brokerInstanceType
    if broker not in catalog.BROKER_INSTANCE_TYPES:
        problems.append(
            f"brokerInstanceType: {_show(broker)} is not an MSK standard broker type "
            "(kafka.t3.small, kafka.m5.*, kafka.m7g.*)"
        )
    elif not catalog.supports_per_partition_monitoring(broker):
        problems.append(
            f"brokerInstanceType: {broker} does not support {catalog.ENHANCED_MONITORING_LEVEL} enhanced "
            "monitoring, use a kafka.m5.* or kafka.m7g.* broker"
        )
    return version_ok


def _check_replication(request: RequestInput, problems: list[str]) -> None:
    """MirrorMaker 2 runs on the secondary client: refuse a client type too small for its JVM."""
    if request.replication.engine != "mm2":
        return
    size = request.clientInstanceType.rsplit(".", 1)[-1]
    if size in catalog.SMALL_INSTANCE_SIZES:
        problems.append(
            f"clientInstanceType: {request.clientInstanceType} has at most 2 GiB of memory, too little for "
            f"MirrorMaker 2 on the secondary client (replication.engine 'mm2'): use at least "
            f"{catalog.DEFAULT_CLIENT_INSTANCE_TYPE}, or replication.engine 'none'"
        )


# --- error formatting ----------------------------------------------------------------

_MESSAGES = {
    "missing": "is required",
    "int_type": "must be an integer",
    "string_type": "must be a string",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "bool_type": "must be true or false",
}


def _format_validation_error(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(str(part) for part in error["loc"])
        field = ".".join(loc) or "input"
        kind = error["type"]
        if kind == "extra_forbidden":
            known = list(_MODELS[loc[:-1]].model_fields) if loc[:-1] in _MODELS else []
            message = "is not a known field" + _did_you_mean(loc[-1], known, FIELD_SYNONYMS)
            message += f" (known fields: {', '.join(known)})" if known else ""
        elif kind in _MESSAGES:
            message = _MESSAGES[kind]
            if kind != "missing":
                message += f", got {_json_type(error.get('input'))}"
        elif kind == "value_error":
            message = str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
        else:
            msg = error["msg"]
            message = f"{msg[:1].lower()}{msg[1:]} (got {_show(error.get('input'))})"
        problems.append(f"{field}: {message}")
    return PROBLEM_SEPARATOR.join(problems)


# Names other MSK tools give a field of this contract: AWS::MSK::Cluster's NumberOfBrokerNodes,
# BrokerNodeGroupInfo.InstanceType and EBSStorageInfo.VolumeSize (CloudFormation User Guide, "AWS::MSK::Cluster"),
# and the terraform-aws-modules MSK module's number_of_broker_nodes, broker_node_instance_type,
# broker_node_ebs_volume_size. Keys are compared lower-case without punctuation; difflib cannot see these.
FIELD_SYNONYMS = {
    "brokercount": "brokersPerAz",
    "numberofbrokers": "brokersPerAz",
    "numberofbrokernodes": "brokersPerAz",
    "brokernodes": "brokersPerAz",
    "instancetype": "brokerInstanceType",
    "brokernodeinstancetype": "brokerInstanceType",
    "volumesize": "brokerStorageGiB",
    "brokernodeebsvolumesize": "brokerStorageGiB",
    "ebsvolumesize": "brokerStorageGiB",
}


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _did_you_mean(value: object, known: Any, synonyms: dict[str, str] | None = None) -> str:
    """`` (did you mean 'x'?)`` for a near miss of one of ``known`` (difflib, case and punctuation ignored)."""
    if not isinstance(value, str) or not value:
        return ""
    by_key: dict[str, list[str]] = {}
    for name in known:
        by_key.setdefault(_squash(name), []).append(name)
    key = _squash(value)
    known_names = {name for names in by_key.values() for name in names}
    synonym = (synonyms or {}).get(key)
    candidates = [synonym] if synonym in known_names else []
    if not candidates:
        scored = [(difflib.SequenceMatcher(None, key, k).ratio(), k) for k in by_key]
        best = max((score for score, _ in scored), default=0.0)
        if best < 0.6:  # difflib.get_close_matches' default cutoff
            return ""
        candidates = sorted(name for score, k in scored if score == best for name in by_key[k])
    candidates = [c for c in candidates if c and c != value]
    if not candidates:
        return ""
    if len(candidates) == 1:
        return f" (did you mean {candidates[0]!r}?)"
    return f" (did you mean one of {', '.join(candidates)}?)"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
