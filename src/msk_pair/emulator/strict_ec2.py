"""Make moto's EC2 (and IAM instance profiles) as strict as AWS where the workflow depends on it.

AWS service: Amazon EC2 (VPCs, subnets, gateways, route tables, security groups, instances) and IAM
  instance profiles' eventual consistency.
Sources: EC2 API Reference, DeleteVpc ("You must detach or delete all gateways and resources that
  are associated with the VPC before you can delete it"), DeleteSubnet, DeleteSecurityGroup
  ("associated with an instance or network interface, is referenced by another security group ...
  the operation fails with DependencyViolation"), DetachInternetGateway, DeleteRouteTable, "Error
  codes for the Amazon EC2 API" (DependencyViolation, CannotDelete, InvalidParameterValue); EC2
  User Guide, "Amazon EC2 instance state changes"; the messages quoted with each rule below.

moto is kinder than AWS: it deletes a VPC with a gateway still attached, a subnet with network
interfaces in it, and terminates an instance in no time. A teardown written against moto would
then pass the tests and fail on AWS. :func:`install` patches moto's model classes (no fork, no
edit of site-packages) so that these calls fail the way AWS fails; :func:`uninstall` restores
every original. Time is emulated: durations come from :func:`msk_pair.emulator.profile.active`
and "now" from :func:`msk_pair.emulator.clock.now`; nothing sleeps.

Rules (what AWS does; "moto:" says what moto 5.2.5 already did):

1. DeleteVpc fails with ``DependencyViolation`` while an internet gateway is attached, or subnets,
   non-default security groups or non-main route tables remain. moto: subnets and extra route
   tables only (the latter with a differently quoted message); gateway and groups added here.
2. DeleteSubnet fails with ``DependencyViolation`` while a network interface is in the subnet.
   moto: no check.
3. DeleteSecurityGroup fails with ``DependencyViolation`` while a network interface uses the group
   or another group's rule references it. moto: no check.
4. DetachInternetGateway fails with ``DependencyViolation`` while the VPC has mapped public
   addresses (an auto-assigned public IP or an Elastic IP on an interface). moto: no check.
5. DeleteRouteTable fails with ``DependencyViolation`` while subnets are associated (moto already
   does this) and, on AWS, for the VPC's main route table (added here).
6. The default security group cannot be deleted by a user (``CannotDelete``); DeleteVpc removes it
   together with the main route table. moto: allowed.
7. IAM is eventually consistent: RunInstances with an instance profile created (or given a role)
   less than ``instance_profile_propagation`` seconds ago fails with ``InvalidParameterValue``
   "Invalid IAM Instance Profile name" (or "... ARN"). moto: the profile is usable at once.
8. Instances take time: RunInstances leaves an instance ``pending`` for ``instance_start`` seconds;
   TerminateInstances leaves it ``shutting-down`` for ``instance_terminate`` seconds, during which
   its network interfaces and public address still exist (blocking rules 2-4). Then it is
   ``terminated``, its interfaces (DeleteOnTermination, true by default for interfaces that
   RunInstances creates) are deleted and its Elastic IPs disassociated. moto: ``running`` at once,
   ``terminated`` at once, and launch-created interfaces kept forever (DeleteOnTermination false).
   States are evaluated lazily, whenever an instance's state is read and at every EC2 request.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from typing import Any

from moto.core.utils import utcnow
from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models import EC2Backend
from moto.ec2.models.instances import Instance, InstanceState, StateReason
from moto.ec2.responses._base_response import EC2BaseResponse
from moto.iam.models import IAMBackend, iam_backends

from msk_pair.emulator import clock, profile
from msk_pair.emulator.patching import PatchSet

_DUE = "_strict_due"  # Instance.__dict__ key: (emulated time, "running" | "terminated")
_IAM_STAMP = "_strict_changed_at"  # InstanceProfile attribute: emulated time of create / add role
_local = threading.local()  # .internal: moto's own DeleteVpc may remove the main table and default group


@contextlib.contextmanager
def _internal() -> Iterator[None]:
    _local.internal = True
    try:
        yield
    finally:
        _local.internal = False


# -- instance lifecycle (rule 8) ----------------------------------------------------------------


def _get_state(instance: Instance) -> InstanceState:
    due = instance.__dict__.get(_DUE)
    # pop() is atomic: when two threads see the transition due, only one of them carries it out.
    if due is not None and clock.now() >= due[0] and instance.__dict__.pop(_DUE, None) is not None:
        if due[1] == "running":
            if instance.__dict__["_state"].name == "pending":  # not if stopped meanwhile
                instance.__dict__["_state"].name, instance.__dict__["_state"].code = "running", 16
        else:
            _finish_termination(instance)
    return instance.__dict__["_state"]


def _set_state(instance: Instance, state: InstanceState) -> None:
    instance.__dict__["_state"] = state


def _finish_termination(instance: Instance) -> None:
    _orig(Instance, "terminate")(instance)
    backend = instance.ec2_backend
    for address in backend.addresses:
        if address.instance is instance or (address.eni is not None and address.eni.instance is instance):
            backend.disassociate_address(address=address.public_ip)


def _settle(backend: Any) -> Any:
    """Bring every instance of the backend to the calling thread's emulated now."""
    for instance in backend.all_instances():
        _get_state(instance)
    return backend


