"""The CLI against the emulator server, as a user runs it: in a pipe and in a terminal.

start, follow, status, list, outputs, teardown, and the mistakes a user makes on the way.
Two deployments are made here: the sample (``orders-dr``) and ``payments-dr``.
"""

from __future__ import annotations

import json
import re
import signal

import boto3
import pytest

from msk_pair.outputs import parse_properties
from tests.cli.conftest import SAMPLE_FILE, Terminal, clean_env, one_line_error, run_cli

SAMPLE = json.loads(SAMPLE_FILE.read_text())
DEPLOYMENT = SAMPLE["deploymentName"]
REGIONS = [SAMPLE["primary"]["region"], SAMPLE["secondary"]["region"]]
SECOND = dict(
    SAMPLE,
    deploymentName="payments-dr",
    primary={"region": "us-east-2", "vpcCidr": "10.20.0.0/16"},
    secondary={"region": "eu-west-1", "vpcCidr": "10.30.0.0/16"},
)
pytestmark = pytest.mark.xdist_group("cli-local")  # one emulator server for the module, not one per worker
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


@pytest.fixture(scope="module")
def provisioned(local):
    """`msk-pair start events/region-pair.json --local`, followed to the end (output in a pipe)."""
    result = local("start", str(SAMPLE_FILE))
    arn = ARN.search(result.stdout).group(0)
    return result, arn


@pytest.fixture(scope="module")
def second(local, tmp_path_factory):
    """A second deployment, started with --no-follow --json and followed with `follow`."""
    path = tmp_path_factory.mktemp("second") / "payments.json"
    path.write_text(json.dumps(SECOND))
    started = local("start", str(path), "--no-follow", "--json")
    assert started.returncode == 0, started.stderr
    arn = json.loads(started.stdout)["executionArn"]
    followed = local("follow", arn)
    assert followed.returncode == 0, followed.stdout + followed.stderr
    return arn


def test_bad_input_file_is_refused_before_anything_starts(main_in_process, local, server, aws_at, tmp_path):
    before = len(_executions())
    missing = one_line_error(local("start", str(tmp_path / "missing.json")))
    assert "cannot read input file" in missing

    def start(path: str):
        return main_in_process("start", path, "--local", "--endpoint-url", server)

    not_json = tmp_path / "not.json"
    not_json.write_text('{"deploymentName": ')
    assert "is not valid JSON" in one_line_error(start(str(not_json)))

    bad = dict(SAMPLE, deploymentName="cli-bad")
    bad["secondary"] = dict(SAMPLE["secondary"], vpcCidr=SAMPLE["primary"]["vpcCidr"])
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad))
    line = one_line_error(start(str(bad_file)))
    assert "InvalidInput" in line and "vpcCidr" in line
    # the same bad file, the same answer from every command that reads one
    assert one_line_error(main_in_process("run", "--local", str(bad_file))) == line
    assert one_line_error(main_in_process("validate", str(bad_file))) == line

    unknown = dict(SAMPLE, deploymentName="cli-bad", brokerCount=3)
    bad_file.write_text(json.dumps(unknown))
    assert "brokerCount: is not a known field (did you mean 'brokersPerAz'?)" in one_line_error(start(str(bad_file)))

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
    # retries (the instance profile is not usable at once) are one line per step, not raw AWS errors
    assert re.search(r"↻ Primary: launch client: \d+ retr(y|ies): instance profile not usable yet\n", out)
    assert "Invalid IAM Instance Profile ARN" not in out
    assert "■ execution succeeded" in out
    # what a Kafka user needs, printed at the end
    assert out.count(":9096") >= 2 and "aws ssm start-session --target i-" in out
    assert "\x1b[" not in out  # not a terminal: no colours, no cursor movements


def test_status_of_an_execution_and_of_a_deployment(provisioned, local):
    _, arn = provisioned
    status = local("status", arn)
    assert status.returncode == 0, status.stderr
    assert "status:     SUCCEEDED" in status.stdout and f"deployment: {DEPLOYMENT}" in status.stdout
    # what exists now, found by tag, both regions
    assert re.search(
        r"primary +us-east-1: cluster orders-dr-primary \(ACTIVE\), client i-\w+ \(running\)", status.stdout
    )
    assert re.search(r"secondary +us-west-2: cluster orders-dr-secondary \(ACTIVE\)", status.stdout)
    by_name = local("status", DEPLOYMENT)
    assert by_name.returncode == 0 and arn in by_name.stdout
    as_json = json.loads(local("status", "--deployment", DEPLOYMENT, "--json").stdout)
    assert as_json["execution"]["executionArn"] == arn and as_json["now"]["state"] == "ACTIVE"
    replay = local("follow", arn)
    assert replay.returncode == 0 and "■ execution succeeded" in replay.stdout
    unknown = arn.rsplit(":", 1)[0] + ":no-such-execution"
    assert "no such execution" in one_line_error(local("status", unknown))


