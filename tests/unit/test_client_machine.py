"""The Kafka client machine library on moto, with strict_ec2 and the SSM emulator (emulated time)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from msk_pair.emulator import ssm, strict_ec2
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.iam_reference import action_spec
from msk_pair.emulator.profile import LatencyProfile
from mskpair_core import catalog
from mskpair_core import client_machine as cm
from mskpair_core.errors import ResourceFailed, ResourceInUse, Transient
from mskpair_core.network import availability_zones, create_network, delete_network
from mskpair_core.subnets import plan_subnets
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG
from tests.conftest import make_client_role_boundary

REGION = "us-east-1"
DEPLOYMENT = "orders-dr"
ROLE = "primary"
PASSWORD = "Kn0wn-SCRAM-pa55word-7f3a9"  # a test value that must never appear in a command
PROFILE = LatencyProfile(
    instance_profile_propagation=10.0,
    instance_start=30.0,
    instance_terminate=60.0,
    ssm_registration=60.0,
    ssm_command=60.0,
)
BROKERS = "b-1.orders.abc.c2.kafka.us-east-1.amazonaws.com:9096,b-2.orders.abc.c2.kafka.us-east-1.amazonaws.com:9096"
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=[strict_ec2, ssm])


@pytest.fixture
def network(vclock: VirtualClock) -> dict[str, Any]:
    return dict(
        create_network(
            deployment=DEPLOYMENT,
            role=ROLE,
            region=REGION,
            vpc_cidr="10.0.0.0/16",
            subnet_plan=plan_subnets("10.0.0.0/16"),
            azs=[z.name for z in availability_zones(REGION)],
        )
    )


@pytest.fixture
def iam_profile(vclock: VirtualClock) -> dict[str, str]:
    made = cm.ensure_client_iam(deployment=DEPLOYMENT, boundary_arn=make_client_role_boundary())
    vclock.advance(PROFILE.instance_profile_propagation)
    return made


@pytest.fixture
def group(network: dict[str, Any]) -> str:
    return cm.ensure_client_security_group(
        deployment=DEPLOYMENT, role=ROLE, network=network, ports=list(cm.CLIENT_PORTS)
    )


def _launch(network: dict[str, Any], iam_profile: dict[str, str], group: str, token: str = "exec-1-primary") -> str:
    return cm.launch_client(
        deployment=DEPLOYMENT,
        role=ROLE,
        network=network,
        instance_type="t3.small",
        instance_profile_arn=iam_profile["instanceProfileArn"],
        security_group_id=group,
        client_token=token,
    )["instanceId"]


@pytest.fixture
def online(vclock: VirtualClock, network: dict[str, Any], iam_profile: dict[str, str], group: str) -> str:
    instance_id = _launch(network, iam_profile, group)
    vclock.advance(PROFILE.instance_start + PROFILE.ssm_registration)
    assert cm.client_ssm_status(region=REGION, instance_id=instance_id)["pingStatus"] == "Online"
    return instance_id


@pytest.fixture
def secret_arn(vclock: VirtualClock) -> str:
    sm = boto3.client("secretsmanager", region_name=REGION)
    return sm.create_secret(
        Name=f"AmazonMSK_{DEPLOYMENT}", SecretString=json.dumps({"username": "msk-admin", "password": PASSWORD})
    )["ARN"]


def _ec2() -> Any:
    return boto3.client("ec2", region_name=REGION)


def _instance(instance_id: str) -> dict[str, Any]:
    return _ec2().describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


# -- IAM ----------------------------------------------------------------------------------------


def test_iam_is_made_once_tagged_and_least_privilege(vclock: VirtualClock) -> None:
    first = cm.ensure_client_iam(deployment=DEPLOYMENT, boundary_arn=make_client_role_boundary())
    second = cm.ensure_client_iam(deployment=DEPLOYMENT, boundary_arn=make_client_role_boundary())
    assert first == second
    assert first["roleName"] == first["instanceProfileName"] == f"msk-pair-{DEPLOYMENT}-client"

    iam = boto3.client("iam", region_name=REGION)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == [first["roleName"]]
    profiles = iam.list_instance_profiles()["InstanceProfiles"]
    assert [(p["InstanceProfileName"], [r["RoleName"] for r in p["Roles"]]) for p in profiles] == [
        (first["roleName"], [first["roleName"]])
    ]
    trust = iam.get_role(RoleName=first["roleName"])["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    for tags in (
        iam.list_role_tags(RoleName=first["roleName"])["Tags"],
        iam.get_instance_profile(InstanceProfileName=first["roleName"])["InstanceProfile"]["Tags"],
    ):
        assert {t["Key"]: t["Value"] for t in tags}.items() >= {DEPLOYMENT_TAG: DEPLOYMENT, ROLE_TAG: "shared"}.items()

    role = iam.get_role(RoleName=first["roleName"])["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == make_client_role_boundary()
    attached = iam.list_attached_role_policies(RoleName=first["roleName"])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    assert iam.list_role_policies(RoleName=first["roleName"])["PolicyNames"] == [cm.INLINE_POLICY_NAME]
    doc = iam.get_role_policy(RoleName=first["roleName"], PolicyName=cm.INLINE_POLICY_NAME)["PolicyDocument"]
    actions = set()
    for statement in doc["Statement"]:
        assert statement["Effect"] == "Allow"
        stmt_actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        actions |= set(stmt_actions)
        assert all("*" not in a for a in stmt_actions)
        if all(not action_spec(a).has_resource_types for a in stmt_actions):
            # Service Authorization Reference: no resource type (kafka:GetBootstrapBrokers) -> "*" only
            assert statement["Resource"] == "*" and "Condition" not in statement
            continue
        assert ":123456789012:" in statement["Resource"]
        assert statement["Condition"]["StringEquals"] == {f"aws:ResourceTag/{DEPLOYMENT_TAG}": DEPLOYMENT}
    assert actions == {
        "kafka:DescribeCluster",
        "kafka:DescribeClusterV2",
        "kafka:GetBootstrapBrokers",
        "secretsmanager:GetSecretValue",
        "kms:Decrypt",
    }
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert by_sid["ReadDeploymentClusters"]["Resource"] == f"arn:aws:kafka:*:123456789012:cluster/{DEPLOYMENT}-*/*"
    assert by_sid["ReadDeploymentScramSecrets"]["Resource"].endswith(f":secret:AmazonMSK_{DEPLOYMENT}-??????")
    kms = by_sid["DecryptScramSecretsWithDeploymentKeys"]
    assert kms["Condition"]["StringLike"] == {"kms:ViaService": "secretsmanager.*.amazonaws.com"}


# -- security group -------------------------------------------------------------------------------


def test_client_group_has_no_inbound_and_default_group_admits_it_on_exact_ports(network: dict[str, Any]) -> None:
    group_id = cm.ensure_client_security_group(
        deployment=DEPLOYMENT, role=ROLE, network=network, ports=[9096, 11001, 11002]
    )
    again = cm.ensure_client_security_group(
        deployment=DEPLOYMENT, role=ROLE, network=network, ports=[9096, 11001, 11002]
    )
    assert again == group_id
    ec2 = _ec2()
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    assert group["IpPermissions"] == []
    assert group["VpcId"] == network["vpcId"]
    assert group["GroupName"] == f"{DEPLOYMENT}-{ROLE}-client"
    assert _tags(group).items() >= {DEPLOYMENT_TAG: DEPLOYMENT, ROLE_TAG: ROLE}.items()

    default = ec2.describe_security_groups(GroupIds=[network["defaultSecurityGroupId"]])["SecurityGroups"][0]
    naming = [
        (p["IpProtocol"], p["FromPort"], p["ToPort"])
        for p in default["IpPermissions"]
        for pair in p.get("UserIdGroupPairs", [])
        if pair["GroupId"] == group_id
    ]
    assert sorted(naming) == [("tcp", 9096, 9096), ("tcp", 11001, 11001), ("tcp", 11002, 11002)]
    assert cm.CLIENT_PORTS == (catalog.KAFKA_SASL_SCRAM_PORT, catalog.JMX_EXPORTER_PORT, catalog.NODE_EXPORTER_PORT)


# -- the instance ---------------------------------------------------------------------------------


def test_instance_is_hardened_public_and_tagged(
    network: dict[str, Any], iam_profile: dict[str, str], group: str
) -> None:
    result = cm.launch_client(
        deployment=DEPLOYMENT,
        role=ROLE,
        network=network,
        instance_type="t3.small",
        instance_profile_arn=iam_profile["instanceProfileArn"],
        security_group_id=group,
        client_token="exec-1-primary",
    )
    assert result["state"] == "pending"
    instance = _instance(result["instanceId"])
    ami = boto3.client("ssm", region_name=REGION).get_parameter(Name=cm.AL2023_AMI_PARAMETER)["Parameter"]["Value"]
    assert instance["ImageId"] == ami
    assert instance["InstanceType"] == "t3.small"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert "KeyName" not in instance
    assert instance.get("PublicIpAddress")
    assert instance["SubnetId"] == network["subnets"]["public"]
    [eni] = instance["NetworkInterfaces"]
    assert [g["GroupId"] for g in eni["Groups"]] == [group]
    assert eni["Association"]["PublicIp"] == instance["PublicIpAddress"]
    assert instance["IamInstanceProfile"]["Arn"] == iam_profile["instanceProfileArn"]
    assert _tags(instance).items() >= {DEPLOYMENT_TAG: DEPLOYMENT, ROLE_TAG: ROLE}.items()
    volumes = _ec2().describe_volumes(Filters=[{"Name": "attachment.instance-id", "Values": [result["instanceId"]]}])
    [volume] = volumes["Volumes"]
    assert volume["Encrypted"] is True
    assert volume["VolumeType"] == "gp3"
    assert _tags(volume).items() >= {DEPLOYMENT_TAG: DEPLOYMENT, ROLE_TAG: ROLE}.items()


def test_relaunch_makes_no_second_instance(network: dict[str, Any], iam_profile: dict[str, str], group: str) -> None:
    first = _launch(network, iam_profile, group)
    assert _launch(network, iam_profile, group) == first
    # Even if the tag lookup misses it (a crash between launch and tag visibility), the token holds.
    again = _ec2().run_instances(
        ImageId=_instance(first)["ImageId"], MinCount=1, MaxCount=1, ClientToken="exec-1-primary"
    )["Instances"][0]["InstanceId"]
    assert again == first
    reservations = _ec2().describe_instances()["Reservations"]
    assert sum(len(r["Instances"]) for r in reservations) == 1


def test_new_instance_profile_is_transient_then_usable(
    vclock: VirtualClock, network: dict[str, Any], group: str
) -> None:
    made = cm.ensure_client_iam(deployment=DEPLOYMENT, boundary_arn=make_client_role_boundary())
    with pytest.raises(Transient, match="instance profile"):
        _launch(network, made, group)
    vclock.advance(PROFILE.instance_profile_propagation)
    instance_id = _launch(network, made, group)
    assert _instance(instance_id)["State"]["Name"] == "pending"


def test_ssm_registration_takes_emulated_time(
    vclock: VirtualClock, network: dict[str, Any], iam_profile: dict[str, str], group: str
) -> None:
    instance_id = _launch(network, iam_profile, group)
    assert cm.client_ssm_status(region=REGION, instance_id=instance_id) == {
        "pingStatus": "NotRegistered",
        "online": False,
    }
    vclock.advance(PROFILE.instance_start)
    assert _instance(instance_id)["State"]["Name"] == "running"
    assert cm.client_ssm_status(region=REGION, instance_id=instance_id)["pingStatus"] == "NotRegistered"
    vclock.advance(PROFILE.ssm_registration - 1)
    assert not cm.client_ssm_status(region=REGION, instance_id=instance_id)["online"]
    vclock.advance(1)
    assert cm.client_ssm_status(region=REGION, instance_id=instance_id) == {"pingStatus": "Online", "online": True}


def test_send_command_before_registration_is_transient(
    network: dict[str, Any], iam_profile: dict[str, str], group: str
) -> None:
    instance_id = _launch(network, iam_profile, group)
    with pytest.raises(Transient, match="InvalidInstanceId"):
        cm.send_command(region=REGION, instance_id=instance_id, script="echo hi", comment="early")


# -- commands ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msk_version", "client_version"),
    [("3.8.x", "3.8.1"), ("3.9.x.kraft", "3.9.1"), ("4.0.x.kraft", "4.0.0"), ("4.1.x.kraft", "4.1.0")],
)
def test_bootstrap_script_content(msk_version: str, client_version: str) -> None:
    script = cm.bootstrap_script(
        kafka_version=msk_version,
        region=REGION,
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:AmazonMSK_orders-dr-AbCdEf",
        cluster_arn="arn:aws:kafka:us-east-1:123456789012:cluster/orders-dr-primary/abc-1",
    )
    assert "dnf install -y java-17-amazon-corretto-headless" in script
    url = f"https://archive.apache.org/dist/kafka/{client_version}/kafka_2.13-{client_version}.tgz"
    assert f"URL={url}" in script
    assert '"$URL.sha512"' in script and "sha512sum" in script and "exit 1" in script
    assert "cacerts" in script and cm.TRUSTSTORE in script
    assert cm.CLIENT_PROPERTIES in script
    for needle in ("security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512", "ScramLoginModule"):
        assert needle in script
    assert '"aws", "secretsmanager", "get-secret-value", "--secret-id"' in script
    assert "set +x" in script and "umask 077" in script and "0o600" in script
    assert script.splitlines()[2] == "set -euo pipefail"


@pytest.mark.parametrize("msk_version", ["9.9.x", "4.1.x"])  # 4.1.x is not an MSK string: 4.1.x.kraft is
def test_bootstrap_script_rejects_unknown_version(msk_version: str) -> None:
    with pytest.raises(ValueError):
        cm.bootstrap_script(kafka_version=msk_version, region=REGION, secret_arn="arn", cluster_arn="arn")


def test_bootstrap_command_runs_without_the_password(vclock: VirtualClock, online: str, secret_arn: str) -> None:
    script = cm.bootstrap_script(
        kafka_version="3.8.x", region=REGION, secret_arn=secret_arn, cluster_arn="arn:aws:kafka:x:1:cluster/c/u"
    )
    command_id = cm.send_command(region=REGION, instance_id=online, script=script, comment="exec-1 bootstrap primary")
    assert cm.send_command(region=REGION, instance_id=online, script=script, comment="exec-1 bootstrap primary") == (
        command_id
    )
    statuses = []
    for step in (0, PROFILE.ssm_command / 2, PROFILE.ssm_command / 2):
        vclock.advance(step)
        statuses.append(cm.command_status(region=REGION, command_id=command_id, instance_id=online))
    assert [s["status"] for s in statuses] == ["Pending", "InProgress", "Success"]
    assert statuses[-1]["done"] and statuses[-1]["succeeded"]
    assert cm.BOOTSTRAP_MARKER in statuses[-1]["output"]
    cm.raise_if_failed(statuses[-1], "bootstrap")  # no raise

    [sent] = ssm.sent_commands(REGION)
    assert sent["instanceIds"] == [online]
    assert sent["documentName"] == "AWS-RunShellScript"
    assert sent["script"] == script.rstrip("\n")
    assert secret_arn in sent["script"]
    for recorded in ssm.sent_commands():
        assert PASSWORD not in json.dumps(recorded)


def test_failed_command_raises_resource_failed_without_secrets(vclock: VirtualClock, online: str) -> None:
    ssm.fail_next_command(
        match="get-secret-value",
        stderr=f"curl: (22) The requested URL returned error: 404\npassword={PASSWORD}\nmsk-pair: giving up",
        exit_code=22,
    )
    script = cm.bootstrap_script(kafka_version="3.8.x", region=REGION, secret_arn="arn:s", cluster_arn="arn:c")
    command_id = cm.send_command(region=REGION, instance_id=online, script=script, comment="bootstrap")
    status = cm.command_status(region=REGION, command_id=command_id, instance_id=online)
    assert not status["done"]
    cm.raise_if_failed(status, "bootstrap")  # not failed (yet)
    vclock.advance(PROFILE.ssm_command)
    status = cm.command_status(region=REGION, command_id=command_id, instance_id=online)
    assert status["status"] == "Failed" and status["done"] and not status["succeeded"]
    assert PASSWORD not in json.dumps(status)
    with pytest.raises(ResourceFailed) as exc:
        cm.raise_if_failed(status, "bootstrap of primary client")
    message = str(exc.value)
    assert "curl: (22)" in message and "giving up" in message and "exit code 22" in message
    assert PASSWORD not in message
    # A failed command with the same comment is sent again, not reused.
    assert cm.send_command(region=REGION, instance_id=online, script=script, comment="bootstrap") != command_id


def test_smoke_test_reports_its_marker(vclock: VirtualClock, online: str) -> None:
    script = cm.smoke_test_script(bootstrap_brokers=BROKERS)
    assert "kafka-topics.sh" in script and "--list" in script
    assert f"--command-config {cm.CLIENT_PROPERTIES}" in script
    assert f"BOOTSTRAP={BROKERS}" in script
    command_id = cm.send_command(region=REGION, instance_id=online, script=script, comment="smoke primary")
    vclock.advance(PROFILE.ssm_command)
    status = cm.command_status(region=REGION, command_id=command_id, instance_id=online)
    assert status["succeeded"]
    assert cm.smoke_test_passed(status["output"])
    with pytest.raises(ValueError):
        cm.smoke_test_script(bootstrap_brokers="b-1:9096; rm -rf /")


def test_redact_drops_secret_lines() -> None:
    text = 'line one\nsasl.jaas.config=... password="x";\nSecretString: {...}\nlast'
    assert cm.redact(text) == "line one\n[redacted line]\n[redacted line]\nlast"


# -- teardown -----------------------------------------------------------------------------------------


def test_teardown_order_and_twice(vclock: VirtualClock, online: str, group: str, network: dict[str, Any]) -> None:
    first = cm.terminate_clients(deployment=DEPLOYMENT, role=ROLE, region=REGION)
    assert first == {"remaining": 1, "instanceIds": [online], "done": False}
    assert _instance(online)["State"]["Name"] == "shutting-down"
    with pytest.raises(ResourceInUse):
        cm.delete_client_security_group(deployment=DEPLOYMENT, role=ROLE, region=REGION)
    vclock.advance(PROFILE.instance_terminate - 1)
    assert cm.terminate_clients(deployment=DEPLOYMENT, role=ROLE, region=REGION)["remaining"] == 1
    vclock.advance(1)
    assert cm.terminate_clients(deployment=DEPLOYMENT, role=ROLE, region=REGION) == {
        "remaining": 0,
        "instanceIds": [],
        "done": True,
    }

    assert cm.delete_client_security_group(deployment=DEPLOYMENT, role=ROLE, region=REGION) is True
    ec2 = _ec2()
    default = ec2.describe_security_groups(GroupIds=[network["defaultSecurityGroupId"]])["SecurityGroups"][0]
    assert not any(
        pair.get("GroupId") == group for p in default["IpPermissions"] for pair in p.get("UserIdGroupPairs", [])
    )
    assert cm.delete_client_security_group(deployment=DEPLOYMENT, role=ROLE, region=REGION) is False

    assert cm.delete_client_iam(deployment=DEPLOYMENT) is True
    iam = boto3.client("iam", region_name=REGION)
    with pytest.raises(ClientError):
        iam.get_role(RoleName=cm.client_role_name(DEPLOYMENT))
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
    assert cm.delete_client_iam(deployment=DEPLOYMENT) is False

    assert cm.terminate_clients(deployment=DEPLOYMENT, role=ROLE, region=REGION)["remaining"] == 0
    delete_network(deployment=DEPLOYMENT, role=ROLE, region=REGION)  # nothing of the client blocks it
    assert not ec2.describe_vpcs(Filters=[{"Name": f"tag:{DEPLOYMENT_TAG}", "Values": [DEPLOYMENT]}])["Vpcs"]


def test_teardown_of_nothing_is_fine(vclock: VirtualClock) -> None:
    assert cm.terminate_clients(deployment=DEPLOYMENT, role=ROLE, region=REGION) == {
        "remaining": 0,
        "instanceIds": [],
        "done": True,
    }
    assert cm.delete_client_security_group(deployment=DEPLOYMENT, role=ROLE, region=REGION) is False
    assert cm.delete_client_iam(deployment=DEPLOYMENT) is False


def test_delete_iam_half_made(vclock: VirtualClock) -> None:
    iam = boto3.client("iam", region_name=REGION)
    name = cm.client_role_name(DEPLOYMENT)
    iam.create_instance_profile(InstanceProfileName=name)  # a crash right after the profile, before the role
    assert cm.delete_client_iam(deployment=DEPLOYMENT) is True
    assert iam.list_instance_profiles()["InstanceProfiles"] == []
