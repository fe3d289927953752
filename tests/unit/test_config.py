"""validate_request: the input contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from mskpair_core import catalog
from mskpair_core import config as config_module
from mskpair_core.config import PROBLEM_SEPARATOR, msk_kafka_versions, validate_request
from mskpair_core.errors import InvalidInput, Transient
from mskpair_core.network import Zone
from mskpair_core.timing import (
    HISTORY_BUDGET,
    HISTORY_EVENT_LIMIT,
    HISTORY_SAFETY_MARGIN,
    history_problem,
    loop_limits,
    worst_case_events,
)

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "region-pair.json"

AZS = {
    "us-east-1": ["us-east-1f", "us-east-1a", "us-east-1d", "us-east-1b", "us-east-1c", "us-east-1e"],
    "us-west-2": ["us-west-2c", "us-west-2b", "us-west-2a", "us-west-2d"],
    "eu-west-1": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    "us-west-1": ["us-west-1a", "us-west-1c"],  # only two availability zones
}
# One account's name -> zone ID mapping (moto's); another account's differs, which is why MSK's
# unsupported zone (use1-az3) is skipped by ID.
ZONE_IDS = {
    **{f"us-east-1{c}": f"use1-az{n}" for c, n in zip("abcdef", (6, 1, 2, 4, 3, 5), strict=True)},
    **{f"us-west-2{c}": f"usw2-az{n}" for c, n in zip("abcd", (2, 1, 3, 4), strict=True)},
    **{f"eu-west-1{c}": f"euw1-az{n}" for c, n in zip("abc", (3, 1, 2), strict=True)},
    "us-west-1a": "usw1-az3",
    "us-west-1c": "usw1-az1",
}


class FakeAzLookup:
    def __init__(self, zones: dict[str, list[str]] | None = None, ids: dict[str, str] | None = None) -> None:
        self.zones = AZS if zones is None else zones
        self.ids = {**ZONE_IDS, **(ids or {})}
        self.calls: list[str] = []

    def __call__(self, region: str) -> list[Zone]:
        self.calls.append(region)
        return [Zone(name, self.ids[name]) for name in self.zones.get(region, [])]


ACTIVE_EVERYWHERE = {v: "ACTIVE" for v in catalog.SUPPORTED_KAFKA_VERSIONS}


class FakeVersionsLookup:
    """What ListKafkaVersions answers per region (default: every catalog version ACTIVE)."""

    def __init__(self, per_region: dict[str, dict[str, str]] | None = None) -> None:
        self.per_region = per_region or {}
        self.calls: list[str] = []

    def __call__(self, region: str) -> dict[str, str]:
        self.calls.append(region)
        return dict(self.per_region.get(region, ACTIVE_EVERYWHERE))


def minimal() -> dict:
    return {
        "deploymentName": "orders-dr",
        "primary": {"region": "us-east-1", "vpcCidr": "10.0.0.0/16"},
        "secondary": {"region": "us-west-2", "vpcCidr": "172.31.0.0/16"},
    }


def sample() -> dict:
    return json.loads(SAMPLE.read_text())


def refused(
    event: object, az_lookup: FakeAzLookup | None = None, versions_lookup: FakeVersionsLookup | None = None
) -> str:
    with pytest.raises(InvalidInput) as info:
        validate_request(event, az_lookup=az_lookup or FakeAzLookup(), versions_lookup=versions_lookup)  # type: ignore[arg-type]
    return str(info.value)


def with_(event: dict, path: str, value: object) -> dict:
    """A copy of ``event`` with the dotted ``path`` set to ``value``."""
    event = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = event
    for key in parents:
        target = target[key]
    target[last] = value
    return event


def without(event: dict, path: str) -> dict:
    event = copy.deepcopy(event)
    *parents, last = path.split(".")
    target = event
    for key in parents:
        target = target[key]
    del target[last]
    return event


# --- valid input -----------------------------------------------------------------------


def test_sample_event_is_the_brief_example_and_validates() -> None:
    event = sample()
    config = validate_request(event, az_lookup=FakeAzLookup())
    assert config["deploymentName"] == "orders-dr"
    assert config["kafkaVersion"] == event["kafkaVersion"]
    assert config["kafkaVersion"] in catalog.SUPPORTED_KAFKA_VERSIONS
    assert config["timing"] == {"pollSeconds": 60, "clusterTimeoutMinutes": 120, "clientTimeoutMinutes": 30}
    assert config["primary"] == {
        "region": "us-east-1",
        "vpcCidr": "10.0.0.0/16",
        "role": "primary",
        "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"],
        "availabilityZoneIds": ["use1-az6", "use1-az1", "use1-az2"],
        "subnets": {"public": "10.0.0.0/24", "brokers": ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]},
    }
    assert config["secondary"] == {
        "region": "us-west-2",
        "vpcCidr": "172.31.0.0/16",
        "role": "secondary",
        "availabilityZones": ["us-west-2a", "us-west-2b", "us-west-2c"],
        "availabilityZoneIds": ["usw2-az2", "usw2-az1", "usw2-az3"],
        "subnets": {"public": "172.31.0.0/24", "brokers": ["172.31.1.0/24", "172.31.2.0/24", "172.31.3.0/24"]},
    }
    assert json.loads(json.dumps(config)) == config


def test_minimal_input_gets_every_default() -> None:
    config = validate_request(minimal(), az_lookup=FakeAzLookup())
    expected_defaults = catalog.defaults()
    assert {k: config[k] for k in expected_defaults} == expected_defaults
    assert config["kafkaVersion"] == catalog.DEFAULT_KAFKA_VERSION
    assert config["brokerInstanceType"] == "kafka.m5.large"
    assert config["brokersPerAz"] == 1
    assert config["brokerStorageGiB"] == 100
    assert config["clientInstanceType"] == "t3.medium"  # MirrorMaker 2 runs on the secondary client
    assert config["scramUsername"] == "msk-admin"
    assert config["onFailure"] == "ROLLBACK"
    assert config["mode"] == "provision"
    assert config["timing"] == {"pollSeconds": 60, "clusterTimeoutMinutes": 120, "clientTimeoutMinutes": 30}
    assert set(config) == {"deploymentName", "primary", "secondary", *expected_defaults}
    json.dumps(config)


def test_default_kafka_version_is_supported_and_recent() -> None:
    assert catalog.DEFAULT_KAFKA_VERSION in catalog.SUPPORTED_KAFKA_VERSIONS
    for version in ("3.6.0", "3.5.1", "3.7.x", "3.7.x.kraft", "2.8.1", "4.0.x", "4.1.x", "4.2.x.kraft"):
        assert version not in catalog.SUPPORTED_KAFKA_VERSIONS
    assert set(catalog.KAFKA_CLIENT_VERSIONS) == set(catalog.SUPPORTED_KAFKA_VERSIONS)


def test_kafka_4_exists_only_in_kraft_mode_and_each_version_gets_its_own_client_release() -> None:
    # MSK API strings: 4.x only as x.kraft (KRaft mode page; AWS CDK KafkaVersion.V4_0_X_KRAFT, V4_1_X_KRAFT)
    assert [v for v in catalog.SUPPORTED_KAFKA_VERSIONS if v.startswith("4.")] == ["4.0.x.kraft", "4.1.x.kraft"]
    assert all(catalog.is_kraft(v) for v in catalog.SUPPORTED_KAFKA_VERSIONS if v.startswith("4."))
    assert not catalog.is_kraft(catalog.DEFAULT_KAFKA_VERSION)
    for version, release in catalog.KAFKA_CLIENT_VERSIONS.items():
        assert release.startswith(version.split(".x")[0] + "."), (version, release)


def test_catalog_constants() -> None:
    assert catalog.KAFKA_SASL_SCRAM_PORT == 9096
    assert catalog.JMX_EXPORTER_PORT == 11001
    assert catalog.NODE_EXPORTER_PORT == 11002
    assert not catalog.supports_per_partition_monitoring("kafka.t3.small")
    assert catalog.supports_per_partition_monitoring("kafka.m5.large")
    assert catalog.supports_per_partition_monitoring("kafka.m7g.16xlarge")
    assert not catalog.supports_per_partition_monitoring("kafka.nope")


def test_defaults_returns_a_fresh_copy() -> None:
    catalog.defaults()["timing"]["pollSeconds"] = 1
    assert catalog.defaults()["timing"]["pollSeconds"] == 60


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("deploymentName", "a"),
        ("deploymentName", "a" * 32),
        ("deploymentName", "orders-dr-2"),
        ("kafkaVersion", "3.9.x"),
        ("kafkaVersion", "3.8.x.kraft"),
        ("kafkaVersion", "3.9.x.kraft"),
        ("kafkaVersion", "4.0.x.kraft"),
        ("kafkaVersion", "4.1.x.kraft"),
        ("brokerInstanceType", "kafka.m7g.large"),
        ("brokerInstanceType", "kafka.m5.24xlarge"),
        ("brokersPerAz", 10),
        ("brokerStorageGiB", 1),
        ("brokerStorageGiB", 16384),
        ("clientInstanceType", "m7g.large"),
        ("clientInstanceType", "c6in.2xlarge"),
        ("scramUsername", "Admin_user.1-x"),
        ("scramUsername", "u" * 64),
        ("onFailure", "RETAIN"),
        ("timing", {"pollSeconds": 3600, "clusterTimeoutMinutes": 720, "clientTimeoutMinutes": 180}),
        ("timing", {"pollSeconds": 5, "clusterTimeoutMinutes": 1, "clientTimeoutMinutes": 1}),
        ("timing", {}),
        ("primary.vpcCidr", "10.0.0.0/26"),
        ("secondary.vpcCidr", "10.1.0.0/16"),
        ("secondary.region", "eu-west-1"),
    ],
)
def test_valid_variations(path: str, value: object) -> None:
    config = validate_request(with_(minimal(), path, value), az_lookup=FakeAzLookup())
    node = config
    for key in path.split("."):
        node = node[key]
    if path == "timing":
        assert node == {**catalog.defaults()["timing"], **value}
    else:
        assert node == value


def test_partial_timing_fills_the_rest() -> None:
    config = validate_request(with_(minimal(), "timing", {"pollSeconds": 50}), az_lookup=FakeAzLookup())
    assert config["timing"] == {"pollSeconds": 50, "clusterTimeoutMinutes": 120, "clientTimeoutMinutes": 30}


def test_smallest_vpc_gets_four_28s() -> None:
    config = validate_request(with_(minimal(), "primary.vpcCidr", "10.0.0.0/26"), az_lookup=FakeAzLookup())
    assert config["primary"]["subnets"] == {
        "public": "10.0.0.0/28",
        "brokers": ["10.0.0.16/28", "10.0.0.32/28", "10.0.0.48/28"],
    }


def test_input_is_not_mutated() -> None:
    event = minimal()
    before = copy.deepcopy(event)
    validate_request(event, az_lookup=FakeAzLookup())
    assert event == before


# --- refused input: each message names the field -------------------------------------------


@pytest.mark.parametrize(
    ("event", "field", "words"),
    [
        # deployment name
        (with_(minimal(), "deploymentName", "Orders"), "deploymentName", "lower-case"),
        (with_(minimal(), "deploymentName", "1orders"), "deploymentName", "lower-case"),
        (with_(minimal(), "deploymentName", "orders_dr"), "deploymentName", "lower-case"),
        (with_(minimal(), "deploymentName", ""), "deploymentName", "lower-case"),
        (with_(minimal(), "deploymentName", "a" * 33), "deploymentName", "32"),
        (with_(minimal(), "deploymentName", "orders-"), "deploymentName", "hyphen"),
        (with_(minimal(), "deploymentName", "orders--dr"), "deploymentName", "--"),
        # CIDRs
        (with_(minimal(), "primary.vpcCidr", "10.0.0.1/16"), "primary.vpcCidr", "host bits"),
        (with_(minimal(), "primary.vpcCidr", "not-a-cidr"), "primary.vpcCidr", "not a valid"),
        (with_(minimal(), "primary.vpcCidr", "10.0.0.256/16"), "primary.vpcCidr", "not a valid"),
        (with_(minimal(), "primary.vpcCidr", "10.0.0.0"), "primary.vpcCidr", "prefix"),
        (with_(minimal(), "secondary.vpcCidr", "fd00::/56"), "secondary.vpcCidr", "IPv4"),
        (with_(minimal(), "primary.vpcCidr", "10.0.0.0/8"), "primary.vpcCidr", "/16"),
        (with_(minimal(), "primary.vpcCidr", "10.0.0.0/15"), "primary.vpcCidr", "/16"),
        (with_(minimal(), "primary.vpcCidr", "10.0.0.0/29"), "primary.vpcCidr", "/28"),
        (with_(minimal(), "primary.vpcCidr", "10.0.0.0/27"), "primary.vpcCidr", "too small"),
        (with_(minimal(), "secondary.vpcCidr", "10.0.0.0/28"), "secondary.vpcCidr", "too small"),
        (with_(minimal(), "primary.vpcCidr", "127.0.0.0/16"), "primary.vpcCidr", "reserved"),
        (with_(minimal(), "primary.vpcCidr", "224.0.0.0/16"), "primary.vpcCidr", "reserved"),
        (without(minimal(), "primary.vpcCidr"), "primary.vpcCidr", "required"),
        (with_(minimal(), "secondary.vpcCidr", "10.0.128.0/17"), "secondary.vpcCidr", "overlaps"),
        (with_(minimal(), "secondary.vpcCidr", "10.0.0.0/16"), "secondary.vpcCidr", "overlaps"),
        (with_(minimal(), "secondary.vpcCidr", "10.0.0.0/8"), "secondary.vpcCidr", ""),
        # regions
        (with_(minimal(), "secondary.region", "us-east-1"), "secondary.region", "differ"),
        (with_(minimal(), "primary.region", "us-east-9"), "primary.region", "not an AWS region"),
        (with_(minimal(), "secondary.region", "mars-north-1"), "secondary.region", "not an AWS region"),
        (with_(minimal(), "primary.region", ""), "primary.region", ""),
        (with_(minimal(), "secondary.region", "us-west-1"), "secondary.region", "availability zone"),
        # catalog
        (with_(minimal(), "kafkaVersion", "3.6.0"), "kafkaVersion", "end of support"),
        (with_(minimal(), "kafkaVersion", "3.7.x"), "kafkaVersion", "end of support"),
        (with_(minimal(), "kafkaVersion", "3.7.x.kraft"), "kafkaVersion", "end of support"),
        (with_(minimal(), "kafkaVersion", "9.9.9"), "kafkaVersion", "3.8.x"),
        (with_(minimal(), "kafkaVersion", "4.0.x"), "kafkaVersion", "did you mean '4.0.x.kraft'?"),
        (with_(minimal(), "kafkaVersion", "4.1.x"), "kafkaVersion", "did you mean '4.1.x.kraft'?"),
        (with_(minimal(), "kafkaVersion", "4.2.x.kraft"), "kafkaVersion", "Express brokers only"),
        (with_(minimal(), "brokerInstanceType", "kafka.m6i.large"), "brokerInstanceType", "not an MSK"),
        (with_(minimal(), "brokerInstanceType", "express.m7g.large"), "brokerInstanceType", "not an MSK"),
        (with_(minimal(), "brokerInstanceType", "m5.large"), "brokerInstanceType", "not an MSK"),
        (with_(minimal(), "brokerInstanceType", "kafka.t3.small"), "brokerInstanceType", "PER_TOPIC_PER_PARTITION"),
        # ranges and patterns
        (with_(minimal(), "brokersPerAz", 0), "brokersPerAz", "greater than or equal to 1"),
        (with_(minimal(), "brokersPerAz", 11), "brokersPerAz", "less than or equal to 10"),
        (with_(minimal(), "brokerStorageGiB", 0), "brokerStorageGiB", ""),
        (with_(minimal(), "brokerStorageGiB", 16385), "brokerStorageGiB", ""),
        (with_(minimal(), "clientInstanceType", "t3"), "clientInstanceType", "EC2 instance type"),
        (with_(minimal(), "clientInstanceType", "T3.SMALL"), "clientInstanceType", "EC2 instance type"),
        (with_(minimal(), "scramUsername", "1admin"), "scramUsername", "start with a letter"),
        (with_(minimal(), "scramUsername", "ad min"), "scramUsername", ""),
        (with_(minimal(), "scramUsername", ""), "scramUsername", ""),
        (with_(minimal(), "scramUsername", "u" * 65), "scramUsername", "64"),
        (with_(minimal(), "onFailure", "rollback"), "onFailure", "ROLLBACK"),
        (with_(minimal(), "mode", "destroy"), "mode", "teardown"),
        (with_(minimal(), "timing", {"pollSeconds": 4}), "timing.pollSeconds", ""),
        (with_(minimal(), "timing", {"pollSeconds": 3601}), "timing.pollSeconds", ""),
        (with_(minimal(), "timing", {"clusterTimeoutMinutes": 0}), "timing.clusterTimeoutMinutes", ""),
        (with_(minimal(), "timing", {"clusterTimeoutMinutes": 721}), "timing.clusterTimeoutMinutes", ""),
        (with_(minimal(), "timing", {"clientTimeoutMinutes": 0}), "timing.clientTimeoutMinutes", ""),
        (with_(minimal(), "timing", {"clientTimeoutMinutes": 181}), "timing.clientTimeoutMinutes", ""),
        # unknown fields, at every level
        (with_(minimal(), "region", "us-east-1"), "region", "not a known field"),
        (with_(minimal(), "primary.subnetCidr", "10.0.0.0/24"), "primary.subnetCidr", "not a known field"),
        (with_(minimal(), "secondary.Region", "us-west-2"), "secondary.Region", "not a known field"),
        (with_(minimal(), "timing", {"pollSecond": 10}), "timing.pollSecond", "not a known field"),
        # required fields
        (without(minimal(), "deploymentName"), "deploymentName", "required"),
        (without(minimal(), "primary"), "primary", "required"),
        (without(minimal(), "secondary"), "secondary", "required"),
        (without(minimal(), "primary.region"), "primary.region", "required"),
        # wrong types
        (with_(minimal(), "brokersPerAz", "1"), "brokersPerAz", "integer"),
        (with_(minimal(), "brokersPerAz", 1.0), "brokersPerAz", "integer"),
        (with_(minimal(), "brokersPerAz", True), "brokersPerAz", "integer"),
        (with_(minimal(), "brokerStorageGiB", "100"), "brokerStorageGiB", "integer"),
        (with_(minimal(), "timing", {"pollSeconds": "60"}), "timing.pollSeconds", "integer"),
        (with_(minimal(), "deploymentName", 42), "deploymentName", "string"),
        (with_(minimal(), "kafkaVersion", 3.8), "kafkaVersion", "string"),
        (with_(minimal(), "kafkaVersion", None), "kafkaVersion", "string"),
        (with_(minimal(), "primary.vpcCidr", 167772160), "primary.vpcCidr", "string"),
        (with_(minimal(), "primary", "us-east-1"), "primary", "object"),
        (with_(minimal(), "secondary", ["us-west-2"]), "secondary", "object"),
        (with_(minimal(), "timing", 60), "timing", "object"),
        # not an object at all
        ([], "input", "object"),
        ("orders-dr", "input", "object"),
        (None, "input", "object"),
    ],
)
def test_refused(event: object, field: str, words: str) -> None:
    message = refused(event)
    assert f"{field}: " in message
    assert words in message
    assert "pydantic" not in message
    assert "https://" not in message


def test_every_problem_is_reported_at_once() -> None:
    event = with_(minimal(), "deploymentName", "Bad")
    event = with_(event, "brokersPerAz", "2")
    event = with_(event, "timing", {"pollSeconds": 1, "extra": 1})
    message = refused(event)
    problems = message.split("; ")
    assert [p.split(": ", 1)[0] for p in problems] == [
        "deploymentName",
        "brokersPerAz",
        "timing.pollSeconds",
        "timing.extra",
    ]


def test_semantic_problems_are_reported_together() -> None:
    event = with_(minimal(), "secondary.vpcCidr", "10.0.0.0/16")
    event = with_(event, "kafkaVersion", "3.6.0")
    event = with_(event, "brokerInstanceType", "kafka.t3.small")
    event = with_(event, "secondary.region", "us-west-1")
    message = refused(event)
    fields = [p.split(": ", 1)[0] for p in message.split("; ")]
    assert fields == ["secondary.vpcCidr", "kafkaVersion", "brokerInstanceType", "secondary.region"]


def test_only_two_azs_refused_and_names_the_region() -> None:
    message = refused(with_(minimal(), "primary.region", "us-west-1"))
    assert message.startswith("primary.region: us-west-1 has 2 available")
    assert "need 3" in message


def test_region_without_azs_refused() -> None:
    lookup = FakeAzLookup({"us-east-1": ["us-east-1a", "us-east-1b", "us-east-1c"]})
    assert "secondary.region: us-west-2 has 0" in refused(minimal(), lookup)


def test_az_lookup_only_for_regions_that_passed() -> None:
    lookup = FakeAzLookup()
    refused(with_(minimal(), "secondary.region", "us-east-9"), lookup)
    assert lookup.calls == ["us-east-1"]
    lookup = FakeAzLookup()
    refused(with_(minimal(), "secondary.region", "us-east-1"), lookup)
    assert lookup.calls == ["us-east-1"]
    lookup = FakeAzLookup()
    refused(with_(minimal(), "brokersPerAz", "x"), lookup)
    assert lookup.calls == []


def test_az_lookup_duplicates_are_ignored() -> None:
    lookup = FakeAzLookup({"us-east-1": ["us-east-1a", "us-east-1a", "us-east-1b"], "us-west-2": AZS["us-west-2"]})
    assert "primary.region: us-east-1 has 2" in refused(minimal(), lookup)


# --- broker zones: by zone ID, skipping the ones MSK refuses ----------------------------------------


def test_zones_are_the_first_three_by_name_with_their_ids() -> None:
    config = validate_request(minimal(), az_lookup=FakeAzLookup())
    # moto's mapping puts use1-az3 at us-east-1e: not among the first three names
    assert config["primary"]["availabilityZones"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert config["primary"]["availabilityZoneIds"] == ["use1-az6", "use1-az1", "use1-az2"]


def test_a_zone_whose_id_msk_refuses_is_skipped_whatever_its_name() -> None:
    # Client subnets can't occupy the Availability Zone with ID use1-az3 (MSK API reference, BrokerNodeGroupInfo);
    # in this account it is named us-east-1a
    assert "use1-az3" in catalog.MSK_UNSUPPORTED_ZONE_IDS
    lookup = FakeAzLookup(ids={"us-east-1a": "use1-az3", "us-east-1e": "use1-az6"})
    config = validate_request(minimal(), az_lookup=lookup)
    assert config["primary"]["availabilityZones"] == ["us-east-1b", "us-east-1c", "us-east-1d"]
    assert config["primary"]["availabilityZoneIds"] == ["use1-az1", "use1-az2", "use1-az4"]
    assert config["secondary"]["availabilityZones"] == ["us-west-2a", "us-west-2b", "us-west-2c"]


def test_a_region_with_fewer_than_three_usable_zones_is_refused_naming_the_skipped_zone() -> None:
    lookup = FakeAzLookup({"us-east-1": ["us-east-1a", "us-east-1b", "us-east-1e"], "us-west-2": AZS["us-west-2"]})
    message = refused(minimal(), lookup)
    assert message.startswith(
        "primary.region: us-east-1 has 2 available availability zone(s) Amazon MSK can use "
        "(us-east-1a, us-east-1b), the brokers need 3 (skipped us-east-1e = use1-az3: "
    )
    assert "client subnets" in message
    assert "secondary" not in message


# --- Kafka version: asked of MSK in both regions (ListKafkaVersions) ------------------------------------


def test_version_active_in_both_regions_passes_and_msk_is_asked_once_per_region() -> None:
    versions = FakeVersionsLookup()
    config = validate_request(
        with_(minimal(), "kafkaVersion", "4.1.x.kraft"), az_lookup=FakeAzLookup(), versions_lookup=versions
    )
    assert config["kafkaVersion"] == "4.1.x.kraft"
    assert versions.calls == ["us-east-1", "us-west-2"]


def test_version_in_the_catalog_but_deprecated_in_one_region_is_refused_naming_region_and_choices() -> None:
    versions = FakeVersionsLookup({"us-west-2": {**ACTIVE_EVERYWHERE, "3.9.x": "DEPRECATED"}})
    message = refused(with_(minimal(), "kafkaVersion", "3.9.x"), versions_lookup=versions)
    assert message == (
        "kafkaVersion: '3.9.x' is DEPRECATED in Amazon MSK in us-west-2 (ListKafkaVersions), "
        "use one of 3.8.x, 3.8.x.kraft, 3.9.x.kraft, 4.0.x.kraft, 4.1.x.kraft"
    )


def test_version_msk_does_not_list_in_a_region_is_refused() -> None:
    versions = FakeVersionsLookup({"us-east-1": {"3.8.x": "ACTIVE", "3.9.x": "DEPRECATED", "2.8.1": "ACTIVE"}})
    message = refused(with_(minimal(), "kafkaVersion", "4.1.x.kraft"), versions_lookup=versions)
    assert message == (
        "kafkaVersion: '4.1.x.kraft' is not offered by Amazon MSK in us-east-1 (ListKafkaVersions), use one of 3.8.x"
    )


def test_version_refused_in_both_regions_names_both_and_when_nothing_msk_pair_supports_is_active() -> None:
    versions = FakeVersionsLookup({"us-east-1": {"2.8.1": "ACTIVE"}, "us-west-2": {}})
    problems = refused(minimal(), versions_lookup=versions).split("; ")
    assert problems == [
        "kafkaVersion: '3.8.x' is not offered by Amazon MSK in us-east-1 (ListKafkaVersions), "
        "none of the versions msk-pair supports is ACTIVE there",
        "kafkaVersion: '3.8.x' is not offered by Amazon MSK in us-west-2 (ListKafkaVersions), "
        "none of the versions msk-pair supports is ACTIVE there",
    ]


@pytest.mark.parametrize(
    ("event", "refusal"),
    [
        (with_(minimal(), "kafkaVersion", "4.0.x"), "did you mean"),  # the catalog decides: MSK is not asked
        (with_(minimal(), "kafkaVersion", "3.6.0"), "end of support"),
        ({**minimal(), "mode": "teardown", "kafkaVersion": "4.0.x"}, None),  # teardown checks no version
    ],
)
def test_msk_is_not_asked_when_the_catalog_already_decides_or_in_teardown(event: dict, refusal: str | None) -> None:
    versions = FakeVersionsLookup()
    if refusal:
        assert refusal in refused(event, versions_lookup=versions)
    else:
        validate_request(event, az_lookup=FakeAzLookup(), versions_lookup=versions)
    assert versions.calls == []


def test_msk_is_asked_only_in_regions_that_passed() -> None:
    versions = FakeVersionsLookup()
    refused(with_(minimal(), "secondary.region", "us-east-9"), versions_lookup=versions)
    assert versions.calls == ["us-east-1"]


def test_offline_the_catalog_alone_decides() -> None:
    # msk-pair validate passes no versions_lookup: a catalog version passes without asking anyone
    config = validate_request(with_(minimal(), "kafkaVersion", "3.9.x.kraft"), az_lookup=FakeAzLookup())
    assert config["kafkaVersion"] == "3.9.x.kraft"


@pytest.mark.parametrize(
    ("code", "http_status", "retried"),
    [
        ("TooManyRequestsException", 429, True),  # throttled after boto3's own retries
        ("InternalServerErrorException", 500, True),  # MSK's 5xx (botocore kafka model: ListKafkaVersions errors)
        ("ServiceUnavailableException", 503, True),
        ("ForbiddenException", 403, False),  # the role may not call it: not retried, the execution fails
    ],
)
def test_list_kafka_versions_errors_are_classified(
    monkeypatch: pytest.MonkeyPatch, code: str, http_status: int, retried: bool
) -> None:
    kafka = boto3.client(
        "kafka",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "max_attempts": 1}),  # no real backoff sleeps here
    )
    monkeypatch.setattr(config_module, "client", lambda service, region: kafka)
    with Stubber(kafka) as stub:
        stub.add_client_error("list_kafka_versions", service_error_code=code, http_status_code=http_status)
        with pytest.raises((Transient, ClientError)) as info:
            msk_kafka_versions("us-east-1")
    assert isinstance(info.value, Transient) is retried
    assert code in str(info.value)


# --- teardown mode ---------------------------------------------------------------------------


def teardown() -> dict:
    return {
        "mode": "teardown",
        "deploymentName": "orders-dr",
        "primary": {"region": "us-east-1"},
        "secondary": {"region": "us-west-2"},
    }


def test_teardown_needs_only_names_and_regions() -> None:
    lookup = FakeAzLookup()
    config = validate_request(teardown(), az_lookup=lookup)
    assert config["mode"] == "teardown"
    assert config["primary"]["region"] == "us-east-1"
    assert config["primary"]["vpcCidr"] is None
    assert config["primary"]["role"] == "primary"
    assert config["secondary"]["role"] == "secondary"
    assert config["kafkaVersion"] == catalog.DEFAULT_KAFKA_VERSION
    assert config["timing"] == catalog.defaults()["timing"]
    assert lookup.calls == []
    json.dumps(config)


def test_teardown_accepts_the_provision_input_even_if_no_longer_valid_for_provisioning() -> None:
    event = {**sample(), "mode": "teardown", "kafkaVersion": "3.6.0", "brokerInstanceType": "kafka.t3.small"}
    event["secondary"] = {"region": "us-west-1", "vpcCidr": "10.0.0.0/16"}  # 2 AZs, overlapping CIDR
    config = validate_request(event, az_lookup=FakeAzLookup())
    assert config["primary"]["vpcCidr"] == "10.0.0.0/16"
    assert config["secondary"]["vpcCidr"] == "10.0.0.0/16"


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (with_(teardown(), "secondary.region", "us-east-1"), "secondary.region"),
        (with_(teardown(), "primary.region", "nowhere-1"), "primary.region"),
        (with_(teardown(), "deploymentName", "Bad Name"), "deploymentName"),
        (without(teardown(), "deploymentName"), "deploymentName"),
        (without(teardown(), "secondary"), "secondary"),
        (with_(teardown(), "primary.extra", 1), "primary.extra"),
        (with_(teardown(), "brokersPerAz", "1"), "brokersPerAz"),
    ],
)
def test_teardown_refused(event: dict, field: str) -> None:
    assert f"{field}: " in refused(event)


# --- the execution-history budget (mskpair_core.timing) ---------------------------------------


def _timing(**overrides: int) -> dict:
    return {**catalog.defaults()["timing"], **overrides}


def test_default_and_sample_timing_fit_the_history_budget_with_room() -> None:
    defaults = worst_case_events(catalog.defaults()["timing"])
    # room for the states the ASL will gain (the replication phase took it from 75 % to 81 %)
    assert defaults <= HISTORY_BUDGET * 85 // 100, defaults
    assert worst_case_events(validate_request(sample(), az_lookup=FakeAzLookup())["timing"]) <= defaults
    assert HISTORY_BUDGET == HISTORY_EVENT_LIMIT - HISTORY_SAFETY_MARGIN < HISTORY_EVENT_LIMIT


def test_loop_limits_round_up_to_whole_polls() -> None:
    assert loop_limits(_timing(pollSeconds=60)) == {"maxClusterPolls": 120, "maxClientPolls": 30}
    assert loop_limits(_timing(pollSeconds=7, clusterTimeoutMinutes=1, clientTimeoutMinutes=2)) == {
        "maxClusterPolls": 9,  # 60 / 7 = 8.6
        "maxClientPolls": 18,  # 120 / 7 = 17.1
    }


def test_worst_case_is_the_largest_form_of_the_model() -> None:
    model = {"forms": [{"constant": 100, "maxClusterPolls": 2}, {"constant": 10, "maxClientPolls": 5}]}
    assert worst_case_events(_timing(pollSeconds=60), model) == max(100 + 2 * 120, 10 + 5 * 30)
    assert worst_case_events(_timing(pollSeconds=60, clientTimeoutMinutes=180), model) == 10 + 5 * 180
    with pytest.raises(ValueError, match="maxRetries"):
        worst_case_events(_timing(), {"forms": [{"constant": 1, "maxRetries": 1}]})


def test_timing_over_the_budget_is_refused_with_the_numbers_and_the_fix() -> None:
    timing = _timing(pollSeconds=5)
    message = refused(with_(minimal(), "timing", {"pollSeconds": 5}))
    assert message.startswith("timing: pollSeconds 5 with clusterTimeoutMinutes 120 and clientTimeoutMinutes 30 ")
    assert PROBLEM_SEPARATOR not in message  # one problem
    assert f"up to {worst_case_events(timing):,} history events" in message
    assert f"budget of {HISTORY_BUDGET:,}" in message and f"at {HISTORY_EVENT_LIMIT:,} events" in message
    assert "without its rollback" in message
    smallest = int(message.split("use a pollSeconds of at least ")[1].split(",")[0].split(" ")[0])
    assert worst_case_events(_timing(pollSeconds=smallest)) <= HISTORY_BUDGET
    assert worst_case_events(_timing(pollSeconds=smallest - 1)) > HISTORY_BUDGET
    validate_request(with_(minimal(), "timing", {"pollSeconds": smallest}), az_lookup=FakeAzLookup())
    assert "timing: " in refused(with_(minimal(), "timing", {"pollSeconds": smallest - 1}))


def test_the_largest_timeouts_that_fit_are_suggested_for_the_same_poll() -> None:
    poll = 40
    message = refused(with_(minimal(), "timing", {"pollSeconds": poll}))
    assert f"keep pollSeconds {poll} with a clusterTimeoutMinutes of at most " in message
    cluster = int(message.split("clusterTimeoutMinutes of at most ")[1].split(" ")[0])
    client = int(message.split("clientTimeoutMinutes of at most ")[1].split(" ")[0])
    assert worst_case_events(_timing(pollSeconds=poll, clusterTimeoutMinutes=cluster)) <= HISTORY_BUDGET
    assert worst_case_events(_timing(pollSeconds=poll, clusterTimeoutMinutes=cluster + 1)) > HISTORY_BUDGET
    assert worst_case_events(_timing(pollSeconds=poll, clientTimeoutMinutes=client)) <= HISTORY_BUDGET
    assert worst_case_events(_timing(pollSeconds=poll, clientTimeoutMinutes=client + 1)) > HISTORY_BUDGET


def test_no_fix_within_the_ranges_is_said_so() -> None:
    model = {"forms": [{"constant": HISTORY_BUDGET + 1}]}  # a state machine too long whatever the timing
    problem = history_problem(
        _timing(), poll_range=(5, 3600), cluster_range=(1, 720), client_range=(1, 180), model=model
    )
    assert problem is not None and problem.endswith("no timing within the contract's ranges fits")


def test_the_budget_applies_to_teardown_mode_too() -> None:
    teardown = {
        "deploymentName": "orders-dr",
        "mode": "teardown",
        "primary": {"region": "us-east-1"},
        "secondary": {"region": "us-west-2"},
        "timing": {"pollSeconds": 5},
    }
    assert refused(teardown).startswith("timing: pollSeconds 5 ")


def test_the_budget_is_reported_with_the_other_problems() -> None:
    event = with_(minimal(), "secondary.vpcCidr", "10.0.0.0/16")
    event = with_(event, "timing", {"pollSeconds": 5})
    fields = [p.split(": ", 1)[0] for p in refused(event).split(PROBLEM_SEPARATOR)]
    assert fields == ["secondary.vpcCidr", "timing"]
