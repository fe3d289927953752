"""ssm emulator: registration over emulated time, SendCommand validation, invocation lifecycle, hooks."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.ssm.models import Command
from moto.ssm.responses import SimpleSystemManagerResponse

from msk_pair.emulator import clock, ssm, strict_ec2
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile

REGION = "us-east-1"
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
PROFILE = LatencyProfile(
    instance_profile_propagation=10.0,
    instance_start=30.0,
    instance_terminate=60.0,
    ssm_registration=60.0,
    ssm_command=100.0,
)
ONLINE_AFTER = PROFILE.instance_start + PROFILE.ssm_registration
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=[strict_ec2, ssm])


@pytest.fixture
def clients(vclock: VirtualClock) -> dict[str, Any]:
    return {s: boto3.client(s, region_name=REGION) for s in ("ec2", "ssm", "iam")}


def _ssm_profile(iam: Any, vclock: VirtualClock, name: str = "client", attach: bool = True) -> str:
    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    if attach:
        iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    arn = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    vclock.advance(PROFILE.instance_profile_propagation)
    return arn


def _launch(c: dict[str, Any], profile_arn: str | None, tags: dict[str, str] | None = None) -> str:
    ami = c["ssm"].get_parameter(Name=AL2023)["Parameter"]["Value"]
    kwargs: dict[str, Any] = {"ImageId": ami, "MinCount": 1, "MaxCount": 1}
    if profile_arn:
        kwargs["IamInstanceProfile"] = {"Arn": profile_arn}
    if tags:
        kwargs["TagSpecifications"] = [
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
        ]
    return c["ec2"].run_instances(**kwargs)["Instances"][0]["InstanceId"]


def _ping(c: dict[str, Any], instance_id: str) -> str | None:
    found = c["ssm"].describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [instance_id]}])
    infos = found["InstanceInformationList"]
    return infos[0]["PingStatus"] if infos else None


def _send(c: dict[str, Any], instance_ids: list[str], script: str = 'echo "done"') -> str:
    return c["ssm"].send_command(
        InstanceIds=instance_ids, DocumentName="AWS-RunShellScript", Parameters={"commands": script.splitlines()}
    )["Command"]["CommandId"]


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


# -- the AL2023 parameter ----------------------------------------------------------------------


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2", "eu-west-1"])
def test_al2023_parameter_names_a_launchable_ami(vclock: VirtualClock, region: str) -> None:
    ami = boto3.client("ssm", region_name=region).get_parameter(Name=AL2023)["Parameter"]["Value"]
    ec2 = boto3.client("ec2", region_name=region)
    assert ec2.describe_images(ImageIds=[ami])["Images"][0]["Name"].startswith("al2023-ami-")
    assert ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["ImageId"] == ami


# -- rule 1: registration ------------------------------------------------------------------------


def test_instance_registers_after_running_plus_registration_delay(
    vclock: VirtualClock, clients: dict[str, Any]
) -> None:
    instance_id = _launch(clients, _ssm_profile(clients["iam"], vclock))
    assert _ping(clients, instance_id) is None
    vclock.advance(ONLINE_AFTER - 1)
    assert _ping(clients, instance_id) is None
    vclock.advance(1)
    assert _ping(clients, instance_id) == "Online"
    info = clients["ssm"].describe_instance_information()["InstanceInformationList"][0]
    assert info["InstanceId"] == instance_id
    assert info["PlatformType"] == "Linux" and info["ResourceType"] == "EC2Instance"


def test_no_registration_without_ssm_role_unless_relaxed(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    bare = _launch(clients, None)
    no_policy = _launch(clients, _ssm_profile(clients["iam"], vclock, "nopolicy", attach=False))
    vclock.advance(ONLINE_AFTER)
    assert _ping(clients, bare) is None and _ping(clients, no_policy) is None
    ssm.set_require_ssm_role(False)
    assert _ping(clients, bare) == "Online" and _ping(clients, no_policy) == "Online"


def test_block_registration_hook(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    arn = _ssm_profile(clients["iam"], vclock)
    blocked, other = _launch(clients, arn), _launch(clients, arn)
    ssm.block_registration(blocked)
    vclock.advance(ONLINE_AFTER + 3600)
    assert _ping(clients, blocked) is None and _ping(clients, other) == "Online"
    ssm.block_registration()
    assert _ping(clients, other) is None
    ssm.unblock_registration()
    assert _ping(clients, blocked) == "Online"


def test_connection_lost_while_shutting_down_then_gone(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    instance_id = _launch(clients, _ssm_profile(clients["iam"], vclock))
    vclock.advance(ONLINE_AFTER)
    clients["ec2"].terminate_instances(InstanceIds=[instance_id])
    assert _ping(clients, instance_id) == "ConnectionLost"
    vclock.advance(PROFILE.instance_terminate)
    assert _ping(clients, instance_id) is None


def test_describe_filters(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    arn = _ssm_profile(clients["iam"], vclock)
    a = _launch(clients, arn, {"team": "a"})
    b = _launch(clients, arn, {"team": "b"})
    vclock.advance(ONLINE_AFTER)
    ssm_client = clients["ssm"]
    listed = ssm_client.describe_instance_information()["InstanceInformationList"]
    assert {i["InstanceId"] for i in listed} == {a, b}
    by_tag = ssm_client.describe_instance_information(Filters=[{"Key": "tag:team", "Values": ["b"]}])
    assert [i["InstanceId"] for i in by_tag["InstanceInformationList"]] == [b]
    old_style = ssm_client.describe_instance_information(
        InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [a]}]
    )
    assert [i["InstanceId"] for i in old_style["InstanceInformationList"]] == [a]


# -- rule 2: SendCommand targets ------------------------------------------------------------------


def test_send_command_to_unregistered_instance_is_invalid(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    instance_id = _launch(clients, _ssm_profile(clients["iam"], vclock))
    with pytest.raises(ClientError) as exc:
        _send(clients, [instance_id])
    assert _code(exc) == "InvalidInstanceId"
    with pytest.raises(ClientError) as exc:
        _send(clients, ["i-0123456789abcdef0"])
    assert _code(exc) == "InvalidInstanceId"
    assert ssm.sent_commands() == []
    vclock.advance(ONLINE_AFTER)
    assert _send(clients, [instance_id])


def test_send_command_targets_only_the_given_instances(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    arn = _ssm_profile(clients["iam"], vclock)
    one = _launch(clients, arn, {"role": "primary"})
    two = _launch(clients, arn, {"role": "secondary"})
    vclock.advance(ONLINE_AFTER)
    command_id = _send(clients, [one])
    [command] = clients["ssm"].list_commands(CommandId=command_id)["Commands"]
    assert command["InstanceIds"] == [one] and command["TargetCount"] == 1
    with pytest.raises(ClientError):
        clients["ssm"].get_command_invocation(CommandId=command_id, InstanceId=two)
    by_tag = clients["ssm"].send_command(
        Targets=[{"Key": "tag:role", "Values": ["secondary"]}],
        DocumentName="AWS-RunShellScript",
        Parameters={"commands": ["true"]},
    )["Command"]
    assert by_tag["InstanceIds"] == [two]


# -- rule 3: invocation lifecycle, failures, output --------------------------------------------------


def test_invocation_goes_pending_in_progress_success(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    instance_id = _launch(clients, _ssm_profile(clients["iam"], vclock))
    vclock.advance(ONLINE_AFTER)
    script = 'set -e\necho "STEP ONE"\necho \'MARKER_OK\'\necho "not $EXPANDED"\necho "to stderr" >&2'
    command_id = _send(clients, [instance_id], script)
    ssm_client = clients["ssm"]

    def status() -> tuple[str, str]:
        inv = ssm_client.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        listed = ssm_client.list_commands(CommandId=command_id)["Commands"][0]["Status"]
        return inv["Status"], listed

    assert status() == ("Pending", "Pending")
    vclock.advance(PROFILE.ssm_command * ssm.PENDING_FRACTION)
    assert status() == ("InProgress", "InProgress")
    vclock.advance(PROFILE.ssm_command * (1 - ssm.PENDING_FRACTION) - 1)
    assert status() == ("InProgress", "InProgress")
    vclock.advance(1)
    assert status() == ("Success", "Success")
    inv = ssm_client.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    assert inv["ResponseCode"] == 0
    assert inv["StandardOutputContent"] == "STEP ONE\nMARKER_OK\n"
    invocations = ssm_client.list_command_invocations(CommandId=command_id, Details=True)["CommandInvocations"]
    assert [(i["InstanceId"], i["Status"]) for i in invocations] == [(instance_id, "Success")]
    assert invocations[0]["CommandPlugins"][0]["Output"] == "STEP ONE\nMARKER_OK\n"


def test_fail_next_command_matches_once(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    instance_id = _launch(clients, _ssm_profile(clients["iam"], vclock))
    vclock.advance(ONLINE_AFTER)
    ssm.fail_next_command(match="install-kafka", stderr="curl: (22) 404", exit_code=22)
    other = _send(clients, [instance_id], "echo unrelated")
    failing = _send(clients, [instance_id], "install-kafka --now")
    again = _send(clients, [instance_id], "install-kafka --now")
    vclock.advance(PROFILE.ssm_command)

    def inv(command_id: str) -> dict[str, Any]:
        return clients["ssm"].get_command_invocation(CommandId=command_id, InstanceId=instance_id)

    assert inv(other)["Status"] == "Success"
    failed = inv(failing)
    assert (failed["Status"], failed["ResponseCode"], failed["StandardErrorContent"]) == (
        "Failed",
        22,
        "curl: (22) 404",
    )
    assert clients["ssm"].list_commands(CommandId=failing)["Commands"][0]["Status"] == "Failed"
    assert inv(again)["Status"] == "Success"


def test_set_command_output_and_sent_commands(vclock: VirtualClock, clients: dict[str, Any]) -> None:
    instance_id = _launch(clients, _ssm_profile(clients["iam"], vclock))
    vclock.advance(ONLINE_AFTER)
    ssm.set_command_output("kafka-topics.sh", "__consumer_offsets\nSMOKE_OK\n")
    command_id = clients["ssm"].send_command(
        InstanceIds=[instance_id],
        DocumentName="AWS-RunShellScript",
        Comment="smoke",
        Parameters={"commands": ["set -e", "kafka-topics.sh --list"]},
    )["Command"]["CommandId"]
    vclock.advance(PROFILE.ssm_command)
    inv = clients["ssm"].get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    assert inv["StandardOutputContent"] == "__consumer_offsets\nSMOKE_OK\n"
    [sent] = ssm.sent_commands(REGION)
    assert sent["commandId"] == command_id
    assert sent["script"] == "set -e\nkafka-topics.sh --list"
    assert (sent["instanceIds"], sent["documentName"], sent["comment"]) == (
        [instance_id],
        "AWS-RunShellScript",
        "smoke",
    )
    assert sent["sentAt"] == clock.now() - PROFILE.ssm_command
    assert ssm.sent_commands("us-west-2") == []
    json.dumps(ssm.sent_commands())  # plain data


# -- rules 5 and 6 ------------------------------------------------------------------------------------


def test_run_instances_honours_client_token(clients: dict[str, Any]) -> None:
    ami = clients["ssm"].get_parameter(Name=AL2023)["Parameter"]["Value"]
    first = clients["ec2"].run_instances(ImageId=ami, MinCount=1, MaxCount=1, ClientToken="tok-1")
    second = clients["ec2"].run_instances(ImageId=ami, MinCount=1, MaxCount=1, ClientToken="tok-1")
    other = clients["ec2"].run_instances(ImageId=ami, MinCount=1, MaxCount=1, ClientToken="tok-2")
    assert first["Instances"][0]["InstanceId"] == second["Instances"][0]["InstanceId"]
    assert other["Instances"][0]["InstanceId"] != first["Instances"][0]["InstanceId"]
    assert sum(len(r["Instances"]) for r in clients["ec2"].describe_instances()["Reservations"]) == 2


def test_aws_managed_policy_attaches(clients: dict[str, Any]) -> None:
    iam = clients["iam"]
    iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
    attached = iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["AmazonSSMManagedInstanceCore"]
    with pytest.raises(ClientError):
        iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/NoSuchManagedPolicyAtAll")


# -- install / uninstall ----------------------------------------------------------------------------


def test_install_is_idempotent_and_uninstall_restores() -> None:
    original_invocation = Command.__dict__["get_invocation"]
    assert "describe_instance_information" not in SimpleSystemManagerResponse.__dict__
    ssm.install()
    ssm.install()
    assert ssm.installed()
    assert Command.__dict__["get_invocation"] is not original_invocation
    assert "describe_instance_information" in SimpleSystemManagerResponse.__dict__
    ssm.uninstall()
    ssm.uninstall()
    assert not ssm.installed()
    assert Command.__dict__["get_invocation"] is original_invocation
    assert "describe_instance_information" not in SimpleSystemManagerResponse.__dict__
