"""MirrorMaker 2 on the real state machine: replicating, proven by the canary and the offset sync (issue 13).

Each run is a whole execution on the emulator (a few seconds); the Kafka model they run on is
msk_pair.emulator.kafka (network path, SCRAM secrets read on the machine, MirrorMaker 2's runs).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from msk_pair.emulator import clock, kafka, ssm
from mskpair_core import replication as rep
from mskpair_core.catalog import KAFKA_SASL_SCRAM_PORT as PORT
from tests.conftest import SAMPLE, TEARDOWN_REQUEST, leftovers
from tests.statemachine.test_network_path_flow import _group, break_before_state
from tests.statemachine.test_observability import _observe

CIDR = {role: SAMPLE[role]["vpcCidr"] for role in ("primary", "secondary")}
REPLICATION_FUNCTIONS = {
    "ReplicationStartFunction",
    "ReplicationCanaryFunction",
    "ReplicationCheckFunction",
    "ReplicationCommandStatusFunction",
}


def entered(result: Any) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]


def secondary_client() -> str:
    ec2 = boto3.client("ec2", region_name=SAMPLE["secondary"]["region"])
    filters = [
        {"Name": "tag:msk-pair:deployment", "Values": [SAMPLE["deploymentName"]]},
        {"Name": "tag:msk-pair:role", "Values": ["secondary"]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    return ec2.describe_instances(Filters=filters)["Reservations"][0]["Instances"][0]["InstanceId"]


def command_texts_and_outputs() -> str:
    """Every command sent and everything the commands printed (as GetCommandInvocation returns it)."""
    parts = []
    for command in ssm.sent_commands():
        parts.append(command["script"])
        client = boto3.client("ssm", region_name=command["region"])
        for instance in command["instanceIds"]:
            inv = client.get_command_invocation(CommandId=command["commandId"], InstanceId=instance)
            parts += [inv.get("StandardOutputContent", ""), inv.get("StandardErrorContent", "")]
    return "\n".join(parts)


def test_replicating_proven_by_the_canary_and_the_offset_sync_without_the_password(emu, sample, capsys, monkeypatch):
    obs = _observe(emu, sample, capsys, monkeypatch)
    result = obs.result
    assert result.status == "SUCCEEDED", result.cause
    replication = result.output["replication"]
    check = replication["check"]
    assert check["sent"] == check["seen"] == rep.CANARY_RECORDS
    assert 0 < check["p50Ms"] <= check["p99Ms"]
    assert replication["offsetSync"] == {"group": "msk-pair-canary", "primaryOffset": 10, "secondaryOffset": 10}
    assert replication["replicatedTopics"]["msk-pair.canary"] == "primary.msk-pair.canary"
    instance = result.output["secondary"]["clientInstanceId"]
    assert replication["service"]["instanceId"] == instance
    assert "systemctl status msk-pair-mm2" in replication["service"]["statusCommand"]
    assert "11001" in replication["prometheusScrapeConfig"] and "11002" in replication["prometheusScrapeConfig"]
    status = kafka.service_status(instance)
    assert status["state"] == "active" and status["enabled"] and status["starts"] == 1
    assert status["config"]["primary->secondary.enabled"] == "true"
    # the password: not in the history, the output, any command's text or output, any log line
    everything = [result.history_text(), json.dumps(result.output), command_texts_and_outputs(), obs.everything]
    assert len(obs.passwords) == 2
    for password in obs.passwords:
        assert all(password not in text for text in everything)
    # and the secrets file holds what the secondary machine read from Secrets Manager: both clusters' secrets
    secrets = json.loads(kafka.machine_file(instance, rep.MM2_SECRETS))
    assert secrets == {
        role: [result.output[role]["scramSecretArn"], sample[role]["region"]] for role in ("primary", "secondary")
    }


def test_a_rerun_does_nothing_a_changed_block_restarts_and_teardown_stops_it_first(emu, sample):
    first = emu.run(sample)
    assert first.status == "SUCCEEDED", first.cause
    instance = first.output["secondary"]["clientInstanceId"]
    config = kafka.machine_file(instance, rep.MM2_PROPERTIES)

    again = emu.run(sample)  # service running, configuration unchanged: nothing restarts, the proof runs again
    assert again.status == "SUCCEEDED", again.cause
    assert again.output["replication"]["check"]["seen"] == rep.CANARY_RECORDS
    assert kafka.service_status(instance)["starts"] == 1
    assert kafka.machine_file(instance, rep.MM2_PROPERTIES) == config

    sample["replication"] = {"groups": "billing-.*"}
    changed = emu.run(sample)  # a changed replication block: the configuration is rewritten, the service restarted
    assert changed.status == "SUCCEEDED", changed.cause
    status = kafka.service_status(instance)
    assert status["starts"] == 2 and status["config"]["groups"] == "billing-.*, msk-pair-canary"
    assert changed.output["replication"]["offsetSync"]["secondaryOffset"] == 30  # three canaries by now

    teardown = emu.run(TEARDOWN_REQUEST)
    assert teardown.status == "SUCCEEDED", teardown.cause
    names = entered(teardown)
    assert names.index("Secondary: stop MirrorMaker 2") < names.index("Secondary: terminate client")
    stops = [h for h in kafka.history() if h["kind"] == "mm2-stop"]
    assert stops[-1]["why"] == "stopped (systemctl disable --now)"  # by the stop command, not by the termination
    assert leftovers() == {}


def test_identical_naming_replicates_under_the_same_name(emu, sample):
    sample["replication"] = {"topicNaming": "identical"}
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["replication"]["replicatedTopics"]["msk-pair.canary"] == "msk-pair.canary"
    assert result.output["replication"]["offsetSync"]["secondaryOffset"] == 10
    topics = kafka.topics(result.output["secondary"]["clusterArn"])
    assert topics["msk-pair.canary"]["records"] == rep.CANARY_RECORDS and "primary.msk-pair.canary" not in topics
    assert topics["msk-pair.canary"]["timestampType"] == "LogAppendTime"  # made by the start script, kept by MM2


def test_a_mirrormaker_that_dies_fails_the_canary_and_the_rollback_leaves_nothing(emu, sample, monkeypatch):
    # Right after the start command ran (its systemctl restart), MirrorMaker 2 starts dying at every start,
    # before it replicated anything: systemd gives up (start-limit-hit) and no record reaches the secondary.
    def kill() -> None:
        kafka.break_mm2(secondary_client(), at=clock.now() + 7)

    break_before_state(emu, monkeypatch, "Secondary: wait for MirrorMaker 2", kill)
    result = emu.run(sample)
    assert result.status == "FAILED" and result.error == "ReplicationFailed", result.cause
    cause = json.loads(result.cause)["errorMessage"]
    assert "0 of 10 canary records on primary.msk-pair.canary" in cause
    assert "start-limit-hit" in cause  # the service's log, printed by the check
    assert "Teardown" in entered(result)
    assert leftovers() == {}


def test_a_security_group_closed_to_the_peer_fails_the_canary_naming_the_path(emu, sample, monkeypatch):
    # After Verify proved the path, the primary cluster's group stops admitting the secondary VPC on 9096:
    # MirrorMaker 2 (on the secondary client) cannot consume from the primary.
    def close() -> None:
        rule = {"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "IpRanges": [{"CidrIp": CIDR["secondary"]}]}
        ec2 = boto3.client("ec2", region_name=SAMPLE["primary"]["region"])
        ec2.revoke_security_group_ingress(GroupId=_group("primary", "default"), IpPermissions=[rule])

    break_before_state(emu, monkeypatch, "Secondary: start MirrorMaker 2", close)
    result = emu.run(sample)
    assert result.status == "FAILED" and result.error == "ReplicationFailed", result.cause
    cause = json.loads(result.cause)["errorMessage"]
    assert "0 of 10 canary records" in cause
    assert f"admit on TCP {PORT} neither" in cause and "b-1.orders-dr-primary" in cause  # the path, named
    assert leftovers() == {}


def test_engine_none_runs_todays_workflow(emu, sample):
    sample["replication"] = {"engine": "none"}
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    assert set(result.output) == {"deploymentName", "existedBefore", "primary", "secondary", "peering"}
    invoked = {r["function"] for r in emu.runtime.invocations}
    assert not invoked & REPLICATION_FUNCTIONS
    names = entered(result)
    assert names.index("Replicate?") == len(names) - 2 and names[-1] == "Assemble output"
    assert not [c for c in ssm.sent_commands() if kafka.handles(c["script"])]  # bootstrap and verify only
    assert [c["comment"].split()[1] for c in ssm.sent_commands()].count("verify") == 2


@pytest.mark.parametrize("naming", ["prefixed"])
def test_mirrormaker_killed_once_is_restarted_by_systemd_and_replicates(emu, sample, monkeypatch, naming):
    # Restart=on-failure: a SIGKILL before it replicated anything, and systemd starts it again RestartSec later.
    def kill() -> None:
        kafka.kill_mm2(secondary_client(), at=clock.now() + 7)

    break_before_state(emu, monkeypatch, "Secondary: wait for MirrorMaker 2", kill)
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    runs = kafka.service_status(result.output["secondary"]["clientInstanceId"])["runs"]
    assert len(runs) == 2 and runs[0]["crash"] and runs[1]["ended"] is None
    assert result.output["replication"]["check"]["seen"] == rep.CANARY_RECORDS