def _terminate(self: Instance) -> InstanceState:
    state = self._state  # settles first: a pending instance may be running by now
    previous = copy.copy(state)
    if state.name in ("terminated", "shutting-down"):
        return previous  # AWS: terminating again is a no-op (moto would delete the interfaces twice)
    delay = profile.active().instance_terminate
    if delay <= 0:
        self.__dict__.pop(_DUE, None)
        _finish_termination(self)
        return previous
    state.name, state.code = "shutting-down", 32
    self._reason = f"User initiated ({utcnow().strftime('%Y-%m-%d %H:%M:%S UTC')})"
    self.state_reason = StateReason(
        "Client.UserInitiatedShutdown: User initiated shutdown", "Client.UserInitiatedShutdown"
    )
    self.__dict__[_DUE] = (clock.now() + delay, "terminated")
    return previous


def _run_instances(self: EC2Backend, *args: Any, **kwargs: Any) -> Any:
    _check_instance_profile(self, kwargs.get("iam_instance_profile_name"), kwargs.get("iam_instance_profile_arn"))
    reservation = _orig(EC2Backend, "run_instances")(self, *args, **kwargs)
    specs = {int(spec.get("DeviceIndex", 0)): spec for spec in kwargs.get("nics") or []}
    delay = profile.active().instance_start
    for instance in reservation.instances:
        for index, nic in instance.nics.items():
            spec = specs.get(index, {})
            if "NetworkInterfaceId" not in spec and "DeleteOnTermination" not in spec:
                nic.delete_on_termination = True  # AWS default for interfaces made by RunInstances
        if delay > 0:
            instance.__dict__["_state"].name, instance.__dict__["_state"].code = "pending", 0
            instance.__dict__[_DUE] = (clock.now() + delay, "running")
    return reservation


# -- IAM instance profile propagation (rule 7) --------------------------------------------------


def _stamp_profile(instance_profile: Any) -> None:
    setattr(instance_profile, _IAM_STAMP, clock.now())


