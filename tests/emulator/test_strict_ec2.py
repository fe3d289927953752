"""strict_ec2: moto refuses what AWS refuses, and instances take emulated time."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from msk_pair.emulator import strict_ec2
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile

REGION = "us-east-1"
AMI = "ami-12c6146b"
PROFILE = LatencyProfile(instance_profile_propagation=10.0, instance_start=30.0, instance_terminate=60.0)
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=[strict_ec2])


@pytest.fixture
def vclock(emulated_clock: VirtualClock) -> VirtualClock:
    """Here the clock alone (not conftest's moto_world): some tests install the extension themselves."""
    return emulated_clock


@pytest.fixture
def ec2(moto_world: VirtualClock) -> Any:
    return boto3.client("ec2", region_name=REGION)


@pytest.fixture
def iam(ec2: Any) -> Any:
    return boto3.client("iam", region_name=REGION)


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def _vpc(ec2: Any) -> str:
    return ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


def _subnet(ec2: Any, vpc_id: str, cidr: str = "10.0.1.0/24") -> str:
    return ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"]


def _igw(ec2: Any, vpc_id: str) -> str:
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    return igw_id


def _sg(ec2: Any, vpc_id: str, name: str) -> str:
    return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc_id)["GroupId"]


def _run(ec2: Any, subnet_id: str, **kwargs: Any) -> str:
    return ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, SubnetId=subnet_id, **kwargs)["Instances"][0][
        "InstanceId"
    ]


def _state(ec2: Any, instance_id: str) -> str:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]["Name"]


def _enis(ec2: Any, subnet_id: str) -> list[dict[str, Any]]:
    return ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet_id]}])["NetworkInterfaces"]


# -- rule 1: DeleteVpc --------------------------------------------------------------------------


def test_delete_vpc_refused_while_internet_gateway_attached(ec2: Any) -> None:
    vpc_id = _vpc(ec2)
    igw_id = _igw(ec2, vpc_id)
    with pytest.raises(ClientError) as exc:
        ec2.delete_vpc(VpcId=vpc_id)
    assert _error(exc) == ("DependencyViolation", f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=igw_id)
    ec2.delete_vpc(VpcId=vpc_id)
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]


@pytest.mark.parametrize("dependency", ["security-group", "route-table", "subnet"])
def test_delete_vpc_refused_while_dependencies_remain(ec2: Any, dependency: str) -> None:
    vpc_id = _vpc(ec2)
    if dependency == "security-group":
        sg_id = _sg(ec2, vpc_id, "client")
        remove = lambda: ec2.delete_security_group(GroupId=sg_id)  # noqa: E731
    elif dependency == "route-table":
        rt_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
        remove = lambda: ec2.delete_route_table(RouteTableId=rt_id)  # noqa: E731
    else:
        subnet_id = _subnet(ec2, vpc_id)
        remove = lambda: ec2.delete_subnet(SubnetId=subnet_id)  # noqa: E731
    with pytest.raises(ClientError) as exc:
        ec2.delete_vpc(VpcId=vpc_id)
    assert _error(exc) == ("DependencyViolation", f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    remove()
    ec2.delete_vpc(VpcId=vpc_id)  # the main route table and the default group go with the VPC


# -- rules 5 and 6: route tables, the default group ---------------------------------------------


def test_delete_route_table_refused_while_associated_and_for_main(ec2: Any) -> None:
    vpc_id = _vpc(ec2)
    subnet_id = _subnet(ec2, vpc_id)
    rt_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    assoc_id = ec2.associate_route_table(RouteTableId=rt_id, SubnetId=subnet_id)["AssociationId"]
    with pytest.raises(ClientError) as exc:
        ec2.delete_route_table(RouteTableId=rt_id)
    assert _error(exc)[0] == "DependencyViolation"
    ec2.disassociate_route_table(AssociationId=assoc_id)
    ec2.delete_route_table(RouteTableId=rt_id)

    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]
    with pytest.raises(ClientError) as exc:
        ec2.delete_route_table(RouteTableId=main)
    assert _error(exc) == ("DependencyViolation", f"The routeTable '{main}' has dependencies and cannot be deleted.")


def test_default_security_group_cannot_be_deleted_by_a_user(ec2: Any) -> None:
    vpc_id = _vpc(ec2)
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    with pytest.raises(ClientError) as exc:
        ec2.delete_security_group(GroupId=default)
    assert _error(exc)[0] == "CannotDelete"


# -- rule 2: DeleteSubnet -----------------------------------------------------------------------


