"""The one place that lists what msk-pair supports and what it defaults to.

Everything the input contract accepts (Kafka versions, broker types), every
default of an optional input field, and the ports the network rules open are
defined here, so the validator, the handlers and the README agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# --- Apache Kafka versions ----------------------------------------------------
# The strings are the ``KafkaVersion`` values of the MSK API (CreateClusterV2), not Apache Kafka
# release numbers. Sources:
# - "Supported Apache Kafka versions", Amazon MSK Developer Guide,
#   https://docs.aws.amazon.com/msk/latest/developerguide/supported-kafka-versions.html
#   (3.8.x marked "(Recommended)"; 3.6.0 end of support 2026-06-01), cross-checked with
#   https://endoflife.date/amazon-msk (4.1.x released on MSK 2025-10-15; 3.7.x end of support 2026-09-01).
# - "KRaft mode", Amazon MSK Developer Guide,
#   https://docs.aws.amazon.com/msk/latest/developerguide/metadata-management.html#kraft-intro :
#   "To create a cluster in KRaft mode using the MSK API CreateCluster or CreateClusterV2 operations,
#   you should use 3.7.x.kraft as the version. Use 3.7.x as the version to create a cluster in
#   ZooKeeper mode." The same holds for 3.8.x and 3.9.x.
# - AWS CDK aws-msk-alpha ``KafkaVersion`` (lib/cluster-version.ts): V3_8_X '3.8.x', V3_8_X_KRAFT
#   '3.8.x.kraft', V3_9_X '3.9.x', V3_9_X_KRAFT '3.9.x.kraft', V4_0_X_KRAFT '4.0.x.kraft', V4_1_X_KRAFT
#   '4.1.x.kraft'; no plain 4.x (aws/aws-cdk#34501: "Kafka version 4.0 only supports KRaft"), and
#   V4_2_X_KRAFT "Currently only supported on MSK Express brokers" (aws/aws-cdk#38323).
# Checked: November 2026. Versions whose end of support date has passed are left out:
# MSK phases out creating new clusters on them. Update this list (and the README) when AWS changes it.
# This list is the offline default: in the state machine, Validate input also asks MSK
# (ListKafkaVersions) in both regions whether the version is ACTIVE there.
KAFKA_VERSIONS_SOURCE_URL = "https://docs.aws.amazon.com/msk/latest/developerguide/supported-kafka-versions.html"
KAFKA_VERSIONS_CHECKED_ON = "2026-11"

# Both metadata modes of 3.8 and 3.9 are offered: the ZooKeeper form because 3.8.x is the version AWS
# recommends (the default), the KRaft form because it is where Kafka is going (4.x has no ZooKeeper,
# and a cluster cannot switch modes after it is created except by MSK's migration from 3.9.x).
# msk-pair uses neither ZooKeeper nor the controllers directly, so the rest of the workflow is the same.
SUPPORTED_KAFKA_VERSIONS: tuple[str, ...] = (
    "3.8.x",
    "3.8.x.kraft",
    "3.9.x",
    "3.9.x.kraft",
    "4.0.x.kraft",
    "4.1.x.kraft",
)
DEFAULT_KAFKA_VERSION = "3.8.x"  # the version the MSK guide marks "Recommended"

KRAFT_SUFFIX = ".kraft"


def is_kraft(kafka_version: str) -> bool:
    """Whether an MSK version string makes a KRaft cluster (no ZooKeeper)."""
    return kafka_version.endswith(KRAFT_SUFFIX)


# Versions a user may still know, with the date MSK ended their support: for a clearer error message.
END_OF_SUPPORT_KAFKA_VERSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "2.8.2-tiered": "2025-01-14",
        "3.4.0": "2025-08-04",
        "3.5.1": "2025-10-23",
        "3.6.0": "2026-06-01",
        "3.7.x": "2026-09-01",
        "3.7.x.kraft": "2026-09-01",
    }
)

# Version strings a user may try that MSK does not accept for a cluster of Standard brokers: why, and what
# to write instead (completes "kafkaVersion: '4.0.x' ...").
KAFKA_VERSION_HINTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "4.0.x": "is not an MSK version: did you mean '4.0.x.kraft'? (Kafka 4 has no ZooKeeper mode)",
        "4.1.x": "is not an MSK version: did you mean '4.1.x.kraft'? (Kafka 4 has no ZooKeeper mode)",
        "4.2.x": "is not an MSK version, and MSK offers 4.2.x.kraft on Express brokers only (msk-pair makes Standard)",
        "4.2.x.kraft": "is offered by MSK on Express brokers only, and msk-pair makes Standard brokers",
    }
)

# The Apache Kafka client release the client machine installs for each MSK version
# (downloaded from archive.apache.org/dist/kafka/<release>/kafka_2.13-<release>.tgz; Kafka 4.x is
# built for Scala 2.13 only). Kafka 4.x command line tools need Java 17+.
KAFKA_CLIENT_VERSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "3.8.x": "3.8.1",
        "3.8.x.kraft": "3.8.1",
        "3.9.x": "3.9.1",
        "3.9.x.kraft": "3.9.1",
        "4.0.x.kraft": "4.0.0",
        "4.1.x.kraft": "4.1.0",
    }
)

# --- Availability zones ----------------------------------------------------------
# Zone IDs (the same physical zone in every account; zone *names* map to different zones per account,
# https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html) where Amazon MSK refuses
# client subnets, each with its published source. Only what an AWS source states is listed.
MSK_UNSUPPORTED_ZONE_IDS: MappingProxyType[str, str] = MappingProxyType(
    {
        # MSK API reference, BrokerNodeGroupInfo.clientSubnets
        # (https://docs.aws.amazon.com/msk/1.0/apireference/clusters.html#clusters-model-brokernodegroupinfo,
        # and botocore's kafka service model): "Client subnets can't occupy the Availability Zone with ID
        # use use1-az3." Also in AWS::MSK::Cluster BrokerNodeGroupInfo.ClientSubnets (CloudFormation).
        "use1-az3": "Amazon MSK does not allow client subnets in the Availability Zone with ID use1-az3",
    }
)

# --- Broker instance types ------------------------------------------------------
# Source: "Amazon MSK broker sizes", https://docs.aws.amazon.com/msk/latest/developerguide/broker-instance-sizes.html
# Standard brokers only: the product configures EBS storage (brokerStorageGiB), which Express brokers do not have.

ENHANCED_MONITORING_LEVEL = "PER_TOPIC_PER_PARTITION"


@dataclass(frozen=True)
class BrokerType:
    """One MSK standard broker instance type."""

    name: str
    family: str
    per_partition_monitoring: bool
    """Whether enhanced monitoring ``PER_TOPIC_PER_PARTITION`` is available on it."""


def _broker_types() -> dict[str, BrokerType]:
    types = {"kafka.t3.small": BrokerType("kafka.t3.small", "t3", per_partition_monitoring=False)}
    for size in ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge"):
        name = f"kafka.m5.{size}"
        types[name] = BrokerType(name, "m5", per_partition_monitoring=True)
    for size in ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"):
        name = f"kafka.m7g.{size}"
        types[name] = BrokerType(name, "m7g", per_partition_monitoring=True)
    return types


BROKER_INSTANCE_TYPES: MappingProxyType[str, BrokerType] = MappingProxyType(_broker_types())
DEFAULT_BROKER_INSTANCE_TYPE = "kafka.m5.large"


BROKER_SIZES: tuple[str, ...] = (
    "small",
    "large",
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
)
# MSK developer guide, "Update the Amazon MSK cluster broker size": "For Standard brokers, you can update
# your cluster broker size from M5 or T3 to M7g, T3 to M5, or from M7g to M5." and "You can't migrate from a
# larger broker size to a smaller broker size."
BROKER_FAMILY_MOVES: frozenset[tuple[str, str]] = frozenset(
    {("m5", "m5"), ("m7g", "m7g"), ("t3", "t3"), ("m5", "m7g"), ("t3", "m7g"), ("t3", "m5"), ("m7g", "m5")}
)


def broker_type_update_problem(current: str, target: str) -> str | None:
    """Why MSK cannot change a cluster's brokers from ``current`` to ``target`` in place (None: it can)."""
    try:
        _, cur_family, cur_size = current.split(".")
        _, new_family, new_size = target.split(".")
    except ValueError:
        return f"{current} or {target} is not a kafka.<family>.<size> broker type"
    if (cur_family, new_family) not in BROKER_FAMILY_MOVES:
        return f"MSK does not move brokers from {cur_family.upper()} to {new_family.upper()}"
    if BROKER_SIZES.index(new_size) < BROKER_SIZES.index(cur_size):
        return "MSK cannot move to a smaller broker size"
    return None