def test_a_terminal_that_cannot_show_the_glyphs_gets_ascii(provisioned, server):
    _, arn = provisioned
    env = clean_env(PYTHONIOENCODING="ascii")
    replay = run_cli("follow", arn, "--local", "--endpoint-url", server, env=env)
    assert replay.returncode == 0, replay.stderr
    assert "Traceback" not in replay.stderr
    assert "] > Validate input" in replay.stdout and "] + Wait for clusters ACTIVE" in replay.stdout
    assert "] # execution succeeded" in replay.stdout
    status = run_cli("status", DEPLOYMENT, "--local", "--endpoint-url", server, env=env)
    assert status.returncode == 0 and "ACTIVE" in status.stdout


def test_outputs_print_commands_that_work_in_a_session_manager_shell(provisioned, local, tmp_path):
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
        # the shell runs as ssm-user; client.properties is root's: sudo, and the real bootstrap string
        assert (
            f"sudo /opt/kafka/bin/kafka-topics.sh --bootstrap-server {side['bootstrapBrokersSaslScram']} "
            "--command-config /opt/kafka/config/client.properties --list"
        ) in printed.stdout
    assert "$BOOTSTRAP" not in printed.stdout

    # MirrorMaker 2 runs as a service: outputs say where and what proved it
    service = output["replication"]["service"]
    assert f"the service msk-pair-mm2 on the secondary client {service['instanceId']}" in printed.stdout
    assert "10 of 10 records replicated" in printed.stdout and service["statusCommand"] in printed.stdout

    text = mm2_file.read_text()  # the same mm2.properties the service runs
    props = parse_properties(text)
    assert props["clusters"] == "primary, secondary"
    assert props["primary.bootstrap.servers"] == output["primary"]["bootstrapBrokersSaslScram"]
    assert props["secondary.bootstrap.servers"] == output["secondary"]["bootstrapBrokersSaslScram"]
    assert props["primary->secondary.enabled"] == "true" and props["secondary->primary.enabled"] == "false"
    for role in ("primary", "secondary"):
        assert props[f"{role}.security.protocol"] == "SASL_SSL"
        assert props[f"{role}.sasl.mechanism"] == "SCRAM-SHA-512"
        assert f"${{file:/etc/msk-pair/mm2/secrets.properties:{role}.password}}" in props[f"{role}.sasl.jaas.config"]
    # no password: the only password= values are config-provider references
    assert all(v.startswith("${file:") for v in re.findall(r'password="([^"]*)"', text))
    assert "password=" not in text.replace('password="${file:', "")

    unwritable = one_line_error(local("outputs", arn, "--mm2", "/nonexistent/dir/mm2.properties"))
    assert "cannot write --mm2 /nonexistent/dir/mm2.properties" in unwritable