def test_delete_subnet_refused_while_network_interface_in_it(ec2: Any) -> None:
    vpc_id = _vpc(ec2)
    subnet_id = _subnet(ec2, vpc_id)
    eni_id = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]["NetworkInterfaceId"]
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnet_id)
    assert _error(exc) == (
        "DependencyViolation",
        f"The subnet '{subnet_id}' has dependencies and cannot be deleted.",
    )
    ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    ec2.delete_subnet(SubnetId=subnet_id)


# -- rule 3: DeleteSecurityGroup ----------------------------------------------------------------


def test_delete_security_group_refused_while_interface_uses_it(ec2: Any) -> None:
    vpc_id = _vpc(ec2)
    subnet_id = _subnet(ec2, vpc_id)
    sg_id = _sg(ec2, vpc_id, "client")
    eni_id = ec2.create_network_interface(SubnetId=subnet_id, Groups=[sg_id])["NetworkInterface"]["NetworkInterfaceId"]
    with pytest.raises(ClientError) as exc:
        ec2.delete_security_group(GroupId=sg_id)
    assert _error(exc) == ("DependencyViolation", f"resource {sg_id} has a dependent object")
    ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    ec2.delete_security_group(GroupId=sg_id)


def test_delete_security_group_refused_while_another_group_references_it(ec2: Any) -> None:
    vpc_id = _vpc(ec2)
    client_sg = _sg(ec2, vpc_id, "client")
    cluster_sg = _sg(ec2, vpc_id, "cluster")
    permission = {"IpProtocol": "tcp", "FromPort": 9096, "ToPort": 9096, "UserIdGroupPairs": [{"GroupId": client_sg}]}
    ec2.authorize_security_group_ingress(GroupId=cluster_sg, IpPermissions=[permission])
    with pytest.raises(ClientError) as exc:
        ec2.delete_security_group(GroupId=client_sg)
    assert _error(exc) == ("DependencyViolation", f"resource {client_sg} has a dependent object")
    ec2.revoke_security_group_ingress(GroupId=cluster_sg, IpPermissions=[permission])
    ec2.delete_security_group(GroupId=client_sg)


def test_a_self_referencing_group_can_be_deleted(ec2: Any) -> None:
    """A rule naming its own group is not a dependent object: DeleteSecurityGroup succeeds and the group is
    gone (a later Describe answers InvalidGroup.NotFound, EC2 API reference "Error codes"). The MSK guide's
    cluster group admits itself, so a rollback depends on this."""
    vpc_id = _vpc(ec2)
    sg_id = _sg(ec2, vpc_id, "self")
    ec2.authorize_security_group_ingress(
        GroupId=sg_id, IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg_id}]}]
    )
    group = ec2.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"][0]
    assert [p["GroupId"] for r in group["IpPermissions"] for p in r["UserIdGroupPairs"]] == [sg_id]
    assert ec2.delete_security_group(GroupId=sg_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as exc:
        ec2.describe_security_groups(GroupIds=[sg_id])
    assert _error(exc)[0] == "InvalidGroup.NotFound"
    remaining = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert sg_id not in [g["GroupId"] for g in remaining]


# -- rule 4: DetachInternetGateway --------------------------------------------------------------


def test_detach_gateway_refused_while_instance_has_public_ip_until_terminated(ec2: Any, vclock: VirtualClock) -> None:
    vpc_id = _vpc(ec2)
    subnet_id = _subnet(ec2, vpc_id)
    igw_id = _igw(ec2, vpc_id)
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    instance_id = _run(ec2, subnet_id)
    assert ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["PublicIpAddress"]
    message = (
        f"Network {vpc_id} has some mapped public address(es). "
        "Please unmap those public address(es) before detaching the gateway."
    )
    with pytest.raises(ClientError) as exc:
        ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    assert _error(exc) == ("DependencyViolation", message)

    ec2.terminate_instances(InstanceIds=[instance_id])
    vclock.advance(PROFILE.instance_terminate - 1)  # still shutting down: the address is still mapped
    with pytest.raises(ClientError):
        ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    vclock.advance(1)
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)


def test_detach_gateway_refused_while_elastic_ip_associated(ec2: Any) -> None:
    vpc_id = _vpc(ec2)
    subnet_id = _subnet(ec2, vpc_id)
    igw_id = _igw(ec2, vpc_id)
    eni_id = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]["NetworkInterfaceId"]
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    assoc_id = ec2.associate_address(AllocationId=allocation_id, NetworkInterfaceId=eni_id)["AssociationId"]
    with pytest.raises(ClientError) as exc:
        ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    assert _error(exc)[0] == "DependencyViolation"
    ec2.disassociate_address(AssociationId=assoc_id)
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)