def supports_per_partition_monitoring(broker_instance_type: str) -> bool:
    """True if the broker type is known and supports ``PER_TOPIC_PER_PARTITION`` enhanced monitoring."""
    broker = BROKER_INSTANCE_TYPES.get(broker_instance_type)
    return broker is not None and broker.per_partition_monitoring


# --- Ports ------------------------------------------------------------------------
KAFKA_SASL_SCRAM_PORT = 9096  # SASL/SCRAM over TLS between clients and brokers (inside AWS)
JMX_EXPORTER_PORT = 11001  # Prometheus JMX exporter on each broker (open monitoring)
NODE_EXPORTER_PORT = 11002  # Prometheus node exporter on each broker (open monitoring)
PROMETHEUS_PORTS: tuple[int, ...] = (JMX_EXPORTER_PORT, NODE_EXPORTER_PORT)

# --- Input contract: limits and defaults -------------------------------------------
AVAILABILITY_ZONE_COUNT = 3  # broker subnets, one per availability zone
VPC_MIN_PREFIX = 16  # AWS allows VPC IPv4 CIDRs from /16 ...
VPC_MAX_PREFIX = 28  # ... to /28

BROKERS_PER_AZ_MIN, BROKERS_PER_AZ_MAX = 1, 10
BROKER_STORAGE_GIB_MIN, BROKER_STORAGE_GIB_MAX = 1, 16384
POLL_SECONDS_MIN, POLL_SECONDS_MAX = 5, 3600
CLUSTER_TIMEOUT_MINUTES_MIN, CLUSTER_TIMEOUT_MINUTES_MAX = 1, 720
CLIENT_TIMEOUT_MINUTES_MIN, CLIENT_TIMEOUT_MINUTES_MAX = 1, 180

