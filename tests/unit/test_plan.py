"""The plan (mskpair_core.plan): each field of a request against what is deployed, and the refusal's words.

``classify`` is pure: these tests give it a deployed state by hand. The state machine tests
(tests/statemachine/test_plan_and_updates.py) read the state from the emulator.
"""

from __future__ import annotations

import copy

import pytest

from mskpair_core import catalog
from mskpair_core.errors import ReplacementRequired
from mskpair_core.plan import classify, refuse_replacements

CONFIG = {
    "deploymentName": "orders-dr",
    "primary": {"region": "us-east-1", "vpcCidr": "10.0.0.0/16"},
    "secondary": {"region": "us-west-2", "vpcCidr": "172.31.0.0/16"},
    "kafkaVersion": "3.8.x",
    "brokerInstanceType": "kafka.m5.large",
    "brokersPerAz": 1,
    "brokerStorageGiB": 100,
    "clientInstanceType": "t3.small",
    "scramUsername": "msk-admin",
}


def deployed(**changes) -> dict:
    """The deployed state of CONFIG, with ``changes`` to the primary side's cluster."""
    state = {"regions": ["us-east-1", "us-west-2"]}
    for role in ("primary", "secondary"):
        state[role] = {
            "vpcCidr": CONFIG[role]["vpcCidr"],
            "clientInstanceType": "t3.small",
            "scramUsername": "msk-admin",
            "cluster": {
                "clusterArn": f"arn:aws:kafka:x:1:cluster/orders-dr-{role}/u-2",
                "state": "ACTIVE",
                "kafkaVersion": "3.8.x",
                "brokerInstanceType": "kafka.m5.large",
                "brokersPerAz": 1,
                "brokerStorageGiB": 100,
            },
        }
    state["primary"]["cluster"].update(changes)
    return state


def request(**changes) -> dict:
    config = copy.deepcopy(CONFIG)
    config.update(changes)
    return config


def changes(plan) -> dict[str, str]:
    return {f"{f.field}@{f.region}" if f.region else f.field: f.change for f in plan.fields if f.change != "unchanged"}


def test_nothing_deployed_is_a_first_provisioning():
    empty = {"regions": None}
    for role in ("primary", "secondary"):
        empty[role] = {"vpcCidr": None, "cluster": None, "clientInstanceType": None, "scramUsername": None}
    plan = classify(CONFIG, empty)
    assert plan.exists is False and plan.fields == []
    refuse_replacements(plan)


def test_the_same_request_changes_nothing():
    plan = classify(CONFIG, deployed())
    assert plan.exists is True and changes(plan) == {}


def test_the_plan_says_what_a_run_does_to_mirrormaker_2():
    """No field of the plan holds the replication block (it is rendered on the secondary client), so the
    plan of an existing deployment says what the run will do to MirrorMaker 2, and nothing for a first run."""
    assert classify(CONFIG, deployed()).notes == [
        "replication: MirrorMaker 2's configuration is rendered again on the secondary client; the service "
        "restarts only if it differs from the running one (the same replication block changes nothing)"
    ]
    (off,) = classify(request(replication={"engine": "none"}), deployed()).notes
    assert "keeps running" in off and "systemctl disable --now msk-pair-mm2" in off
    assert classify(request(replication={"engine": "none"}), deployed()).to_dict()["notes"] == [off]


def test_more_brokers_and_more_storage_are_in_place():
    plan = classify(request(brokersPerAz=2, brokerStorageGiB=200), deployed())
    assert changes(plan) == {
        "brokersPerAz@primary": "in-place",
        "brokersPerAz@secondary": "in-place",
        "brokerStorageGiB@primary": "in-place",
        "brokerStorageGiB@secondary": "in-place",
    }
    assert {f.why for f in plan.in_place} == {"UpdateBrokerCount", "UpdateBrokerStorage"}


@pytest.mark.parametrize(
    ("field", "deployed_value", "requested", "why"),
    [
        ("brokersPerAz", 2, 1, "does not remove"),
        ("brokerStorageGiB", 500, 200, "cannot decrease"),
        ("brokerStorageGiB", 50, 80, "more than 100 GiB"),  # MSK developer guide: target > 100 GiB
        ("brokerInstanceType", "kafka.m5.xlarge", "kafka.m5.large", "smaller broker size"),
        ("kafkaVersion", "3.9.x", "3.8.x", "compatible"),
    ],
)
def test_what_msk_cannot_do_in_place_is_a_replacement(field, deployed_value, requested, why):
    plan = classify(request(**{field: requested}), deployed(**{field: deployed_value}))
    refused = [f for f in plan.replacements if f.field == field and f.region == "primary"]
    assert len(refused) == 1 and why in refused[0].why
    with pytest.raises(ReplacementRequired) as exc:
        refuse_replacements(plan)
    message = str(exc.value)
    assert f"{field} (primary): deployed {deployed_value!r}, requested {requested!r}" in message
    assert "Nothing was changed" in message and "msk-pair teardown --deployment orders-dr" in message


def test_a_changed_vpc_cidr_and_region_are_replacements_named_with_both_values():
    config = request()
    config["primary"] = {"region": "eu-west-1", "vpcCidr": "10.1.0.0/16"}
    plan = classify(config, deployed())
    message = plan.refusal()
    assert "primary.region: deployed 'us-east-1', requested 'eu-west-1'" in message
    assert "primary.vpcCidr: deployed '10.0.0.0/16', requested '10.1.0.0/16'" in message


def test_a_kafka_upgrade_msk_lists_is_in_place():
    plan = classify(request(kafkaVersion="3.9.x"), deployed(), {"primary": ["3.9.x"], "secondary": ["3.9.x"]})
    assert changes(plan) == {"kafkaVersion@primary": "in-place", "kafkaVersion@secondary": "in-place"}
    zookeeper_to_kraft = classify(request(kafkaVersion="3.8.x.kraft"), deployed(), {"primary": ["3.9.x"]})
    assert {f.field for f in zookeeper_to_kraft.replacements} == {"kafkaVersion"}


def test_another_client_type_is_in_place_and_another_scram_user_is_not():
    plan = classify(request(clientInstanceType="t3.large", scramUsername="admin2"), deployed())
    assert changes(plan) == {
        "clientInstanceType@primary": "in-place",
        "clientInstanceType@secondary": "in-place",
        "scramUsername@primary": "replace",
        "scramUsername@secondary": "replace",
    }


def test_a_part_not_made_yet_is_created():
    state = deployed()
    state["secondary"]["cluster"] = None
    plan = classify(CONFIG, state)
    assert changes(plan) == {"cluster@secondary": "create"}


@pytest.mark.parametrize(
    ("current", "target", "ok"),
    [
        ("kafka.m5.large", "kafka.m7g.large", True),  # "from M5 ... to M7g"
        ("kafka.m7g.large", "kafka.m5.large", True),  # "from M7g to M5"
        ("kafka.m5.large", "kafka.m5.2xlarge", True),
        ("kafka.m5.2xlarge", "kafka.m5.large", False),  # "can't migrate from a larger broker size to a smaller"
        ("kafka.m7g.xlarge", "kafka.t3.small", False),
    ],
)
def test_broker_type_moves_follow_the_msk_guide(current, target, ok):
    assert (catalog.broker_type_update_problem(current, target) is None) is ok