# -- rule 7: IAM instance profile propagation ---------------------------------------------------


def _instance_profile(iam: Any, name: str = "client-profile") -> dict[str, Any]:
    iam.create_role(RoleName="client-role", AssumeRolePolicyDocument="{}")
    created = iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName="client-role")
    return created


def test_new_instance_profile_is_invalid_until_propagated(ec2: Any, iam: Any, vclock: VirtualClock) -> None:
    subnet_id = _subnet(ec2, _vpc(ec2))
    _instance_profile(iam)
    with pytest.raises(ClientError) as exc:
        _run(ec2, subnet_id, IamInstanceProfile={"Name": "client-profile"})
    assert _error(exc) == (
        "InvalidParameterValue",
        "Value (client-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
    )
    vclock.advance(PROFILE.instance_profile_propagation)
    instance_id = _run(ec2, subnet_id, IamInstanceProfile={"Name": "client-profile"})
    assoc = ec2.describe_iam_instance_profile_associations(Filters=[{"Name": "instance-id", "Values": [instance_id]}])
    assert len(assoc["IamInstanceProfileAssociations"]) == 1


def test_new_instance_profile_by_arn_is_invalid_until_propagated(ec2: Any, iam: Any, vclock: VirtualClock) -> None:
    subnet_id = _subnet(ec2, _vpc(ec2))
    arn = _instance_profile(iam)["Arn"]
    with pytest.raises(ClientError) as exc:
        _run(ec2, subnet_id, IamInstanceProfile={"Arn": arn})
    assert _error(exc) == (
        "InvalidParameterValue",
        f"Value ({arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN",
    )
    vclock.advance(PROFILE.instance_profile_propagation)
    _run(ec2, subnet_id, IamInstanceProfile={"Arn": arn})


def test_adding_a_role_restarts_propagation(ec2: Any, iam: Any, vclock: VirtualClock) -> None:
    subnet_id = _subnet(ec2, _vpc(ec2))
    iam.create_role(RoleName="client-role", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="client-profile")
    vclock.advance(PROFILE.instance_profile_propagation)
    iam.add_role_to_instance_profile(InstanceProfileName="client-profile", RoleName="client-role")
    with pytest.raises(ClientError):
        _run(ec2, subnet_id, IamInstanceProfile={"Name": "client-profile"})
    vclock.advance(PROFILE.instance_profile_propagation)
    _run(ec2, subnet_id, IamInstanceProfile={"Name": "client-profile"})


# -- rule 8: instance lifecycle -----------------------------------------------------------------


def test_instance_is_pending_then_running(ec2: Any, vclock: VirtualClock) -> None:
    instance_id = _run(ec2, _subnet(ec2, _vpc(ec2)))
    assert _state(ec2, instance_id) == "pending"
    vclock.advance(PROFILE.instance_start - 1)
    assert _state(ec2, instance_id) == "pending"
    running = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["running"]}])
    assert not running["Reservations"]
    vclock.advance(1)
    assert _state(ec2, instance_id) == "running"
    status = ec2.describe_instance_status(InstanceIds=[instance_id])["InstanceStatuses"]
    assert status[0]["InstanceState"]["Name"] == "running"


def test_terminated_instance_blocks_subnet_and_group_until_gone(ec2: Any, vclock: VirtualClock) -> None:
    vpc_id = _vpc(ec2)
    subnet_id = _subnet(ec2, vpc_id)
    sg_id = _sg(ec2, vpc_id, "client")
    instance_id = _run(ec2, subnet_id, SecurityGroupIds=[sg_id])
    vclock.advance(PROFILE.instance_start)

    result = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]
    assert result["PreviousState"]["Name"] == "running"
    assert result["CurrentState"]["Name"] == "shutting-down"
    vclock.advance(PROFILE.instance_terminate - 1)
    assert _state(ec2, instance_id) == "shutting-down"
    assert len(_enis(ec2, subnet_id)) == 1
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnet_id)
    assert _error(exc)[0] == "DependencyViolation"
    with pytest.raises(ClientError) as exc:
        ec2.delete_security_group(GroupId=sg_id)
    assert _error(exc)[0] == "DependencyViolation"
    # Terminating again, as an idempotent teardown does, neither fails nor restarts the countdown.
    again = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]
    assert again["PreviousState"]["Name"] == "shutting-down"

    vclock.advance(1)
    assert _state(ec2, instance_id) == "terminated"
    assert _enis(ec2, subnet_id) == []
    ec2.terminate_instances(InstanceIds=[instance_id])  # still fine once terminated
    ec2.delete_security_group(GroupId=sg_id)
    ec2.delete_subnet(SubnetId=subnet_id)
    ec2.delete_vpc(VpcId=vpc_id)


