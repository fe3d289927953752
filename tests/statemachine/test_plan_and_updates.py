"""Issue 12 on the real state machine: a plan before every change; never lose a live deployment.

A run on a deployment that exists compares the request with what is deployed (Plan changes): a request
that needs a replacement is refused before anything is touched; in-place changes are made by MSK's own
update operations; a failed run rolls back only what it made.
"""

from __future__ import annotations

import copy
import json

import boto3

from msk_pair.cli.progress import Tracker
from msk_pair.emulator import msk as msk_emulator
from msk_pair.emulator.inventory import inventory
from tests.conftest import REGIONS, leftovers


def _entered(result) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]


def _live(deployment: str = "orders-dr") -> dict:
    """What exists of the deployment, without what is already on its way out (terminated instances)."""
    found = inventory(deployment, REGIONS)
    return json.loads(json.dumps(found, sort_keys=True))


def test_a_request_needing_a_replacement_is_refused_before_anything_is_touched(emu, sample):
    """The issue's report: a changed primary vpcCidr (and brokersPerAz 1 -> 2) tore the deployment down."""
    first = emu.run(sample)
    assert first.status == "SUCCEEDED", first.cause
    before = _live()

    changed = copy.deepcopy(sample)
    changed["primary"]["vpcCidr"] = "10.1.0.0/16"
    changed["brokersPerAz"] = 2
    refused = emu.run(changed)

    assert (refused.status, refused.error) == ("FAILED", "ReplacementRequired"), refused.cause
    cause = json.loads(refused.cause)["errorMessage"]
    assert "primary.vpcCidr: deployed '10.0.0.0/16', requested '10.1.0.0/16'" in cause
    assert "msk-pair teardown --deployment orders-dr" in cause
    assert "brokersPerAz" not in cause.split("Nothing was changed")[0]  # in place, not a replacement
    assert _entered(refused) == ["Validate input", "Provision or teardown?", "Plan changes"]
    assert _live() == before  # intact
    again = emu.run(sample)  # and usable: the same request still succeeds with the same clusters
    assert again.status == "SUCCEEDED", again.cause
    for role in ("primary", "secondary"):
        assert again.output[role]["clusterArn"] == first.output[role]["clusterArn"]
        assert again.output[role]["bootstrapBrokersSaslScram"] == first.output[role]["bootstrapBrokersSaslScram"]


def test_a_decrease_is_refused(emu, sample):
    sample["brokerStorageGiB"] = 200
    assert emu.run(sample).status == "SUCCEEDED"
    smaller = copy.deepcopy(sample)
    smaller["brokerStorageGiB"] = 150
    refused = emu.run(smaller)
    assert (refused.status, refused.error) == ("FAILED", "ReplacementRequired")
    assert "brokerStorageGiB (primary): deployed 200, requested 150 (MSK cannot decrease broker storage)" in (
        refused.cause
    )
    kafka = boto3.client("kafka", region_name=REGIONS[0])
    info = kafka.list_clusters_v2()["ClusterInfoList"][0]
    assert info["Provisioned"]["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 200


def test_a_failed_run_on_an_existing_deployment_deletes_nothing_that_existed(emu, sample):
    assert emu.run(sample).status == "SUCCEEDED"
    before = _live()
    emu.faults.add("ClientVerifyFunction", role="secondary", error="HardFault", message="broken verification")
    result = emu.run(sample)
    assert (result.status, result.error) == ("FAILED", "HardFault")
    names = _entered(result)
    assert "Roll back only what this run made" in names and "Roll back everything" not in names
    assert _live() == before
    tracker = Tracker()  # what `msk-pair status/follow` says about this rollback
    for event in result.events:
        tracker(event)
    assert tracker.rollback == "complete: what this run made was deleted; the deployment that existed before it is kept"


def test_a_failed_first_provisioning_still_rolls_back_everything(emu, sample):
    emu.faults.add("ClientVerifyFunction", role="secondary", error="HardFault")
    result = emu.run(sample)
    assert (result.status, result.error) == ("FAILED", "HardFault")
    assert "Roll back everything" in _entered(result)
    assert leftovers() == {}


def test_every_resource_records_the_execution_that_made_it(emu, sample):
    result = emu.run(sample, name="first-run")
    assert result.status == "SUCCEEDED"
    ec2 = boto3.client("ec2", region_name=REGIONS[0])
    vpc = ec2.describe_vpcs(VpcIds=[result.output["primary"]["vpcId"]])["Vpcs"][0]
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]}["msk-pair:execution"] == "first-run"
    kafka = boto3.client("kafka", region_name=REGIONS[0])
    tags = kafka.list_tags_for_resource(ResourceArn=result.output["primary"]["clusterArn"])["Tags"]
    assert tags["msk-pair:execution"] == "first-run"
    again = emu.run(sample, name="second-run")  # a re-run makes nothing: the tags stay the first run's
    assert again.status == "SUCCEEDED"
    vpc = ec2.describe_vpcs(VpcIds=[result.output["primary"]["vpcId"]])["Vpcs"][0]
    assert {t["Key"]: t["Value"] for t in vpc["Tags"]}["msk-pair:execution"] == "first-run"


def _clusters() -> dict[str, dict]:
    out = {}
    for region in REGIONS:
        for info in boto3.client("kafka", region_name=region).list_clusters_v2()["ClusterInfoList"]:
            out[region] = info
    return out


def test_more_brokers_and_more_storage_are_made_in_place_and_reported(emu, sample):
    first = emu.run(sample)
    assert first.status == "SUCCEEDED", first.cause
    versions = {region: info["CurrentVersion"] for region, info in _clusters().items()}
    bigger = dict(copy.deepcopy(sample), brokersPerAz=2, brokerStorageGiB=200)
    result = emu.run(bigger)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["existedBefore"] is True
    for role in ("primary", "secondary"):
        assert result.output[role]["clusterArn"] == first.output[role]["clusterArn"]  # the same clusters
        assert result.output[role]["changes"]["cluster"] == [
            {"field": "brokersPerAz", "from": 1, "to": 2},  # one MSK update at a time, in this order
            {"field": "brokerStorageGiB", "from": 100, "to": 200},
        ]
        assert result.output[role]["bootstrapBrokersSaslScram"].count(":9096") == 6
    for region, info in _clusters().items():
        provisioned = info["Provisioned"]
        assert provisioned["NumberOfBrokerNodes"] == 6
        assert provisioned["BrokerNodeGroupInfo"]["StorageInfo"]["EbsStorageInfo"]["VolumeSize"] == 200
        assert info["CurrentVersion"] != versions[region] and info["State"] == "ACTIVE"
    names = _entered(result)
    assert names.count("Primary: update cluster") >= 3  # waited while UPDATING, twice


def test_a_failure_in_an_update_rolls_back_nothing_that_existed(emu, sample):
    assert emu.run(sample).status == "SUCCEEDED"
    before = _live()
    msk_emulator.fail_next_update(region=REGIONS[0], message="broker replacement failed")
    result = emu.run(dict(copy.deepcopy(sample), brokersPerAz=2))
    assert (result.status, result.error) == ("FAILED", "ResourceFailed"), result.cause
    assert "ended without changing it" in result.cause
    assert "Roll back only what this run made" in _entered(result)
    assert _live() == before
    assert _clusters()[REGIONS[0]]["Provisioned"]["NumberOfBrokerNodes"] == 3  # MSK kept the old settings