MODES: tuple[str, ...] = ("provision", "teardown")
ON_FAILURE_CHOICES: tuple[str, ...] = ("ROLLBACK", "RETAIN")

DEFAULT_BROKERS_PER_AZ = 1
DEFAULT_BROKER_STORAGE_GIB = 100
# t3.medium (2 vCPU, 4 GiB): the secondary client runs MirrorMaker 2, a JVM whose heap the service sizes
# from the machine's memory (MM2_HEAP_FRACTION); t3.small's 2 GiB leave too little next to the OS and the
# Kafka command line tools. Amazon EC2 instance types, "General purpose: T3" (t3.small 2 GiB, t3.medium 4 GiB),
# https://aws.amazon.com/ec2/instance-types/t3/
DEFAULT_CLIENT_INSTANCE_TYPE = "t3.medium"
DEFAULT_SCRAM_USERNAME = "msk-admin"
DEFAULT_ON_FAILURE = "ROLLBACK"
DEFAULT_MODE = "provision"
DEFAULT_POLL_SECONDS = 60
DEFAULT_CLUSTER_TIMEOUT_MINUTES = 120
DEFAULT_CLIENT_TIMEOUT_MINUTES = 30  # the client coming online in SSM, and each SSM command

# --- Replication (MirrorMaker 2, primary -> secondary) -------------------------------
REPLICATION_ENGINES: tuple[str, ...] = ("mm2", "none")
TOPIC_NAMINGS: tuple[str, ...] = ("prefixed", "identical")
DEFAULT_REPLICATION_ENGINE = "mm2"
DEFAULT_REPLICATION_TOPICS = ".*"  # MirrorSourceConfig ``topics``: comma-separated topic names and regexes
DEFAULT_REPLICATION_GROUPS = ".*"  # MirrorCheckpointConfig ``groups``
DEFAULT_TOPIC_NAMING = "prefixed"  # DefaultReplicationPolicy: <source alias>.<topic>
DEFAULT_SYNC_GROUP_OFFSETS = True
# Instance sizes with at most 2 GiB of memory (t2/t3/t3a/t4g nano, micro and small; Amazon EC2 instance
# types pages): too small for MirrorMaker 2 next to the OS, refused when the engine is mm2.
SMALL_INSTANCE_SIZES: tuple[str, ...] = ("nano", "micro", "small")


def defaults() -> dict[str, Any]:
    """A fresh dict of the default of every optional input field (camelCase, as in the contract)."""
    return {
        "kafkaVersion": DEFAULT_KAFKA_VERSION,
        "brokerInstanceType": DEFAULT_BROKER_INSTANCE_TYPE,
        "brokersPerAz": DEFAULT_BROKERS_PER_AZ,
        "brokerStorageGiB": DEFAULT_BROKER_STORAGE_GIB,
        "clientInstanceType": DEFAULT_CLIENT_INSTANCE_TYPE,
        "scramUsername": DEFAULT_SCRAM_USERNAME,
        "onFailure": DEFAULT_ON_FAILURE,
        "timing": {
            "pollSeconds": DEFAULT_POLL_SECONDS,
            "clusterTimeoutMinutes": DEFAULT_CLUSTER_TIMEOUT_MINUTES,
            "clientTimeoutMinutes": DEFAULT_CLIENT_TIMEOUT_MINUTES,
        },
        "mode": DEFAULT_MODE,
        "replication": {
            "engine": DEFAULT_REPLICATION_ENGINE,
            "topics": DEFAULT_REPLICATION_TOPICS,
            "groups": DEFAULT_REPLICATION_GROUPS,
            "topicNaming": DEFAULT_TOPIC_NAMING,
            "syncGroupOffsets": DEFAULT_SYNC_GROUP_OFFSETS,
        },
    }
