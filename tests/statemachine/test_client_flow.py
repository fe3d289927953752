"""Issue 4 on the real state machine: the client machine, bootstrapped and smoke-tested over SSM."""

from __future__ import annotations

import json
from dataclasses import replace

import boto3

from msk_pair.emulator import ssm as ssm_emulator
from msk_pair.emulator.engine import Emulator
from msk_pair.emulator.profile import FAST
from tests.conftest import ROOT, leftovers


def _entered(result):
    return [e["stateEnteredEventDetails"]["name"] for e in result.events if e["type"].endswith("StateEntered")]


def _password(region, secret_arn):
    sm = boto3.client("secretsmanager", region_name=region)
    return json.loads(sm.get_secret_value(SecretId=secret_arn)["SecretString"])["password"]


def test_client_is_launched_while_the_cluster_is_creating_and_bootstrapped_without_the_password(emu, sample):
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    names = _entered(result)
    for t in ("Primary", "Secondary"):
        assert names.index(f"{t}: launch client") < names.index("Wait for clusters ACTIVE")
        assert names.index(f"{t}: verify client") > names.index(f"{t}: associate secret")
    for role in ("primary", "secondary"):
        out = result.output[role]
        region = sample[role]["region"]
        assert out["smokeTestPassed"] is True
        ec2 = boto3.client("ec2", region_name=region)
        instance = ec2.describe_instances(InstanceIds=[out["clientInstanceId"]])["Reservations"][0]["Instances"][0]
        assert instance["MetadataOptions"]["HttpTokens"] == "required"
        assert "KeyName" not in instance
        assert instance["SubnetId"] in {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
        commands = [c for c in ssm_emulator.sent_commands(region) if out["clientInstanceId"] in c["instanceIds"]]
        # bootstrap; then smoke test and cross-region check in one; then the replication commands (issue 13)
        bootstrap, verify = commands[:2]
        assert [c["comment"].split()[1] for c in commands[2:]] == (
            ["canary"] if role == "primary" else ["mm2-start", "replication-check"]
        )
        version = sample["kafkaVersion"].replace(".x", "")
        assert "java-17-amazon-corretto" in bootstrap["script"]
        assert f"kafka_2.13-{version}" in bootstrap["script"] and ".sha512" in bootstrap["script"]
        assert "SCRAM-SHA-512" in bootstrap["script"] and "SASL_SSL" in bootstrap["script"]
        assert "get-secret-value" in bootstrap["script"]
        assert out["bootstrapBrokersSaslScram"] in verify["script"] and "kafka-topics.sh" in verify["script"]
        other = "secondary" if role == "primary" else "primary"
        assert result.output[other]["bootstrapBrokersSaslScram"] in verify["script"]
        password = _password(region, out["scramSecretArn"])
        for command in commands:
            assert password not in json.dumps(command)
        assert password not in result.history_text()
        # the default group admits the client group on the Kafka and Prometheus ports only
        default = ec2.describe_security_groups(
            Filters=[
                {"Name": "vpc-id", "Values": [out["vpcId"]]},
                {"Name": "group-name", "Values": ["default"]},
            ]
        )["SecurityGroups"][0]
        naming = [
            (p["FromPort"], p["ToPort"])
            for p in default["IpPermissions"]
            if any(g["GroupId"] == out["clientSecurityGroupId"] for g in p.get("UserIdGroupPairs", []))
        ]
        assert sorted(naming) == [(9096, 9096), (11001, 11001), (11002, 11002)]


def test_instance_profile_propagation_is_retried_not_fatal(sample):
    # a profile that EC2 sees only a minute after it is made: the launch must wait it out
    slow_iam = replace(FAST, instance_profile_propagation=60.0)
    with Emulator(root=ROOT, profile=slow_iam) as emu:
        result = emu.run(sample)
        assert result.status == "SUCCEEDED", result.cause
    profile_errors = [
        e
        for e in result.events
        if e["type"] == "LambdaFunctionFailed"
        and "Instance Profile" in e["lambdaFunctionFailedEventDetails"].get("cause", "")
    ]
    assert profile_errors, "the emulator's instance-profile propagation delay was not exercised"


def test_a_failed_bootstrap_command_tears_everything_down_with_its_error(emu, sample):
    ssm_emulator.fail_next_command(match="corretto", stderr="curl: (22) 404 Not Found")
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "ResourceFailed"
    assert "404 Not Found" in result.cause
    assert leftovers() == {}


def test_a_client_that_never_comes_online_times_out_and_tears_down(emu, sample):
    ssm_emulator.block_registration()
    sample["timing"] = {"pollSeconds": 60, "clientTimeoutMinutes": 10}
    result = emu.run(sample)
    assert result.status == "FAILED"
    assert result.error == "ClientTimeout"
    assert leftovers() == {}