def test_list_shows_the_deployments_in_the_account(provisioned, second, local):
    listed = local("list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert set(rows) >= {DEPLOYMENT, "payments-dr"}
    assert re.search(r"ACTIVE +us-east-1 \(ACTIVE\) +us-west-2 \(ACTIVE\) +SUCCEEDED provision", rows[DEPLOYMENT])
    assert re.search(r"ACTIVE +us-east-2 \(ACTIVE\) +eu-west-1 \(ACTIVE\) +SUCCEEDED provision", rows["payments-dr"])
    assert second in rows["payments-dr"]
    doc = {d["deploymentName"]: d for d in json.loads(local("list", "--json").stdout)}
    assert doc["payments-dr"]["primary"] == {"region": "us-east-2", "cluster": "ACTIVE"}
    assert doc["payments-dr"]["latestExecution"]["executionArn"] == second
    assert doc["payments-dr"]["iam"] == ["role msk-pair-payments-dr-client"]


def test_every_aws_call_the_cli_makes_is_in_the_deployer_policy(main_in_process, provisioned, server, tmp_path):
    from tests.cli.conftest import recorded_aws_calls
    from tests.cli.test_deployer_policy import allows

    request = tmp_path / "audit.json"
    request.write_text(json.dumps(dict(SAMPLE, deploymentName="audit-dr")))
    where = ("--local", "--endpoint-url", server)
    with recorded_aws_calls() as calls:
        for args in (
            ("start", str(request), "--no-follow"),
            ("status", provisioned[1]),
            ("status", DEPLOYMENT),
            ("list",),
            ("outputs", "--deployment", DEPLOYMENT),
            ("teardown", "--deployment", "never-made", "--yes"),
        ):
            result = main_in_process(*args, *where)
            assert result.returncode == 0, (args, result.stderr)
    # what only the AWS path calls: the stack's output, ProvisionStateMachineArn
    calls.add("cloudformation:DescribeStacks")
    assert {"tag:GetResources", "states:StartExecution", "kafka:DescribeClusterV2", "iam:GetRole"} <= calls
    assert sorted(call for call in calls if not allows(call)) == []


def test_teardown_shows_what_it_deletes_and_asks_first(provisioned, second, local, server, aws_at):
    before = len(_executions())
    piped = local("teardown", "--deployment", "payments-dr")  # stdin is not a terminal
    assert piped.returncode == 2
    assert "refusing to delete payments-dr without confirmation" in piped.stderr and "--yes" in piped.stderr
    assert re.search(r"primary +us-east-2: cluster payments-dr-primary \(ACTIVE\)", piped.stdout)
    assert "IAM       role msk-pair-payments-dr-client" in piped.stdout
    assert len(_executions()) == before  # nothing started

    terminal = Terminal("teardown", "--deployment", "payments-dr", "--local", "--endpoint-url", server)
    terminal.read_until("to confirm: ")
    terminal.type("payments-dr\n")
    assert terminal.wait() == 0, terminal.seen
    assert "nothing left tagged msk-pair:deployment=payments-dr in us-east-2, eu-west-1 or IAM" in terminal.seen

    # now gone: outputs and status say so (exit 1), never the last success's strings
    gone = local("outputs", "--deployment", "payments-dr")
    assert gone.returncode == 1 and "deployment payments-dr is gone" in gone.stderr
    assert ":9096" not in gone.stdout
    status = local("status", "payments-dr")
    assert status.returncode == 1 and "payments-dr is gone" in status.stdout
    again = local("teardown", "--deployment", "payments-dr")
    assert again.returncode == 0 and "nothing to delete" in again.stdout
    assert len(_executions()) == before + 1  # the one teardown; "nothing to delete" started nothing
    listed = local("list")
    assert "payments-dr" not in listed.stdout


def test_teardown_of_a_deployment_that_never_existed_says_nothing_to_delete(local, aws_at):
    before = len(_executions())
    result = local("teardown", "--deployment", "never-made", "--yes")
    assert result.returncode == 0, result.stderr
    assert "nothing to delete: nothing is tagged msk-pair:deployment=never-made" in result.stdout
    assert len(_executions()) == before


def test_plan_shows_what_a_request_changes_and_start_asks_before_changing_it(provisioned, local, aws_at, tmp_path):
    """Issue 12: the plan, as `terraform plan` shows one; start asks before changing a live deployment."""
    more = tmp_path / "more.json"
    more.write_text(json.dumps(dict(SAMPLE, brokersPerAz=2, brokerStorageGiB=200)))
    planned = local("plan", str(more))
    assert planned.returncode == 0, planned.stderr
    assert f"{DEPLOYMENT} exists" in planned.stdout
    assert "~ brokersPerAz (primary): 1 -> 2  [in-place: UpdateBrokerCount]" in planned.stdout
    assert "~ brokerStorageGiB (secondary): 100 -> 200  [in-place: UpdateBrokerStorage]" in planned.stdout
    assert "Plan: 4 to change in place, 0 to create, 0 needing a replacement." in planned.stdout
    doc = json.loads(local("plan", str(more), "--json").stdout)
    assert sorted(doc["inPlace"]) == sorted(
        f"{f} ({r})" for f in ("brokersPerAz", "brokerStorageGiB") for r in ("primary", "secondary")
    )

    before = len(_executions())
    piped = local("start", str(more))  # a change to a live deployment, stdin not a terminal, no --yes
    assert piped.returncode == 2 and "refusing to change orders-dr without confirmation" in piped.stderr
    assert len(_executions()) == before

    moved = dict(SAMPLE, primary={"region": "us-east-1", "vpcCidr": "10.1.0.0/16"})
    replaced = tmp_path / "moved.json"
    replaced.write_text(json.dumps(moved))
    planned = local("plan", str(replaced))
    assert planned.returncode == 1
    assert "-/+ primary.vpcCidr: 10.0.0.0/16 -> 10.1.0.0/16" in planned.stdout
    refused = local("start", str(replaced), "--yes")
    assert refused.returncode == 1 and "cannot be changed in place" in refused.stderr
    assert len(_executions()) == before  # refused before anything started

    same = local("start", str(SAMPLE_FILE), "--no-follow")  # nothing to change: no question asked
    assert same.returncode == 0, same.stderr
    followed = local("follow", ARN.search(same.stdout).group(0))  # ended before the module's teardown test
    assert followed.returncode == 0, followed.stdout + followed.stderr


def test_teardown_after_success_leaves_nothing(provisioned, local, aws_at):
    assert provisioned[0].returncode == 0
    result = local("teardown", "--deployment", DEPLOYMENT, "--yes")  # regions from the deployment's last execution
    assert result.returncode == 0, result.stdout + result.stderr
    assert "▶ teardown: deleting everything tagged with the deployment" in result.stdout
    assert "■ execution succeeded" in result.stdout
    assert f"nothing left tagged msk-pair:deployment={DEPLOYMENT}" in result.stdout
    from msk_pair.emulator.inventory import inventory

    assert inventory(DEPLOYMENT, REGIONS) == {}
    gone = local("outputs", provisioned[1])
    assert gone.returncode == 1 and f"deployment {DEPLOYMENT} is gone" in gone.stderr


def test_without_the_emulator_server_local_says_how_to_start_one():
    line = one_line_error(
        run_cli("status", "arn:aws:states:us-east-1:1:execution:m:x", "--local", "--endpoint-url", "http://127.0.0.1:9")
    )
    assert "msk-pair emulator serve" in line


def test_a_busy_port_is_one_line(server):
    port = server.rsplit(":", 1)[1]
    line = one_line_error(run_cli("emulator", "serve", "--port", port, timeout=60))
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in line


def test_real_aws_without_credentials_is_one_clear_line(tmp_path):
    env = clean_env(AWS_DEFAULT_REGION="us-east-1")
    line = one_line_error(run_cli("start", str(SAMPLE_FILE), env=env))
    assert "no AWS credentials" in line
    line = one_line_error(run_cli("status", "arn:aws:states:us-east-1:123456789012:execution:m:x", env=env))
    assert "no AWS credentials" in line


@pytest.fixture(scope="module")
def paced_server():
    """A second server whose emulated time runs at 0.05 real seconds per emulated second: runs take a while."""
    from tests.cli.conftest import _serve

    yield from _serve("--pace", "0.05", kill=True)


def test_ctrl_c_in_a_terminal_stops_following_and_says_how_to_resume(paced_server, tmp_path):
    request = dict(SAMPLE, deploymentName="ctrl-c")
    path = tmp_path / "ctrl-c.json"
    path.write_text(json.dumps(request))
    terminal = Terminal("start", str(path), "--local", "--endpoint-url", paced_server)
    terminal.read_until("now running:")  # the live panel, under the step lines
    terminal.proc.send_signal(signal.SIGINT)
    assert terminal.wait() == 130
    hint = re.search(r"msk-pair follow (\S+)(.*)", terminal.seen)
    assert hint, terminal.seen
    assert hint.group(2).split() == ["--local", "--endpoint-url", paced_server]  # pasting it works

    # the execution goes on; status says where it is: the steps running now, per region
    status = run_cli("status", "ctrl-c", "--local", "--endpoint-url", paced_server)
    assert status.returncode == 0, status.stderr
    assert "status:     RUNNING" in status.stdout and "phase:      running" in status.stdout
    assert re.search(r"^now: +(▶|⋯) \w+", status.stdout, re.M), status.stdout
    doc = json.loads(
        run_cli("status", "--deployment", "ctrl-c", "--json", "--local", "--endpoint-url", paced_server).stdout
    )
    assert doc["execution"]["status"] == "RUNNING" and doc["execution"]["running"]
    assert {"name", "lane", "polls", "lastCheck", "retries"} <= set(doc["execution"]["running"][0])
    # and a teardown waits for it (the state machine would refuse it as a Conflict)
    busy = one_line_error(
        run_cli("teardown", "--deployment", "ctrl-c", "--yes", "--local", "--endpoint-url", paced_server)
    )
    assert "is still running on ctrl-c: let it end first" in busy
