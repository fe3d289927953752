"""The CLI against the emulator server, as a user runs it: start, follow, status, outputs, teardown, bad input."""

from __future__ import annotations

import json
import re

import boto3
import pytest

from msk_pair.outputs import parse_properties
from tests.cli.conftest import SAMPLE_FILE, clean_env, run_cli

SAMPLE = json.loads(SAMPLE_FILE.read_text())
DEPLOYMENT = SAMPLE["deploymentName"]
REGIONS = [SAMPLE["primary"]["region"], SAMPLE["secondary"]["region"]]
ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d+:execution:[^\s]+")


@pytest.fixture
def aws_at(server, monkeypatch):
    """boto3 in this process pointed at the server (for checks the user would make with the AWS CLI)."""
    for key, value in {
        "AWS_ENDPOINT_URL": server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _executions() -> list[dict]:
    sfn = boto3.client("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    return sfn.list_executions(stateMachineArn=machine)["executions"]


def _one_line_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("msk-pair: ")
    return lines[0]


@pytest.fixture(scope="module")
def provisioned(local):
    """`msk-pair start events/region-pair.json --local`, followed to the end."""
    result = local("start", str(SAMPLE_FILE))
    arn = ARN.search(result.stdout).group(0)
    return result, arn


def test_bad_input_file_is_refused_before_anything_starts(local, aws_at, tmp_path):
    before = len(_executions())
    missing = _one_line_error(local("start", str(tmp_path / "missing.json")))
    assert "cannot read input file" in missing

    not_json = tmp_path / "not.json"
    not_json.write_text('{"deploymentName": ')
    assert "is not valid JSON" in _one_line_error(local("start", str(not_json)))

    bad = dict(SAMPLE, deploymentName="cli-bad")
    bad["secondary"] = dict(SAMPLE["secondary"], vpcCidr=SAMPLE["primary"]["vpcCidr"])
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad))
    line = _one_line_error(local("start", str(bad_file)))
    assert "InvalidInput" in line and "vpcCidr" in line

    unknown = dict(SAMPLE, deploymentName="cli-bad", brokerCount=3)
    bad_file.write_text(json.dumps(unknown))
    assert "brokerCount" in _one_line_error(local("start", str(bad_file)))

    assert len(_executions()) == before  # nothing started
    from msk_pair.emulator.inventory import inventory

    assert inventory("cli-bad", REGIONS) == {}  # nothing created


def test_start_follows_to_success(provisioned):
    result, _arn = provisioned
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "started on the emulator at http://127.0.0.1:" in out
    assert "▶ Validate input" in out
    assert "✓ Wait for clusters ACTIVE" in out
    # a wait-until-ready loop is one ▶ line and one ✓ line, however many polls it took
    assert out.count("▶ Wait for clusters ACTIVE") == 1
    assert "■ execution succeeded" in out
    # what a Kafka user needs, printed at the end
    assert out.count(":9096") >= 2 and "aws ssm start-session --target i-" in out


def test_status_and_follow_of_a_finished_execution(provisioned, local):
    _, arn = provisioned
    status = local("status", arn)
    assert status.returncode == 0, status.stderr
    assert "status:     SUCCEEDED" in status.stdout and f"deployment: {DEPLOYMENT}" in status.stdout
    replay = local("follow", arn)
    assert replay.returncode == 0 and "■ execution succeeded" in replay.stdout
    unknown = arn.rsplit(":", 1)[0] + ":no-such-execution"
    assert "no such execution" in _one_line_error(local("status", unknown))


def test_outputs_print_bootstrap_strings_and_a_valid_mm2_properties(provisioned, local, tmp_path):
    _result, arn = provisioned
    output = json.loads(local("outputs", arn, "--json").stdout)
    mm2_file = tmp_path / "mm2.properties"
    printed = local("outputs", "--deployment", DEPLOYMENT, "--mm2", str(mm2_file))
    assert printed.returncode == 0, printed.stderr
    for role in ("primary", "secondary"):
        side = output[role]
        assert side["bootstrapBrokersSaslScram"] in printed.stdout
        assert f"aws ssm start-session --target {side['clientInstanceId']} --region {side['region']}" in printed.stdout
        assert side["scramSecretArn"] in printed.stdout
    assert "/opt/kafka/config/client.properties" in printed.stdout

    text = mm2_file.read_text()
    props = parse_properties(text)
    assert props["clusters"] == "primary, secondary"
    assert props["primary.bootstrap.servers"] == output["primary"]["bootstrapBrokersSaslScram"]
    assert props["secondary.bootstrap.servers"] == output["secondary"]["bootstrapBrokersSaslScram"]
    assert props["primary->secondary.enabled"] == "true" and props["secondary->primary.enabled"] == "false"
    for role in ("primary", "secondary"):
        assert props[f"{role}.security.protocol"] == "SASL_SSL"
        assert props[f"{role}.sasl.mechanism"] == "SCRAM-SHA-512"
        assert (
            f"${{file:/opt/kafka/config/mm2-secrets.properties:{role}.password}}" in props[f"{role}.sasl.jaas.config"]
        )
    # no password: the only password= values are config-provider references
    assert all(v.startswith("${file:") for v in re.findall(r'password="([^"]*)"', text))
    assert "password=" not in text.replace('password="${file:', "")


def test_teardown_after_success_leaves_nothing(provisioned, local, aws_at):
    assert provisioned[0].returncode == 0
    result = local("teardown", "--deployment", DEPLOYMENT)  # regions from the deployment's last execution
    assert result.returncode == 0, result.stdout + result.stderr
    assert "▶ teardown: deleting everything tagged with the deployment" in result.stdout
    assert "■ execution succeeded" in result.stdout
    assert f"nothing left tagged msk-pair:deployment={DEPLOYMENT}" in result.stdout
    from msk_pair.emulator.inventory import inventory

    assert inventory(DEPLOYMENT, REGIONS) == {}


def test_without_the_emulator_server_local_says_how_to_start_one():
    line = _one_line_error(
        run_cli("status", "arn:aws:states:us-east-1:1:execution:m:x", "--local", "--endpoint-url", "http://127.0.0.1:9")
    )
    assert "msk-pair emulator serve" in line


def test_real_aws_without_credentials_is_one_clear_line(tmp_path):
    env = clean_env(AWS_DEFAULT_REGION="us-east-1")
    line = _one_line_error(run_cli("start", str(SAMPLE_FILE), env=env))
    assert "no AWS credentials" in line
    line = _one_line_error(run_cli("status", "arn:aws:states:us-east-1:123456789012:execution:m:x", env=env))
    assert "no AWS credentials" in line


def test_real_aws_path_with_a_missing_stack(server):
    # The real-AWS code path (CloudFormation stack output lookup), served by the emulator.
    env = clean_env(
        AWS_ENDPOINT_URL=server,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    line = _one_line_error(run_cli("outputs", "--deployment", DEPLOYMENT, "--stack-name", "no-such-stack", env=env))
    assert "no CloudFormation stack 'no-such-stack'" in line