def _create_instance_profile(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
    instance_profile = _orig(IAMBackend, "create_instance_profile")(self, *args, **kwargs)
    _stamp_profile(instance_profile)
    return instance_profile


def _add_role_to_instance_profile(self: IAMBackend, profile_name: str, role_name: str) -> None:
    _orig(IAMBackend, "add_role_to_instance_profile")(self, profile_name, role_name)
    _stamp_profile(self.get_instance_profile(profile_name))


def _check_instance_profile(backend: EC2Backend, name: str | None, arn: str | None) -> None:
    if not name and not arn:
        return
    iam = iam_backends[backend.account_id][backend.partition]
    found = [p for p in iam.get_instance_profiles() if (arn and p.arn == arn) or (not arn and p.name == name)]
    changed_at = getattr(found[0], _IAM_STAMP, None) if found else None
    if changed_at is None or clock.now() - changed_at >= profile.active().instance_profile_propagation:
        return  # unknown profiles are moto's to reject (it raises NoSuchEntity before we are called)
    if arn:
        message = f"Value ({arn}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"
    else:
        message = f"Value ({name}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
    raise EC2ClientError("InvalidParameterValue", message)


# -- dependency checks (rules 1-6) --------------------------------------------------------------


def _delete_vpc(self: EC2Backend, vpc_id: str) -> Any:
    _settle(self)
    self.get_vpc(vpc_id)  # InvalidVpcID.NotFound first, as AWS
    blocked = (
        any(igw.vpc is not None and igw.vpc.id == vpc_id for igw in self.internet_gateways.values())
        or any(subnet.vpc_id == vpc_id for subnet in self.describe_subnets())
        or any(not group.is_default for group in self.groups.get(vpc_id, {}).values())
        or any(rt.vpc_id == vpc_id and rt.main_association_id is None for rt in self.route_tables.values())
    )
    if blocked:
        raise DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    with _internal():
        return _orig(EC2Backend, "delete_vpc")(self, vpc_id)


def _delete_subnet(self: EC2Backend, subnet_id: str) -> Any:
    _settle(self)
    if any(eni.subnet.id == subnet_id for eni in self.enis.values()):
        raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    return _orig(EC2Backend, "delete_subnet")(self, subnet_id)


def _delete_security_group(self: EC2Backend, name: str | None = None, group_id: str | None = None) -> None:
    group = self.get_security_group_from_id(group_id) if group_id else None
    if group is None and name and not group_id:
        group = self.get_security_group_by_name_or_id(name)
    if group is not None and not getattr(_local, "internal", False):
        if group.is_default:
            raise EC2ClientError(
                "CannotDelete", f'the specified group: "{group.id}" name: "{group.name}" cannot be deleted by a user'
            )
        _settle(self)
        in_use = any(group.id in {g.id for g in eni.group_set} for eni in self.enis.values())
        referenced = any(
            rule.source_group.get("GroupId") == group.id
            for groups in self.groups.values()
            for other in groups.values()
            if other.id != group.id
            for rule in [*other.ingress_rules, *other.egress_rules]
        )
        if in_use or referenced:
            raise DependencyViolationError(f"resource {group.id} has a dependent object")
    return _orig(EC2Backend, "delete_security_group")(self, name=name, group_id=group_id)


def _detach_internet_gateway(self: EC2Backend, internet_gateway_id: str, vpc_id: str) -> None:
    igw = self.get_internet_gateway(internet_gateway_id)
    if igw.vpc is not None and igw.vpc.id == vpc_id:
        _settle(self)
        if any(eni.public_ip and eni.subnet.vpc_id == vpc_id for eni in self.enis.values()):
            raise DependencyViolationError(
                f"Network {vpc_id} has some mapped public address(es). "
                "Please unmap those public address(es) before detaching the gateway."
            )
    return _orig(EC2Backend, "detach_internet_gateway")(self, internet_gateway_id, vpc_id)


def _delete_route_table(self: EC2Backend, route_table_id: str) -> None:
    route_table = self.get_route_table(route_table_id)
    if route_table.main_association_id is not None and not getattr(_local, "internal", False):
        raise DependencyViolationError(f"The routeTable '{route_table_id}' has dependencies and cannot be deleted.")
    return _orig(EC2Backend, "delete_route_table")(self, route_table_id)


# -- install / uninstall ------------------------------------------------------------------------


def _backend_of_response(response: EC2BaseResponse) -> Any:
    return _settle(_orig(EC2BaseResponse, "ec2_backend").fget(response))


_patches = PatchSet(
    [
        (Instance, "_state", property(_get_state, _set_state)),
        (Instance, "terminate", _terminate),
        (EC2Backend, "run_instances", _run_instances),
        (EC2Backend, "delete_vpc", _delete_vpc),
        (EC2Backend, "delete_subnet", _delete_subnet),
        (EC2Backend, "delete_security_group", _delete_security_group),
        (EC2Backend, "detach_internet_gateway", _detach_internet_gateway),
        (EC2Backend, "delete_route_table", _delete_route_table),
        (EC2BaseResponse, "ec2_backend", property(_backend_of_response)),
        (IAMBackend, "create_instance_profile", _create_instance_profile),
        (IAMBackend, "add_role_to_instance_profile", _add_role_to_instance_profile),
    ],
)
_orig = _patches.original


def installed() -> bool:
    return _patches.installed


def install() -> None:
    """Patch moto to enforce the rules above. Idempotent."""
    _patches.install()


def uninstall() -> None:
    """Restore every patched moto attribute. Idempotent.

    Instances caught mid-transition keep the state they show (``pending`` / ``shutting-down``).
    """
    _patches.uninstall()