def test_network_interface_goes_without_a_describe_instances(ec2: Any, vclock: VirtualClock) -> None:
    subnet_id = _subnet(ec2, _vpc(ec2))
    instance_id = _run(ec2, subnet_id)
    ec2.terminate_instances(InstanceIds=[instance_id])  # a pending instance can be terminated
    vclock.advance(PROFILE.instance_terminate)
    assert _enis(ec2, subnet_id) == []  # any EC2 request sees emulated now
    ec2.delete_subnet(SubnetId=subnet_id)


def test_termination_releases_the_elastic_ip_association(ec2: Any, vclock: VirtualClock) -> None:
    vpc_id = _vpc(ec2)
    subnet_id = _subnet(ec2, vpc_id)
    igw_id = _igw(ec2, vpc_id)
    instance_id = _run(ec2, subnet_id)
    vclock.advance(PROFILE.instance_start)
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ec2.associate_address(AllocationId=allocation_id, InstanceId=instance_id)
    ec2.terminate_instances(InstanceIds=[instance_id])
    vclock.advance(PROFILE.instance_terminate)
    address = ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]
    assert "AssociationId" not in address
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    ec2.release_address(AllocationId=allocation_id)


def test_an_explicit_delete_on_termination_false_keeps_the_interface(ec2: Any, vclock: VirtualClock) -> None:
    subnet_id = _subnet(ec2, _vpc(ec2))
    nic = {"DeviceIndex": 0, "SubnetId": subnet_id, "DeleteOnTermination": False}
    instance_id = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, NetworkInterfaces=[nic])["Instances"][0][
        "InstanceId"
    ]
    ec2.terminate_instances(InstanceIds=[instance_id])
    vclock.advance(PROFILE.instance_terminate)
    assert _state(ec2, instance_id) == "terminated"
    assert len(_enis(ec2, subnet_id)) == 1


# -- install / uninstall ------------------------------------------------------------------------


def test_uninstall_restores_moto(vclock: VirtualClock) -> None:
    from moto.ec2.models import EC2Backend
    from moto.ec2.models.instances import Instance
    from moto.ec2.models.vpcs import VPCBackend
    from moto.ec2.responses._base_response import EC2BaseResponse
    from moto.iam.models import IAMBackend

    before = {
        "terminate": Instance.__dict__["terminate"],
        "ec2_backend": EC2BaseResponse.__dict__["ec2_backend"],
        "create_instance_profile": IAMBackend.__dict__["create_instance_profile"],
    }
    strict_ec2.install()
    strict_ec2.install()
    assert strict_ec2.installed()
    strict_ec2.uninstall()
    strict_ec2.uninstall()
    assert not strict_ec2.installed()
    assert "_state" not in Instance.__dict__
    assert "delete_vpc" not in EC2Backend.__dict__
    assert EC2Backend.delete_vpc is VPCBackend.delete_vpc
    assert Instance.__dict__["terminate"] is before["terminate"]
    assert EC2BaseResponse.__dict__["ec2_backend"] is before["ec2_backend"]
    assert IAMBackend.__dict__["create_instance_profile"] is before["create_instance_profile"]

    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        iam = boto3.client("iam", region_name=REGION)
        vpc_id = _vpc(ec2)
        subnet_id = _subnet(ec2, vpc_id)
        _igw(ec2, vpc_id)
        _instance_profile(iam)
        instance_id = _run(ec2, subnet_id, IamInstanceProfile={"Name": "client-profile"})
        assert _state(ec2, instance_id) == "running"
        ec2.terminate_instances(InstanceIds=[instance_id])
        assert _state(ec2, instance_id) == "terminated"
        ec2.create_network_interface(SubnetId=subnet_id)
        ec2.delete_subnet(SubnetId=subnet_id)
        ec2.delete_vpc(VpcId=vpc_id)  # moto's kindness: the gateway is still attached


def test_instances_made_before_install_follow_the_rules(vclock: VirtualClock) -> None:
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        subnet_id = _subnet(ec2, _vpc(ec2))
        instance_id = _run(ec2, subnet_id)
        strict_ec2.install()
        try:
            assert _state(ec2, instance_id) == "running"
            ec2.terminate_instances(InstanceIds=[instance_id])
            assert _state(ec2, instance_id) == "shutting-down"
            vclock.advance(PROFILE.instance_terminate)
            assert _state(ec2, instance_id) == "terminated"
        finally:
            strict_ec2.uninstall()
