"""The Kafka client machine of one region, reached through SSM only (no SSH, no key pair).

The guide's "Provision EC2 Client Machine", "Configure EC2 Client Machine" and "Configure VPC SG
Inbound Rules", made least-privilege and safe to run twice:

- :func:`ensure_client_iam`: the guide's MSK_EC2_ROLE, once per deployment (IAM is global): an EC2
  role with the managed SSM core policy and an inline policy that reads only this deployment's
  clusters and SCRAM secrets and decrypts only with its keys; an instance profile holding it.
- :func:`ensure_client_security_group`: the guide's msk_client_sg with no inbound rules; the VPC's
  default group (the cluster's group) admits it on the SASL/SCRAM and Prometheus exporter ports only.
- :func:`launch_client`: latest Amazon Linux 2023 in the public subnet, public IP, IMDSv2 required,
  encrypted gp3 root volume, no key pair, tagged, with a client token.
- :func:`client_ssm_status`, :func:`send_command`, :func:`command_status`: what the state machine's
  Wait + check loops call; nothing here sleeps.
- :func:`bootstrap_script`, :func:`smoke_test_script`: the ``AWS-RunShellScript`` text. The SCRAM
  password is read from Secrets Manager on the machine at run time: it is never in a command's text.
- Teardown, found by tags/names, each step safe to repeat: :func:`terminate_clients`,
  :func:`delete_client_security_group`, :func:`delete_client_iam`.

Error classification (see :mod:`mskpair_core.aws`): throttling is always ``Transient``; each call
names the codes that mean "not yet" for it.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
from typing import Any

from botocore.exceptions import ClientError

from mskpair_core import catalog
from mskpair_core.aws import client, delete_if_present, error_code, translate_errors
from mskpair_core.errors import ResourceFailed, Transient
from mskpair_core.tags import (
    DEPLOYMENT_TAG,
    REGIONS_TAG,
    Role,
    ec2_filters,
    in_scope,
    tag_list,
    tag_specifications,
    tags_of,
)

LOG = logging.getLogger(__name__)

IAM_REGION = "us-east-1"  # IAM is global; its endpoint is in us-east-1
SSM_CORE_POLICY = "AmazonSSMManagedInstanceCore"
INLINE_POLICY_NAME = "msk-pair-client"
AL2023_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
CLIENT_PORTS: tuple[int, ...] = (catalog.KAFKA_SASL_SCRAM_PORT, *catalog.PROMETHEUS_PORTS)
ROOT_VOLUME_GIB = 16  # Java + the Kafka client need well under 1 GiB; at least the AMI's snapshot size
SCALA_VERSION = "2.13"
KAFKA_ARCHIVE_URL = "https://archive.apache.org/dist/kafka"

KAFKA_HOME = "/opt/kafka"  # a symlink to /opt/kafka_<scala>-<version>
CLIENT_PROPERTIES = "/opt/kafka/config/client.properties"
TRUSTSTORE = "/opt/kafka/config/kafka.client.truststore.jks"
ENV_FILE = "/etc/profile.d/msk-pair.sh"

BOOTSTRAP_MARKER = "MSK_PAIR_BOOTSTRAP_OK"
SMOKE_TEST_MARKER = "MSK_PAIR_SMOKE_TEST_OK"
SMOKE_TEST_TOPIC = "msk-pair-smoke-test"
CROSS_REGION_MARKER = "MSK_PAIR_CROSS_REGION_OK"

TOPICS_LISTED_CHARS = 8000  # of the smoke test's topic list: SSM returns the first 24,000 characters of stdout,
# and the markers the state machine reads come after the list (a cluster that existed may hold thousands)
COMMAND_DELIVERY_TIMEOUT_SECONDS = 600  # SendCommand TimeoutSeconds: how long SSM may take to start it
COMMAND_EXECUTION_TIMEOUT_SECONDS = 1800  # AWS-RunShellScript executionTimeout: how long it may run
OUTPUT_TAIL_CHARS = 2000

LIVE_STATES = ("pending", "running", "stopping", "stopped")
NOT_TERMINATED = (*LIVE_STATES, "shutting-down")
COMMAND_DONE = frozenset({"Success", "Failed", "Cancelled", "TimedOut", "Undeliverable", "Terminated"})
COMMAND_FAILED = COMMAND_DONE - {"Success"}

# -- eventual consistency codes, per call family -------------------------------------------------
# IAM: a role or profile made a moment ago may not be visible to the next call; concurrent edits clash.
IAM_NOT_YET = frozenset({"NoSuchEntity", "ConcurrentModification"})
IAM_CONCURRENT = frozenset({"ConcurrentModification"})
IAM_IN_USE = frozenset({"DeleteConflict"})  # role still in a profile / profile change not yet visible
# EC2: the VPC, subnet or group made a moment ago may not be visible yet.
EC2_NOT_YET = frozenset(
    {"InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidGroup.NotFound", "InvalidSubnet.NotFound"}
)
INSTANCE_NOT_YET = frozenset({"InvalidInstanceID.NotFound"})
GROUP_GONE = frozenset({"InvalidGroup.NotFound", "InvalidGroupId.NotFound"})
RULE_GONE = frozenset({"InvalidPermission.NotFound"})
# SSM: an instance that registered a moment ago, an invocation of a command sent a moment ago.
SSM_INSTANCE_NOT_YET = frozenset({"InvalidInstanceId"})
SSM_INVOCATION_NOT_YET = frozenset({"InvocationDoesNotExist"})

_REDACT = re.compile(r"password|passwd|secretstring|sasl\.jaas", re.IGNORECASE)


def _role_name(deployment: str) -> str:
    return f"msk-pair-{deployment}-client"


def client_role_name(deployment: str) -> str:
    """Name of the client role and of its instance profile."""
    return _role_name(deployment)


def client_security_group_name(deployment: str, role: Role) -> str:
    return f"{deployment}-{role}-client"


# -- IAM ------------------------------------------------------------------------------------------


def _trust_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def client_inline_policy(*, deployment: str, account_id: str, partition: str = "aws") -> dict[str, Any]:
    """What the client machine may do besides SSM: read this deployment's clusters and SCRAM secrets.

    Resources are scoped by name *and* by the deployment tag: a name prefix alone would also match a
    deployment whose name starts with this one's (``orders`` vs ``orders-dr``).
    """
    tagged = {"StringEquals": {f"aws:ResourceTag/{DEPLOYMENT_TAG}": deployment}}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadDeploymentClusters",
                "Effect": "Allow",
                "Action": ["kafka:DescribeCluster", "kafka:DescribeClusterV2"],
                "Resource": f"arn:{partition}:kafka:*:{account_id}:cluster/{deployment}-*/*",
                "Condition": tagged,
            },
            {
                # Service Authorization Reference, kafka: GetBootstrapBrokers has no resource type (and no
                # condition key), so only "Resource": "*" can allow it. It reveals host names, no secret.
                "Sid": "ReadBootstrapBrokers",
                "Effect": "Allow",
                "Action": "kafka:GetBootstrapBrokers",
                "Resource": "*",
            },
            {
                "Sid": "ReadDeploymentScramSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                # Secrets Manager appends "-" and 6 random characters to a secret's name in its ARN.
                "Resource": f"arn:{partition}:secretsmanager:*:{account_id}:secret:AmazonMSK_{deployment}-??????",
                "Condition": tagged,
            },
            {
                "Sid": "DecryptScramSecretsWithDeploymentKeys",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": f"arn:{partition}:kms:*:{account_id}:key/*",
                "Condition": {
                    **tagged,
                    "StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"},
                },
            },
        ],
    }


def _get_or_create_role(
    iam: Any, deployment: str, name: str, boundary_arn: str, regions: list[str] | None = None
) -> dict[str, Any]:
    try:
        return iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    try:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(_trust_policy()),
            Description=f"msk-pair {deployment}: Kafka client machines (SSM managed, reads this deployment only)",
            PermissionsBoundary=boundary_arn,
            Tags=[
                *tag_list(deployment, "shared", name),
                *([{"Key": REGIONS_TAG, "Value": " ".join(regions)}] if regions else []),
            ],
        )["Role"]
        LOG.info("created IAM role %s", name)
        return role
    except ClientError as exc:
        if error_code(exc) != "EntityAlreadyExists":  # made by a concurrent run: use it
            raise
    return iam.get_role(RoleName=name)["Role"]


def _get_or_create_profile(iam: Any, deployment: str, name: str) -> dict[str, Any]:
    try:
        return iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
    try:
        found = iam.create_instance_profile(InstanceProfileName=name, Tags=tag_list(deployment, "shared", name))
        LOG.info("created instance profile %s", name)
        return found["InstanceProfile"]
    except ClientError as exc:
        if error_code(exc) != "EntityAlreadyExists":
            raise
    return iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]


def ensure_client_iam(
    *, deployment: str, boundary_arn: str, regions: list[str] | None = None, account_id: str | None = None
) -> dict[str, str]:
    """Make (or find) the client role and instance profile of ``deployment``.

    The role carries ``boundary_arn`` as its permissions boundary (the template's ClientRoleBoundary):
    the function that makes it may only create, change or attach policies to roles that carry it, so
    the role can never hold more than the boundary allows. A role found without it (made by an older
    version) gets it before anything else is changed.

    Returns ``{"roleName", "roleArn", "instanceProfileName", "instanceProfileArn"}``. Transient:
    throttling, ``NoSuchEntity`` after a create (IAM is eventually consistent) and
    ``ConcurrentModification``. The account (and partition) come from the role's ARN unless given.
    A profile just made is not usable by EC2 for a few seconds: :func:`launch_client` reports that
    as ``Transient``.
    """
    iam = client("iam", IAM_REGION)
    name = _role_name(deployment)
    # get/create: NoSuchEntity is handled above; anything else but throttling is a real error.
    with translate_errors(transient=IAM_CONCURRENT):
        role = _get_or_create_role(iam, deployment, name, boundary_arn, regions)
    if (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") != boundary_arn:
        with translate_errors(transient=IAM_NOT_YET):
            iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary_arn)
        LOG.info("set the permissions boundary of %s to %s", name, boundary_arn)
    arn_parts = role["Arn"].split(":")
    partition, account = arn_parts[1], account_id or arn_parts[4]
    # attach (idempotent on AWS) / put (overwrites): NoSuchEntity means the new role is not visible yet.
    with translate_errors(transient=IAM_NOT_YET):
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        core_arn = f"arn:{partition}:iam::aws:policy/{SSM_CORE_POLICY}"
        if not any(p["PolicyArn"] == core_arn for p in attached):
            iam.attach_role_policy(RoleName=name, PolicyArn=core_arn)
        iam.put_role_policy(
            RoleName=name,
            PolicyName=INLINE_POLICY_NAME,
            PolicyDocument=json.dumps(
                client_inline_policy(deployment=deployment, account_id=account, partition=partition)
            ),
        )
    with translate_errors(transient=IAM_CONCURRENT):
        instance_profile = _get_or_create_profile(iam, deployment, name)
    # add role: NoSuchEntity (profile or role not visible yet) is transient; a profile holds one role.
    with translate_errors(transient=IAM_NOT_YET):
        roles = [r["RoleName"] for r in instance_profile.get("Roles", [])]
        if name not in roles:
            for other in roles:
                iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=other)
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
            LOG.info("added role %s to instance profile %s", name, name)
    return {
        "roleName": name,
        "roleArn": role["Arn"],
        "instanceProfileName": name,
        "instanceProfileArn": instance_profile["Arn"],
    }


def delete_client_iam(*, deployment: str, made_by: str | None = None) -> bool:
    """Delete the client instance profile and role of ``deployment``; each part already gone is fine.

    ``made_by``: only if that execution made the role (a rollback of a run on an existing deployment).

    Order: remove the role from the profile, delete the profile, delete the inline policies, detach
    the managed policies, delete the role. ``DeleteConflict`` (a change not yet visible) is
    ``ResourceInUse``, retried by the state machine. Returns whether anything was deleted.
    """
    iam = client("iam", IAM_REGION)
    name = _role_name(deployment)
    gone = frozenset({"NoSuchEntity"})
    did = False
    if made_by is not None:
        try:
            with translate_errors(transient=IAM_CONCURRENT):
                role = iam.get_role(RoleName=name)["Role"]
        except ClientError as exc:
            if error_code(exc) not in gone:
                raise
            return False
        if not in_scope(tags_of(role), made_by):
            return False
    with translate_errors(transient=IAM_CONCURRENT, in_use=IAM_IN_USE):
        try:
            profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except ClientError as exc:
            if error_code(exc) not in gone:
                raise
            profile = None
        if profile is not None:
            for role in profile.get("Roles", []):
                did |= delete_if_present(
                    gone, iam.remove_role_from_instance_profile, InstanceProfileName=name, RoleName=role["RoleName"]
                )
            did |= delete_if_present(gone, iam.delete_instance_profile, InstanceProfileName=name)
        try:
            inline = iam.list_role_policies(RoleName=name)["PolicyNames"]
            attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        except ClientError as exc:
            if error_code(exc) not in gone:
                raise
            return did
        for policy_name in inline:
            did |= delete_if_present(gone, iam.delete_role_policy, RoleName=name, PolicyName=policy_name)
        for policy in attached:
            did |= delete_if_present(gone, iam.detach_role_policy, RoleName=name, PolicyArn=policy["PolicyArn"])
        did |= delete_if_present(gone, iam.delete_role, RoleName=name)
    if did:
        LOG.info("deleted client IAM role and instance profile %s", name)
    return did


# -- security group ---------------------------------------------------------------------------------


def _find_client_group(ec2: Any, deployment: str, role: Role, vpc_id: str | None = None) -> list[dict[str, Any]]:
    filters = [
        *ec2_filters(deployment, role),
        {"Name": "group-name", "Values": [client_security_group_name(deployment, role)]},
    ]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    return ec2.describe_security_groups(Filters=filters)["SecurityGroups"]


def _client_permissions(group_id: str, ports: list[int] | tuple[int, ...]) -> list[dict[str, Any]]:
    return [
        {
            "IpProtocol": "tcp",
            "FromPort": port,
            "ToPort": port,
            "UserIdGroupPairs": [{"GroupId": group_id, "Description": "msk-pair client machine"}],
        }
        for port in ports
    ]


def ensure_client_security_group(
    *, deployment: str, role: Role, network: dict[str, Any], ports: list[int] | tuple[int, ...] = CLIENT_PORTS
) -> str:
    """Make (or find) the client group (no inbound rules) and let the VPC's default group admit it.

    The default security group (the cluster's) gets one TCP rule per port naming the client group:
    9096 (SASL/SCRAM over TLS) and 11001/11002 (Prometheus JMX and node exporters), not "All traffic".
    Transient: throttling, and the VPC or a group made a moment ago not visible yet.
    ``InvalidGroup.Duplicate`` (a concurrent run made it) and ``InvalidPermission.Duplicate`` are fine.
    Returns the client group's id.
    """
    ec2 = client("ec2", network["region"])
    vpc_id = network["vpcId"]
    name = client_security_group_name(deployment, role)
    with translate_errors(transient=EC2_NOT_YET):
        found = _find_client_group(ec2, deployment, role, vpc_id)
        if found:
            group_id = found[0]["GroupId"]
        else:
            try:
                group_id = ec2.create_security_group(
                    GroupName=name,
                    Description=f"msk-pair {deployment} {role}: Kafka client machine (no inbound rules)",
                    VpcId=vpc_id,
                    TagSpecifications=tag_specifications("security-group", deployment, role, name),
                )["GroupId"]
                LOG.info("created security group %s (%s)", group_id, name)
            except ClientError as exc:
                if error_code(exc) != "InvalidGroup.Duplicate":
                    raise
                group_id = _find_client_group(ec2, deployment, role, vpc_id)[0]["GroupId"]
        default_id = network["defaultSecurityGroupId"]
        default = ec2.describe_security_groups(GroupIds=[default_id])["SecurityGroups"][0]
        have = {
            (p.get("IpProtocol"), p.get("FromPort"), p.get("ToPort"))
            for p in default.get("IpPermissions", [])
            if any(pair.get("GroupId") == group_id for pair in p.get("UserIdGroupPairs", []))
        }
        missing = [p for p in _client_permissions(group_id, ports) if ("tcp", p["FromPort"], p["ToPort"]) not in have]
        if missing:
            try:
                ec2.authorize_security_group_ingress(GroupId=default_id, IpPermissions=missing)
            except ClientError as exc:
                if error_code(exc) != "InvalidPermission.Duplicate":
                    raise
    return group_id


def delete_client_security_group(*, deployment: str, role: Role, region: str, made_by: str | None = None) -> bool:
    """Revoke the rules that name the client group (in every group of its VPC), then delete it.

    ``made_by``: only a group that execution made (a rollback of a run on an existing deployment).

    ``DependencyViolation`` (the instance's network interface still exists while it shuts down) is
    ``ResourceInUse``, retried by the state machine. A group or rule already gone is fine. Returns
    whether a group was deleted.
    """
    ec2 = client("ec2", region)
    did = False
    with translate_errors(in_use=frozenset({"DependencyViolation"})):
        for group in _find_client_group(ec2, deployment, role):
            if not in_scope(tags_of(group), made_by):
                continue
            group_id = group["GroupId"]
            others = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [group["VpcId"]]}])
            for other in others["SecurityGroups"]:
                naming = [
                    {k: v for k, v in p.items() if k in ("IpProtocol", "FromPort", "ToPort")}
                    # only the pairs naming the client group, as described (moto matches descriptions too)
                    | {"UserIdGroupPairs": [pair for pair in p["UserIdGroupPairs"] if pair.get("GroupId") == group_id]}
                    for p in other.get("IpPermissions", [])
                    if any(pair.get("GroupId") == group_id for pair in p.get("UserIdGroupPairs", []))
                ]
                if naming and other["GroupId"] != group_id:
                    delete_if_present(
                        RULE_GONE | GROUP_GONE,
                        ec2.revoke_security_group_ingress,
                        GroupId=other["GroupId"],
                        IpPermissions=naming,
                    )
            if delete_if_present(GROUP_GONE, ec2.delete_security_group, GroupId=group_id):
                did = True
                LOG.info("deleted security group %s", group_id)
    return did


# -- the instance ------------------------------------------------------------------------------


def latest_al2023_ami(region: str) -> str:
    """The latest Amazon Linux 2023 AMI of ``region``, from its public SSM parameter."""
    with translate_errors():
        return client("ssm", region).get_parameter(Name=AL2023_AMI_PARAMETER)["Parameter"]["Value"]


def find_clients(*, deployment: str, role: Role, region: str, states: tuple[str, ...] = LIVE_STATES) -> list[dict]:
    """The tagged client instances of ``deployment``/``role`` in ``region`` in one of ``states``."""
    ec2 = client("ec2", region)
    filters = [*ec2_filters(deployment, role), {"Name": "instance-state-name", "Values": list(states)}]
    with translate_errors():
        pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
        return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def _root_device(ec2: Any, image_id: str) -> tuple[str, int]:
    image = ec2.describe_images(ImageIds=[image_id])["Images"][0]
    device = image.get("RootDeviceName", "/dev/xvda")
    size = next(
        (
            m["Ebs"].get("VolumeSize", 0)
            for m in image.get("BlockDeviceMappings", [])
            if m.get("DeviceName") == device and "Ebs" in m
        ),
        0,
    )
    return device, max(ROOT_VOLUME_GIB, int(size or 0))


def launch_client(
    *,
    deployment: str,
    role: Role,
    network: dict[str, Any],
    instance_type: str,
    instance_profile_arn: str,
    security_group_id: str,
    client_token: str,
) -> dict[str, str]:
    """Launch (or find) the client instance of ``deployment``/``role``: returns ``{"instanceId", "state"}``.

    An existing pending/running/stopped instance tagged with the deployment and role is returned as
    is. Otherwise RunInstances with ``client_token`` (at most 64 ASCII characters; the same token
    returns the same instance, so a retried launch makes no second one). Transient: throttling, the
    subnet or group made a moment ago not visible yet, and ``InvalidParameterValue`` about the IAM
    instance profile (a new profile is not usable by EC2 for several seconds).
    """
    region = network["region"]
    ec2 = client("ec2", region)
    existing = find_clients(deployment=deployment, role=role, region=region)
    same = [i for i in existing if i["InstanceType"] == instance_type]
    if same:
        instance = same[0]
        return {"instanceId": instance["InstanceId"], "state": instance["State"]["Name"], "replaced": []}
    replaced = [i["InstanceId"] for i in existing]
    if replaced:
        # Another instance type was asked for: the client holds no data (its configuration is the bootstrap
        # command's), so it is relaunched rather than stopped and modified.
        with translate_errors(transient=INSTANCE_NOT_YET):
            ec2.terminate_instances(InstanceIds=replaced)
        LOG.info("replacing client instances %s (%s) with a %s", replaced, existing[0]["InstanceType"], instance_type)
    image_id = latest_al2023_ami(region)
    name = f"{deployment}-{role}-client"
    with translate_errors(transient=EC2_NOT_YET):
        root_device, root_gib = _root_device(ec2, image_id)
    try:
        with translate_errors(transient=EC2_NOT_YET):
            reservation = ec2.run_instances(
                ImageId=image_id,
                InstanceType=instance_type,
                MinCount=1,
                MaxCount=1,
                ClientToken=client_token[:64],
                IamInstanceProfile={"Arn": instance_profile_arn},
                NetworkInterfaces=[
                    {
                        "DeviceIndex": 0,
                        "SubnetId": network["subnets"]["public"],
                        "Groups": [security_group_id],
                        "AssociatePublicIpAddress": True,
                        # DeleteOnTermination: left to AWS's default for interfaces RunInstances makes
                        # (true). moto 5.2.5 misreads an explicit true as false (a string "true").
                    }
                ],
                MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1},
                BlockDeviceMappings=[
                    {
                        "DeviceName": root_device,
                        "Ebs": {
                            "VolumeSize": root_gib,
                            "VolumeType": "gp3",
                            "Encrypted": True,
                            "DeleteOnTermination": True,
                        },
                    }
                ],
                TagSpecifications=[
                    *tag_specifications("instance", deployment, role, name),
                    *tag_specifications("volume", deployment, role, name),
                    *tag_specifications("network-interface", deployment, role, name),
                ],
            )
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        if error_code(exc) == "InvalidParameterValue" and "instance profile" in message.lower():
            raise Transient(f"RunInstances: instance profile not usable yet: {message}") from None
        raise
    instance = reservation["Instances"][0]
    LOG.info("launched client instance %s (%s)", instance["InstanceId"], name)
    return {"instanceId": instance["InstanceId"], "state": instance["State"]["Name"], "replaced": replaced}


# -- SSM ----------------------------------------------------------------------------------------------


def client_ssm_status(*, region: str, instance_id: str) -> dict[str, Any]:
    """``{"pingStatus": "Online" | "ConnectionLost" | "Inactive" | "NotRegistered", "online": bool}``.

    ``NotRegistered``: SSM does not know the instance (yet). ``InvalidInstanceId`` from
    DescribeInstanceInformation means the same here. Transient: throttling only.
    """
    ssm = client("ssm", region)
    try:
        with translate_errors():
            found = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [instance_id]}])
    except ClientError as exc:
        if error_code(exc) != "InvalidInstanceId":
            raise
        found = {"InstanceInformationList": []}
    infos = [i for i in found.get("InstanceInformationList", []) if i.get("InstanceId") == instance_id]
    status = infos[0].get("PingStatus", "NotRegistered") if infos else "NotRegistered"
    return {"pingStatus": status, "online": status == "Online"}


def send_command(
    *,
    region: str,
    instance_id: str,
    script: str,
    comment: str,
    execution_timeout_seconds: int = COMMAND_EXECUTION_TIMEOUT_SECONDS,
) -> str:
    """Send ``script`` with ``AWS-RunShellScript`` to one instance; returns the command id.

    ``comment`` (at most 100 characters) is also the idempotency key: if this instance already has a
    command with the same comment that has not failed, its id is returned and nothing is sent again
    (a retried task does not run the script twice). Transient: throttling, and ``InvalidInstanceId``
    (an instance that registered a moment ago is not yet a valid target).
    """
    ssm = client("ssm", region)
    comment = comment[:100]
    with translate_errors(transient=SSM_INSTANCE_NOT_YET):
        for page in ssm.get_paginator("list_commands").paginate(InstanceId=instance_id):
            for command in page["Commands"]:
                if command.get("Comment") == comment and command.get("Status") not in COMMAND_FAILED:
                    return command["CommandId"]
        command = ssm.send_command(
            InstanceIds=[instance_id],
            DocumentName="AWS-RunShellScript",
            Comment=comment,
            TimeoutSeconds=COMMAND_DELIVERY_TIMEOUT_SECONDS,
            Parameters={"commands": script.splitlines(), "executionTimeout": [str(execution_timeout_seconds)]},
        )["Command"]
    LOG.info("sent command %s to %s (%s)", command["CommandId"], instance_id, comment)
    return command["CommandId"]


def command_comment(what: str, execution: str) -> str:
    """The comment of a step's command: ``msk-pair <what> <execution>`` (the idempotency key of send_command)."""
    return f"msk-pair {what} {execution}"[:100]


def submit_command(*, region: str, instance_id: str, script: str, what: str, execution: str) -> dict[str, str]:
    """Send a step's ``script`` to its client (:func:`send_command`, once per execution and ``what``).

    Returns ``{"commandId", "what"}``: what the step's wait loop checks with :func:`poll_command`.
    """
    comment = command_comment(what, execution)
    command_id = send_command(region=region, instance_id=instance_id, script=script, comment=comment)
    return {"commandId": command_id, "what": what}


def redact(text: str) -> str:
    """Drop every line that looks like it could carry a password or secret value."""
    return "\n".join("[redacted line]" if _REDACT.search(line) else line for line in text.splitlines())


def _tail(text: str, limit: int = OUTPUT_TAIL_CHARS) -> str:
    text = redact(text or "").strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def command_status(
    *, region: str, command_id: str, instance_id: str, output_chars: int = OUTPUT_TAIL_CHARS
) -> dict[str, Any]:
    """The state of one command on one instance, for a Wait + check loop.

    Returns ``{"status", "done", "succeeded", "responseCode", "output", "error"}`` where ``status`` is
    SSM's (``Pending``, ``InProgress``, ``Delayed``, ``Success``, ``Failed``, ``Cancelled``,
    ``TimedOut``, ...), and ``output`` / ``error`` are the tails of stdout / stderr with every line that
    mentions a password or secret redacted. Transient: throttling, and ``InvocationDoesNotExist``
    (right after SendCommand the invocation is not visible yet).
    """
    ssm = client("ssm", region)
    with translate_errors(transient=SSM_INVOCATION_NOT_YET):
        inv = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    status = inv.get("Status", "Pending")
    return {
        "status": status,
        "done": status in COMMAND_DONE,
        "succeeded": status == "Success",
        "responseCode": inv.get("ResponseCode", -1),
        "output": _tail(inv.get("StandardOutputContent", ""), output_chars),
        "error": _tail(inv.get("StandardErrorContent", "")),
    }


def raise_if_failed(status: dict[str, Any], what: str) -> None:
    """Raise ``ResourceFailed`` (not retried: teardown) if the command ended in anything but Success."""
    if status.get("status") in COMMAND_FAILED:
        detail = redact(status.get("error") or status.get("output") or "no output")
        raise ResourceFailed(
            f"{what}: SSM command {status['status']} (exit code {status.get('responseCode', -1)}): {detail}"
        )


def smoke_test_passed(output: str) -> bool:
    """Whether a smoke test's standard output carries the success marker."""
    return SMOKE_TEST_MARKER in (output or "")


def poll_command(*, region: str, instance_id: str, command: dict[str, Any], role: str) -> dict[str, Any]:
    """One check of a wait loop on a client's command (``command``: what :func:`submit_command` returned).

    Returns the command with SSM's ``status``; a verify command that succeeded also says whether the smoke
    test passed (``smokeTestPassed``) and the peer's brokers answered (``reachable``). A command that ended
    in anything but Success raises ``ResourceFailed`` (:func:`raise_if_failed`).
    """
    status = command_status(region=region, command_id=command["commandId"], instance_id=instance_id)
    raise_if_failed(status, f"{role} client {command['what']}")
    result = {**command, "status": status["status"]}
    if status["status"] == "Success" and command["what"] == "verify":
        result["smokeTestPassed"] = smoke_test_passed(status["output"])
        result["reachable"] = CROSS_REGION_MARKER in (status["output"] or "")
    return result


# -- the scripts ----------------------------------------------------------------------------------

_WRITE_PROPERTIES = r"""
import json, os, subprocess, sys
secret_arn, region, path, truststore = sys.argv[1:5]
got = subprocess.run(
    ["aws", "secretsmanager", "get-secret-value", "--secret-id", secret_arn, "--region", region,
     "--query", "SecretString", "--output", "text"],
    capture_output=True, text=True)
if got.returncode != 0:
    sys.exit("msk-pair: cannot read the SCRAM secret: " + got.stderr.strip())
try:
    secret = json.loads(got.stdout)
    username, pw = secret["username"], secret["password"]
except (ValueError, KeyError, TypeError):
    sys.exit("msk-pair: the SCRAM secret is not JSON with username and password")
def jaas(value):
    return value.replace("\\", "\\\\").replace('"', '\\"')
def prop(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n")
module = "org.apache.kafka.common.security.scram.ScramLoginModule"
lines = [
    "security.protocol=SASL_SSL",
    "sasl.mechanism=SCRAM-SHA-512",
    "sasl.jaas.config=" + prop(module + ' required username="' + jaas(username) + '" password="' + jaas(pw) + '";'),
    "ssl.truststore.location=" + truststore,
    "ssl.truststore.password=changeit",
    "",
]
tmp = path + ".tmp"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write("\n".join(lines))
os.replace(tmp, path)
"""

_CHECK_SHA512 = r"""
import re, sys
text = open(sys.argv[1]).read()
digest = text.split(":", 1)[1] if ":" in text else text.split()[0]
digest = re.sub(r"\s+", "", digest).lower()
if not re.fullmatch(r"[0-9a-f]{128}", digest):
    sys.exit("msk-pair: unreadable SHA-512 file " + sys.argv[1])
print(digest)
"""


def bootstrap_script(*, kafka_version: str, region: str, secret_arn: str, cluster_arn: str) -> str:
    """The ``AWS-RunShellScript`` text that configures the client machine (safe to run twice).

    Installs Amazon Corretto 17, downloads the Apache Kafka client release matching the cluster's
    MSK version (``catalog.KAFKA_CLIENT_VERSIONS``) and its published ``.sha512`` from
    archive.apache.org and refuses a mismatch, builds a truststore from the JVM's CA certificates and
    writes :data:`CLIENT_PROPERTIES` for SASL_SSL / SCRAM-SHA-512. The SCRAM password is read from
    Secrets Manager on the machine (with the instance role) and written only into that file (mode
    0600); it is never in this text, never echoed.
    """
    client_version = catalog.KAFKA_CLIENT_VERSIONS.get(kafka_version, kafka_version)
    if not re.fullmatch(r"\d+\.\d+\.\d+", client_version):
        raise ValueError(f"no Apache Kafka client release known for MSK version {kafka_version!r}")
    archive = f"kafka_{SCALA_VERSION}-{client_version}.tgz"
    url = f"{KAFKA_ARCHIVE_URL}/{client_version}/{archive}"
    q = shlex.quote
    return f"""#!/bin/bash
# msk-pair: configure the Kafka client machine (Kafka {client_version} for MSK {kafka_version}).
set -euo pipefail
set +x
umask 022
REGION={q(region)}
SECRET_ARN={q(secret_arn)}
CLUSTER_ARN={q(cluster_arn)}
KAFKA_VERSION={q(client_version)}
ARCHIVE={q(archive)}
URL={q(url)}
KAFKA_DIR=/opt/kafka_{SCALA_VERSION}-{client_version}
echo "msk-pair: installing Amazon Corretto 17"
dnf install -y java-17-amazon-corretto-headless python3 tar gzip
command -v aws >/dev/null || dnf install -y awscli-2
if [ ! -x "$KAFKA_DIR/bin/kafka-topics.sh" ]; then
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
  echo "msk-pair: downloading Apache Kafka $KAFKA_VERSION"
  curl --fail --silent --show-error --location --retry 5 --retry-connrefused -o "$WORK/$ARCHIVE" "$URL"
  curl --fail --silent --show-error --location --retry 5 --retry-connrefused -o "$WORK/$ARCHIVE.sha512" "$URL.sha512"
  EXPECTED="$(python3 - "$WORK/$ARCHIVE.sha512" <<'MSKPAIR_PY'
{_CHECK_SHA512.strip()}
MSKPAIR_PY
)"
  ACTUAL="$(sha512sum "$WORK/$ARCHIVE" | cut -d' ' -f1)"
  if [ "$EXPECTED" != "$ACTUAL" ]; then
    echo "msk-pair: SHA-512 mismatch for $ARCHIVE: expected $EXPECTED, got $ACTUAL" >&2
    exit 1
  fi
  echo "msk-pair: SHA-512 of the Kafka archive verified"
  rm -rf "$KAFKA_DIR.partial"
  mkdir -p "$KAFKA_DIR.partial"
  tar -xzf "$WORK/$ARCHIVE" -C "$KAFKA_DIR.partial" --strip-components=1
  rm -rf "$KAFKA_DIR"
  mv "$KAFKA_DIR.partial" "$KAFKA_DIR"
fi
ln -sfn "$KAFKA_DIR" {KAFKA_HOME}
JAVA_BIN="$(command -v java)"
JAVA_BIN="$(readlink -f "$JAVA_BIN")"
JAVA_HOME="${{JAVA_BIN%/bin/java}}"
cp "$JAVA_HOME/lib/security/cacerts" {TRUSTSTORE}
chmod 0644 {TRUSTSTORE}
umask 077
python3 - "$SECRET_ARN" "$REGION" {CLIENT_PROPERTIES} {TRUSTSTORE} <<'MSKPAIR_PY'
{_WRITE_PROPERTIES.strip()}
MSKPAIR_PY
umask 022
cat > {ENV_FILE} <<MSKPAIR_ENV
export KAFKA_HOME={KAFKA_HOME}
export PATH="\\$PATH:{KAFKA_HOME}/bin"
export MSK_CLUSTER_ARN="$CLUSTER_ARN"
export MSK_CLIENT_PROPERTIES={CLIENT_PROPERTIES}
export AWS_DEFAULT_REGION="$REGION"
MSKPAIR_ENV
echo "msk-pair: wrote {CLIENT_PROPERTIES}"
echo "{BOOTSTRAP_MARKER}"
"""


_BROKERS = re.compile(r"[A-Za-z0-9.\-]+:\d+(,[A-Za-z0-9.\-]+:\d+)*")


def cross_region_check_script(*, peer_bootstrap_brokers: str) -> str:
    """The ``AWS-RunShellScript`` text that proves this client reaches the PEER region's brokers.

    For every broker of the other region's SASL/SCRAM bootstrap string: a TCP connection over the
    peering (routes, the peer's default security group admitting this VPC's CIDR on 9096) and a TLS
    handshake with the broker. It needs no credentials of the other cluster: MirrorMaker 2 brings
    those; this check proves the network path it will use. Prints :data:`CROSS_REGION_MARKER`.
    """
    if not _BROKERS.fullmatch(peer_bootstrap_brokers or ""):
        raise ValueError("peer_bootstrap_brokers must be a comma-separated list of host:port")
    return f"""#!/bin/bash
# msk-pair: cross-region check: this client reaches the other region's brokers over the VPC peering.
set -euo pipefail
set +x
for broker in $(echo {shlex.quote(peer_bootstrap_brokers)} | tr ',' ' '); do
  host="${{broker%:*}}"; port="${{broker##*:}}"
  timeout 10 bash -c "exec 3<>/dev/tcp/$host/$port" || {{ echo "cannot reach $broker" >&2; exit 1; }}
  echo | timeout 15 openssl s_client -connect "$broker" -servername "$host" -brief >/dev/null 2>&1 \
    || {{ echo "no TLS handshake with $broker" >&2; exit 1; }}
  echo "msk-pair: reached $broker"
done
echo "{CROSS_REGION_MARKER}"
"""


def verify_script(*, bootstrap_brokers: str, peer_bootstrap_brokers: str) -> str:
    """The smoke test on the client's own cluster, then the cross-region check, as one command.

    One command instead of two: after both clusters are ACTIVE this is the only step left
    on the critical path, and each SSM command costs minutes.
    """
    smoke = smoke_test_script(bootstrap_brokers=bootstrap_brokers)
    cross = cross_region_check_script(peer_bootstrap_brokers=peer_bootstrap_brokers)
    return smoke + "\n" + cross.split("\n", 1)[1]


def smoke_test_script(*, bootstrap_brokers: str) -> str:
    """The ``AWS-RunShellScript`` text that proves the client reaches its cluster over SASL/SCRAM.

    Creates the topic :data:`SMOKE_TEST_TOPIC` if missing, describes it and lists topics (the first
    :data:`TOPICS_LISTED_CHARS` characters of names, then how many more), with :data:`CLIENT_PROPERTIES`;
    prints :data:`SMOKE_TEST_MARKER` on success.
    """
    if not re.fullmatch(r"[A-Za-z0-9.\-]+:\d+(,[A-Za-z0-9.\-]+:\d+)*", bootstrap_brokers or ""):
        raise ValueError("bootstrap_brokers must be a comma-separated list of host:port")
    return f"""#!/bin/bash
# msk-pair: smoke test of the Kafka client against its own cluster (SASL/SCRAM).
set -euo pipefail
set +x
BOOTSTRAP={shlex.quote(bootstrap_brokers)}
TOPICS="timeout 300 {KAFKA_HOME}/bin/kafka-topics.sh --bootstrap-server $BOOTSTRAP --command-config {CLIENT_PROPERTIES}"
$TOPICS --create --if-not-exists --topic {SMOKE_TEST_TOPIC} --partitions 3 --replication-factor 3
$TOPICS --describe --topic {SMOKE_TEST_TOPIC}
echo "msk-pair: topics on the cluster:"
$TOPICS --list | awk -v budget={TOPICS_LISTED_CHARS} '{{ n += length($0) + 1 }} n <= budget {{ print; shown++ }}
  END {{ if (NR > shown) print "msk-pair: " NR - shown " more topics not listed" }}'
echo "{SMOKE_TEST_MARKER}"
"""


# -- teardown -------------------------------------------------------------------------------------


def terminate_clients(*, deployment: str, role: Role, region: str, made_by: str | None = None) -> dict[str, Any]:
    """Terminate the tagged client instances; returns ``{"remaining": n, "instanceIds": [...], "done": n == 0}``.

    ``made_by``: only the instances that execution launched (a rollback of a run on an existing deployment).

    ``remaining`` counts instances not yet ``terminated`` (a shutting-down instance still holds its
    network interface, which blocks deleting the group and subnet): call again (after a Wait) until it
    is 0. Never sleeps. Transient: throttling, and ``InvalidInstanceID.NotFound`` (an instance launched
    a moment ago not visible to TerminateInstances yet).
    """
    ec2 = client("ec2", region)

    def ours() -> list[dict[str, Any]]:
        found = find_clients(deployment=deployment, role=role, region=region, states=NOT_TERMINATED)
        return [i for i in found if in_scope(tags_of(i), made_by)]

    instances = ours()
    to_terminate = [i["InstanceId"] for i in instances if i["State"]["Name"] != "shutting-down"]
    if to_terminate:
        with translate_errors(transient=INSTANCE_NOT_YET):
            ec2.terminate_instances(InstanceIds=to_terminate)
        LOG.info("terminating client instances %s", to_terminate)
        instances = ours()
    return {"remaining": len(instances), "instanceIds": [i["InstanceId"] for i in instances], "done": not instances}
