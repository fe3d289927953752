"""Run each template function under its own execution role, with IAM enforced on the emulator.

AWS service: AWS Identity and Access Management: the authorization of every call a handler makes,
  under its function's role.
Sources: IAM User Guide, "Policy evaluation logic" and "IAM JSON policy elements: Condition
  operators"; the Service Authorization Reference (via iam_reference.py) for resources and
  condition keys; each service's API Reference for the denial it answers (aws_errors.py).

On AWS every Lambda runs with its execution role: the inline ``Policies`` of its
``AWS::Serverless::Function`` in ``template.yaml``. :class:`IamEnforcement` does
the same on the emulator:

- for each function, an IAM role is made in moto holding exactly that function's
  policy statements (``!Sub`` resolved as CloudFormation would for stack
  ``msk-pair`` in ``us-east-1``), and assumed through STS: its temporary
  credentials are the function's;
- while a handler runs (``LambdaRuntime.invoke``, in the invoking thread) every
  boto3 request that thread signs is signed with those credentials;
- moto's request authorization hook (``ActionAuthenticatorMixin``) is replaced:
  a request signed by a function's key has its signature checked and its role
  resolved by moto (``moto.iam.access_control.IAMRequest``), then the policy
  decision is made here, by :func:`evaluate`. Any other key (the emulator, the
  state machine, the test) is the account root and is not checked.

Why not moto's own evaluator (``IAMPolicyStatement``)? moto 5.2 checks the
action but not the resource (for EC2, KMS, MSK, SSM, Secrets Manager and Step
Functions it always passes ``Resource: "*"``, so every statement scoped to an ARN
is never matched), and it evaluates no condition key of an identity policy (a
statement with any ``Condition`` is a *Deny*). Used as-is it would reject every
least-privilege policy. :func:`evaluate` implements AWS's rules for what the
handlers call:

- **actions**: ``Action``/``NotAction`` with wildcards; an explicit Deny wins;
- **resources**: the ARNs an action is authorized against, computed from the
  request (:func:`request_resources`); a multi-resource action (``RunInstances``:
  instance, volume, network interface, subnet, security groups, image) needs every
  one allowed, as on AWS. A resource still to be created is named ``.../new``.
  Actions with no resource-level permissions are authorized against ``*``. A
  resource the request names but moto does not have (``DescribeKey`` of an alias
  not made yet) is left to fail on its own: only the action is checked;
- **conditions**: ``String*``, ``Arn*`` and ``Null`` operators (``...IfExists``
  too) on ``aws:RequestTag/*`` (the tags in the request), ``aws:ResourceTag/*``
  and ``ssm:resourceTag/*`` (the tags moto holds for an existing resource; the
  request's tags for one being created), ``aws:TagKeys``, ``iam:PassedToService``,
  ``iam:AWSServiceName``, ``iam:PolicyARN``, ``kms:ViaService`` and
  ``ec2:CreateAction``. A condition on any other key is *not evaluated*: the
  statement is taken to apply and the key is recorded in ``unevaluated``.
- **implicit permissions**: ``RunInstances`` with an instance profile also needs
  ``iam:PassRole`` on the profile's role (context ``iam:PassedToService =
  ec2.amazonaws.com``), and a create with ``TagSpecifications`` also needs
  ``ec2:CreateTags`` (context ``ec2:CreateAction``), as on AWS.

What it cannot see: calls AWS services make on a function's behalf (MSK reading
the secret and the KMS key, Secrets Manager using the key: ``kms:ViaService``),
because moto makes none; those statements are checked only statically.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from msk_pair.emulator import aws_errors
from msk_pair.emulator import iam_reference as reference
from msk_pair.emulator.cfn import (  # noqa: F401 - re-exported for the tests
    ACCOUNT_ID,
    PARTITION,
    STACK_NAME,
    STACK_REGION,
    function_policies,
    managed_policies,
    resolve,
)


def statements(docs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for doc in docs:
        stmts = doc["Statement"]
        yield from stmts if isinstance(stmts, list) else [stmts]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# -- the request: what it acts on ------------------------------------------------------------
@dataclass
class Request:
    """One AWS API call as IAM sees it."""

    service: str  # IAM service prefix: ec2, kafka, kms...
    operation: str  # API operation name: CreateSubnet
    region: str
    params: dict[str, Any]
    context: dict[str, list[str]] = field(default_factory=dict)  # request-wide condition keys

    @property
    def action(self) -> str:
        return f"{self.service}:{self.operation}"


def _arn(service: str, region: str, resource: str, account: str = ACCOUNT_ID) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


# EC2 id prefix -> ARN resource type (for CreateTags and friends).
EC2_ID_TYPES = {
    "vpc-": "vpc",
    "subnet-": "subnet",
    "sg-": "security-group",
    "igw-": "internet-gateway",
    "rtb-": "route-table",
    "pcx-": "vpc-peering-connection",
    "i-": "instance",
    "vol-": "volume",
    "eni-": "network-interface",
    "ami-": "image",
}

# EC2 actions authorized against one existing resource named by a parameter (several for lists).
EC2_BY_PARAM: dict[str, list[tuple[str, str]]] = {
    "DeleteVpc": [("VpcId", "vpc")],
    "ModifyVpcAttribute": [("VpcId", "vpc")],
    "DescribeVpcAttribute": [("VpcId", "vpc")],
    "DeleteSubnet": [("SubnetId", "subnet")],
    "DeleteInternetGateway": [("InternetGatewayId", "internet-gateway")],
    "AttachInternetGateway": [("InternetGatewayId", "internet-gateway"), ("VpcId", "vpc")],
    "DetachInternetGateway": [("InternetGatewayId", "internet-gateway"), ("VpcId", "vpc")],
    "DeleteRouteTable": [("RouteTableId", "route-table")],
    "CreateRoute": [("RouteTableId", "route-table")],
    "ReplaceRoute": [("RouteTableId", "route-table")],
    "DeleteRoute": [("RouteTableId", "route-table")],
    "AssociateRouteTable": [("RouteTableId", "route-table"), ("SubnetId", "subnet")],
    "DeleteSecurityGroup": [("GroupId", "security-group")],
    "AuthorizeSecurityGroupIngress": [("GroupId", "security-group")],
    "RevokeSecurityGroupIngress": [("GroupId", "security-group")],
    "TerminateInstances": [("InstanceIds", "instance")],
    "AcceptVpcPeeringConnection": [("VpcPeeringConnectionId", "vpc-peering-connection")],
    "DeleteVpcPeeringConnection": [("VpcPeeringConnectionId", "vpc-peering-connection")],
    "CreateTags": [("Resources", "")],
}
# EC2 creates: the new resource(s), and the existing ones named by parameters.
EC2_CREATES: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "CreateVpc": (["vpc"], []),
    "CreateInternetGateway": (["internet-gateway"], []),
    "CreateSubnet": (["subnet"], [("VpcId", "vpc")]),
    "CreateRouteTable": (["route-table"], [("VpcId", "vpc")]),
    "CreateSecurityGroup": (["security-group"], [("VpcId", "vpc")]),
    "CreateVpcPeeringConnection": (["vpc-peering-connection"], [("VpcId", "vpc")]),
    "RunInstances": (
        ["instance", "volume", "network-interface"],
        [("SubnetId", "subnet"), ("SecurityGroupIds", "security-group"), ("ImageId", "image")],
    ),
}


@dataclass
class Resource:
    arn: str
    new: bool = False  # still to be created by this request
    unresolved: bool = False  # named by the request but not found (the call fails on its own): action checked only


def request_resources(req: Request) -> list[Resource]:
    """The resources AWS authorizes ``req`` against; ``[*]`` if the action has no resource-level permissions."""
    p, region, op = req.params, req.region, req.operation
    if isinstance(req, ImpliedCreateTags):
        return [Resource(_arn("ec2", region, f"{p['_kind']}/new"), new=True)]

    def ec2(kind: str, ident: str) -> Resource:
        if not kind:
            kind = next((t for prefix, t in EC2_ID_TYPES.items() if ident.startswith(prefix)), "unknown")
        if kind == "image":  # AMIs are owned by their publisher: no account in the ARN
            return Resource(_arn("ec2", region, f"image/{ident}", account=""))
        return Resource(_arn("ec2", region, f"{kind}/{ident}"))

    if req.service == "ec2":
        found: list[Resource] = []
        if op in EC2_CREATES:
            new, existing = EC2_CREATES[op]
            found += [Resource(_arn("ec2", region, f"{kind}/new"), new=True) for kind in new]
        else:
            existing = EC2_BY_PARAM.get(op, [])
        if op == "DisassociateRouteTable":  # authorized on the route table the association belongs to
            table = _route_table_of(region, p.get("AssociationId", ""))
            found.append(
                ec2("route-table", table) if table else Resource(_arn("ec2", region, "route-table/?"), unresolved=True)
            )
        for name, kind in existing:
            for ident in as_list(p.get(name) or []):
                found.append(ec2(kind, ident))
        if op == "RunInstances":  # the subnet and groups may come inside NetworkInterfaces
            for nic in p.get("NetworkInterfaces") or []:
                found += [ec2("subnet", nic["SubnetId"])] if nic.get("SubnetId") else []
                found += [ec2("security-group", g) for g in nic.get("Groups") or []]
        if op == "CreateVpcPeeringConnection" and p.get("PeerVpcId"):
            peer_region = p.get("PeerRegion") or region
            found.append(Resource(_arn("ec2", peer_region, f"vpc/{p['PeerVpcId']}")))
        if op == "AcceptVpcPeeringConnection":
            # Service Authorization Reference: AcceptVpcPeeringConnection needs vpc* (the accepter VPC)
            # as well as vpc-peering-connection*.
            vpc = _accepter_vpc_of(region, p.get("VpcPeeringConnectionId", ""))
            found.append(ec2("vpc", vpc) if vpc else Resource(_arn("ec2", region, "vpc/?"), unresolved=True))
        return found or [Resource("*")]
    if req.service == "kafka":
        if op == "CreateClusterV2" or (op == "TagResource" and p.get("ClusterName")):  # tag-on-create
            return [Resource(_arn("kafka", region, f"cluster/{p.get('ClusterName')}/new"), new=True)]
        arn = p.get("ClusterArn") or p.get("ResourceArn")
        return [Resource(arn)] if arn else [Resource("*")]
    if req.service == "secretsmanager":
        name = p.get("SecretId") or p.get("Name")  # Name: CreateSecret and its tag-on-create
        if not name:
            return [Resource("*")]
        if name.startswith("arn:"):
            return [Resource(name)]
        return [Resource(_arn("secretsmanager", region, f"secret:{name}-AbCdEf"), new="SecretId" not in p)]
    if req.service == "kms":
        if p.get("_new_key"):  # kms:TagResource checked for CreateKey's Tags: on the key being made
            return [Resource(_arn("kms", region, "key/new"), new=True)]
        found = []
        if p.get("AliasName"):
            found.append(Resource(_arn("kms", region, p["AliasName"])))
        key = p.get("TargetKeyId") or p.get("KeyId")
        if op == "DeleteAlias":  # authorized on the alias and on the key it names
            key = p.get("AliasName")
        if key:
            arn = _kms_key_arn(region, key)
            found.append(Resource(arn or _arn("kms", region, f"key/{key}"), unresolved=arn is None))
        return found or [Resource("*")]
    if req.service == "iam":
        found = []
        # Each named resource of a type the reference lists for the action (AddRoleToInstanceProfile names a
        # role but is authorized on the profile; the role is its dependent iam:PassRole).
        kinds = {rt.name for rt in reference.action_spec(req.action).resource_types}
        if p.get("InstanceProfileName") and "instance-profile" in kinds:
            found.append(Resource(f"arn:{PARTITION}:iam::{ACCOUNT_ID}:instance-profile/{p['InstanceProfileName']}"))
        if p.get("RoleName") and "role" in kinds:
            found.append(Resource(f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{p['RoleName']}"))
        if op == "PassRole":
            found = [Resource(p["RoleArn"])]
        if op == "CreateServiceLinkedRole":
            service = p.get("AWSServiceName", "")
            found = [Resource(f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/aws-service-role/{service}/new", new=True)]
        return found or [Resource("*")]
    if req.service == "ssm":
        if op == "GetParameter":
            name = p["Name"]
            account = "" if name.startswith("/aws/service/") else ACCOUNT_ID  # public parameters: AWS-owned
            return [
                Resource(
                    _arn("ssm", region, f"parameter{name}" if name.startswith("/") else f"parameter/{name}", account)
                )
            ]
        if op == "SendCommand":
            doc = p["DocumentName"]
            account = "" if doc.startswith("AWS-") else ACCOUNT_ID
            found = [Resource(_arn("ssm", region, f"document/{doc}", account))]
            found += [ec2("instance", i) for i in p.get("InstanceIds", [])]
            return found
        return [Resource("*")]
    if req.service == "states":
        arn = p.get("executionArn") or p.get("stateMachineArn")
        return [Resource(arn)] if arn else [Resource("*")]
    return [Resource("*")]


def _route_table_of(region: str, association_id: str) -> str | None:
    from moto.ec2.models import ec2_backends

    for table in ec2_backends[ACCOUNT_ID][region].route_tables.values():
        if association_id in table._associations:
            return table.id
    return None


def _accepter_vpc_of(region: str, peering_id: str) -> str | None:
    from moto.ec2.models import ec2_backends

    pcx = ec2_backends[ACCOUNT_ID][region].vpc_pcxs.get(peering_id)
    return pcx.peer_vpc.id if pcx is not None and pcx.peer_vpc is not None else None


def _kms_key_arn(region: str, key: str) -> str | None:
    if key.startswith("arn:") and ":key/" in key:
        return key
    if key.startswith("alias/") or ":alias/" in key:  # authorized against the key the alias names
        from moto.kms.models import kms_backends

        try:
            return kms_backends[ACCOUNT_ID][region].describe_key(key).arn
        except Exception:
            return None
    return _arn("kms", region, f"key/{key}")


# -- tags: aws:RequestTag and aws:ResourceTag -------------------------------------------------
def request_tags(req: Request, resource: Resource | None = None) -> dict[str, str]:
    p = req.params
    tags: dict[str, str] = {}
    kind = resource.arn.split(":")[-1].split("/")[0] if resource else None
    for spec in p.get("TagSpecifications", []) or []:
        if kind is None or spec.get("ResourceType") == kind:
            tags.update({t["Key"]: t["Value"] for t in spec.get("Tags", [])})
    raw = p.get("Tags")
    if isinstance(raw, dict):  # kafka
        tags.update(raw)
    elif isinstance(raw, list):  # iam, secretsmanager ({Key, Value}); kms ({TagKey, TagValue}); ec2 CreateTags
        for t in raw:
            key = t.get("Key", t.get("TagKey"))
            tags[key] = t.get("Value", t.get("TagValue", ""))
    return tags


def resource_tags(resource: Resource, req: Request) -> dict[str, str] | None:
    """Tags moto holds for an existing resource (``None``: not found, not taggable, or still to be made).

    A resource the request creates has no ``aws:ResourceTag`` yet: only ``aws:RequestTag`` describes it
    (IAM User Guide, "Controlling access to AWS resources using tags": aws:ResourceTag compares "the tag
    key-value pair ... attached to the resource"; EC2 User Guide: for a create, use aws:RequestTag).
    """
    if resource.new:
        return None
    arn = resource.arn
    if arn == "*":
        return None
    parts = arn.split(":", 5)
    service, region = parts[2], parts[3]
    try:
        if service == "ec2":
            from moto.ec2.models import ec2_backends

            ident = parts[5].split("/", 1)[1]
            return dict(ec2_backends[ACCOUNT_ID][region].tags.get(ident, {}))
        if service == "kafka":
            from moto.kafka.models import kafka_backends

            return dict(kafka_backends[ACCOUNT_ID][region].list_tags_for_resource(arn))
        if service == "kms" and ":key/" in arn:
            from moto.kms.models import kms_backends

            listed = kms_backends[ACCOUNT_ID][region].list_resource_tags(arn.rsplit("/", 1)[1])
            return {t["TagKey"]: t["TagValue"] for t in listed["Tags"]}
        if service == "secretsmanager":
            from moto.secretsmanager.models import secretsmanager_backends

            secret = secretsmanager_backends[ACCOUNT_ID][region].secrets[arn]
            return {t["Key"]: t["Value"] for t in secret.tags or []}
        if service == "iam":
            from moto.iam.models import iam_backends

            backend = iam_backends[ACCOUNT_ID][PARTITION]
            kind, name = parts[5].split("/", 1)
            found = backend.get_role(name.rsplit("/", 1)[-1]) if kind == "role" else backend.get_instance_profile(name)
            return {t["Key"]: t["Value"] for t in found.tags or []}
    except Exception:
        return None
    return None


# -- the policy decision ------------------------------------------------------------------------
def _glob(pattern: str, value: str, case: bool = True) -> bool:
    regex = "^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$"
    return re.match(regex, value, 0 if case else re.IGNORECASE) is not None


EVALUATED_KEY_PREFIXES = ("aws:RequestTag/", "aws:ResourceTag/", "ssm:resourceTag/")
EVALUATED_KEYS = {
    "aws:TagKeys",
    "iam:PassedToService",
    "iam:AWSServiceName",
    "iam:PolicyARN",
    "iam:PermissionsBoundary",
    "kms:ViaService",
    "ec2:CreateAction",
}


def context_value(key: str, req: Request, resource: Resource) -> list[str] | None:
    """The values of a condition key for this request and resource; ``None``: absent."""
    lower = key.lower()
    if lower.startswith("aws:requesttag/"):
        tags = request_tags(req, resource if req.service == "ec2" else None)
        name = key.split("/", 1)[1]
        return [tags[name]] if name in tags else None
    if lower.startswith(("aws:resourcetag/", "ssm:resourcetag/")):
        tags = resource_tags(resource, req)
        name = key.split("/", 1)[1]
        return [tags[name]] if tags and name in tags else None
    if lower == "aws:tagkeys":
        tags = request_tags(req)
        return list(tags) or None
    for known in EVALUATED_KEYS:
        if lower == known.lower():
            return req.context.get(known)
    return None


_STRING_OPS = {
    "StringEquals": lambda p, v: p == v,
    "StringNotEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v),
    "StringNotLike": lambda p, v: _glob(p, v),
    "ArnEquals": lambda p, v: _glob(p, v),
    "ArnLike": lambda p, v: _glob(p, v),
    "ArnNotEquals": lambda p, v: _glob(p, v),
    "ArnNotLike": lambda p, v: _glob(p, v),
}


def _evaluated(key: str) -> bool:
    lower = key.lower()
    return lower.startswith(tuple(k.lower() for k in EVALUATED_KEY_PREFIXES)) or lower in {
        k.lower() for k in EVALUATED_KEYS
    }


def conditions_hold(
    statement: dict[str, Any],
    req: Request,
    resource: Resource,
    unevaluated: set[str],
    resource_type: str | None = None,
) -> bool:
    """Whether every condition of the statement holds for this request and resource.

    A key the Service Authorization Reference does not list for the action (or the resource type) is
    absent from the request context, as on AWS: a condition on it holds only for ``...IfExists``,
    negated operators and ``Null: true``. A listed key the emulator cannot compute is recorded in
    ``unevaluated`` and taken to hold (tests assert none is left).
    """
    spec = reference.action_spec(req.action)
    for operator, block in (statement.get("Condition") or {}).items():
        base = operator.removesuffix("IfExists")
        if_exists = operator.endswith("IfExists")
        qualifier = None
        if ":" in base:  # ForAnyValue:/ForAllValues:
            qualifier, base = base.split(":", 1)
        for key, expected in block.items():
            supported = reference.supports_condition_key(spec, resource_type, key)
            if supported and not _evaluated(key):
                unevaluated.add(f"{req.action}: {operator} {key}")
                continue
            actual = context_value(key, req, resource) if supported else None
            if base == "Null":
                if (actual is None) != (str(as_list(expected)[0]).lower() == "true"):
                    return False
                continue
            if base not in _STRING_OPS:
                unevaluated.add(f"{req.action}: {operator} {key}")
                continue
            if actual is None:
                if if_exists or base.startswith(("StringNot", "ArnNot")):
                    continue
                return False
            match = _STRING_OPS[base]
            hits = [any(match(str(e), a) for e in as_list(expected)) for a in actual]
            negated = "Not" in base
            if qualifier == "ForAllValues":
                ok = all(not h for h in hits) if negated else all(hits)
            else:
                ok = not any(hits) if negated else any(hits)
            if not ok:
                return False
    return True


def _matches(statement: dict[str, Any], element: str, value: str, case: bool) -> bool:
    if element in statement:
        return any(_glob(p, value, case) for p in as_list(statement[element]))
    negated = "Not" + element
    if negated in statement:
        return not any(_glob(p, value, case) for p in as_list(statement[negated]))
    return False


@dataclass
class Decision:
    allowed: bool
    denied_resource: str | None = None


class EmulatorGap(AssertionError):
    """The emulator cannot authorize a call the way AWS would (a resource or a rule it does not model).

    Raised instead of guessing: a gap must fail a test, never let a call through that AWS would refuse.
    """


def typed_resources(req: Request) -> list[tuple[str | None, Resource]]:
    """The resources AWS authorizes ``req`` against, each with its reference resource type.

    An action without resource types is authorized against ``*`` only. Otherwise every resource
    must be one of the action's types, and every type the reference marks required must be there
    (or one of a documented set of alternatives): else the emulator has a gap (:class:`EmulatorGap`).
    """
    spec = reference.action_spec(req.action)
    if not spec.has_resource_types:
        return [(None, Resource("*"))]
    typed: list[tuple[str | None, Resource]] = []
    for resource in request_resources(req):
        kind = reference.classify(spec, resource.arn) if resource.arn != "*" else None
        if kind is None and not resource.unresolved:
            raise EmulatorGap(
                f"{req.action}: cannot tell which of its resource types "
                f"({', '.join(rt.name for rt in spec.resource_types)}) {resource.arn} is"
            )
        typed.append((kind, resource))
    present = {kind for kind, res in typed if kind} | (
        set(spec.required_types) if any(res.unresolved for _, res in typed) else set()
    )
    required = set(spec.required_types)
    alternatives = reference.ALTERNATIVE_RESOURCE_TYPES.get(spec.action)
    if alternatives and alternatives[0] & present:
        required -= alternatives[0]
    missing = required - present
    if missing:
        raise EmulatorGap(f"{req.action}: the request's {', '.join(sorted(missing))} resource is not modelled")
    return typed


def evaluate(docs: list[dict[str, Any]], req: Request, unevaluated: set[str] | None = None) -> Decision:
    """AWS's identity-policy logic for one request: every resource must be allowed, and none denied."""
    unevaluated = set() if unevaluated is None else unevaluated
    for kind, resource in typed_resources(req):
        allowed = False
        for st in statements(docs):
            if not _matches(st, "Action", req.action, case=False):
                continue
            if not resource.unresolved:  # an unresolved resource: the action alone decides
                if not _matches(st, "Resource", resource.arn, case=True):
                    continue
                if not conditions_hold(st, req, resource, unevaluated, kind):
                    continue
            if st["Effect"] == "Deny":
                return Decision(False, resource.arn)
            allowed = True
        if not allowed:
            return Decision(False, resource.arn)
    return Decision(True)


# Creates whose ``Tags`` also need the service's tagging permission (outside the reference's dependent
# actions; each documented by the service):
TAG_ON_CREATE = {
    # Secrets Manager API reference, CreateSecret: "To add tags ..., you must also have
    # secretsmanager:TagResource".
    "secretsmanager:CreateSecret": "TagResource",
    # IAM User Guide, "Permissions required to tag IAM resources": CreateRole/CreateInstanceProfile with
    # Tags need iam:TagRole / iam:TagInstanceProfile.
    "iam:CreateRole": "TagRole",
    "iam:CreateInstanceProfile": "TagInstanceProfile",
    # MSK developer guide, "Tag-based access control": CreateClusterV2 with Tags is also authorized as
    # kafka:TagResource (conservative reading; the reference lists aws:RequestTag on both).
    "kafka:CreateClusterV2": "TagResource",
}

KAFKA_SERVICE_LINKED_ROLE = "aws-service-role/kafka.amazonaws.com/AWSServiceRoleForKafka"


class ImpliedCreateTags(Request):
    """``ec2:CreateTags`` implied by ``TagSpecifications``: authorized on the new resource."""


def _dependent_requests(req: Request, dependent: str) -> list[Request]:
    """The requests IAM evaluates for ``dependent``, a dependent action of ``req`` that applies."""
    service, operation = dependent.split(":", 1)
    p = req.params

    def one(params: dict[str, Any], context: dict[str, list[str]] | None = None, region: str = req.region) -> Request:
        return Request(service=service, operation=operation, region=region, params=params, context=context or {})

    if dependent == "ec2:CreateTags":
        extra: list[Request] = []
        for res in request_resources(req):
            kind = res.arn.rsplit(":", 1)[-1].split("/")[0]
            tagged = [s for s in p.get("TagSpecifications") or [] if s.get("ResourceType") == kind]
            if res.new and tagged:
                extra.append(
                    ImpliedCreateTags(
                        service="ec2",
                        operation="CreateTags",
                        region=req.region,
                        params={"TagSpecifications": tagged, "_kind": kind},
                        context={"ec2:CreateAction": [req.operation]},
                    )
                )
        return extra
    if dependent == "iam:PassRole" and req.action == "ec2:RunInstances":
        role = _profile_role_arn(p["IamInstanceProfile"])
        # IAM User Guide, "Grant a user permissions to pass a role": iam:PassedToService is the service the
        # role is passed to, ec2.amazonaws.com for an instance profile.
        return [one({"RoleArn": role}, {"iam:PassedToService": ["ec2.amazonaws.com"]})] if role else []
    if dependent == "iam:PassRole" and req.action == "iam:AddRoleToInstanceProfile":
        # No iam:PassedToService here: the role is not passed to a service yet, so a policy that requires
        # one would not match on AWS either.
        return [one({"RoleArn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{p['RoleName']}"})]
    if req.action in ("kafka:CreateClusterV2", "kafka:DeleteCluster") and service == "ec2":
        if dependent != "ec2:DescribeVpcAttribute":
            return [one({})]  # no resource types: authorized against "*"
        vpc = _cluster_vpc(req)  # vpc*: the cluster's VPC
        return [one({"VpcId": vpc})] if vpc else []
    if req.action == "kafka:CreateClusterV2" and dependent == "iam:CreateServiceLinkedRole":
        return [one({"AWSServiceName": "kafka.amazonaws.com"}, {"iam:AWSServiceName": ["kafka.amazonaws.com"]})]
    if req.action == "kafka:CreateClusterV2" and dependent in ("iam:AttachRolePolicy", "iam:PutRolePolicy"):
        return [one({"RoleName": KAFKA_SERVICE_LINKED_ROLE})]
    if req.action in ("kafka:BatchAssociateScramSecret", "kafka:BatchDisassociateScramSecret"):
        return [one({"KeyId": key}) for key in _secret_keys(req.region, p.get("SecretArnList") or [])]
    if dependent == "kms:TagResource" and req.action == "kms:CreateKey":
        return [one({**p, "_new_key": True}, req.context)]
    raise EmulatorGap(f"{req.action}: no model of its dependent action {dependent}")


def _cluster_vpc(req: Request) -> str | None:
    """The VPC of the cluster a kafka request creates (its client subnets) or names (ClusterArn)."""
    from moto.ec2.models import ec2_backends
    from moto.kafka.models import kafka_backends

    subnets = req.params.get("Provisioned", {}).get("BrokerNodeGroupInfo", {}).get("ClientSubnets") or []
    if not subnets and req.params.get("ClusterArn"):
        cluster = kafka_backends[ACCOUNT_ID][req.region].clusters.get(req.params["ClusterArn"])
        subnets = ((getattr(cluster, "broker_node_group_info", None) or {}).get("clientSubnets")) or []
    ec2 = ec2_backends[ACCOUNT_ID][req.region]
    for subnet_id in subnets:
        found = [s for s in ec2.describe_subnets() if s.id == subnet_id]
        if found:
            return found[0].vpc_id
    return None


def _secret_keys(region: str, secret_arns: list[str]) -> list[str]:
    """The KMS key ARNs of these secrets (what MSK makes a grant on to read them)."""
    from moto.secretsmanager.models import secretsmanager_backends

    keys = []
    for arn in secret_arns:
        secret = secretsmanager_backends[ACCOUNT_ID][region].secrets.get(arn)
        key = getattr(secret, "kms_key_id", None)
        if key:
            keys.append(_kms_key_arn(region, key) or key)
    return keys


def implied_requests(req: Request) -> list[Request]:
    """Permissions AWS checks on top of the action itself: its dependent actions (Service Authorization
    Reference, interpreted in :mod:`msk_pair.emulator.iam_reference`) and tag-on-create."""
    extra: list[Request] = []
    spec = reference.action_spec(req.action)
    for dependent in spec.dependent_actions:
        rule = reference.dependent_rule(spec.action, dependent)
        if rule is None:
            raise EmulatorGap(
                f"{spec.action}: the reference lists the dependent action {dependent}, and the emulator has no "
                "decision for it (add it to iam_reference.DEPENDENT_ACTIONS with its AWS source)"
            )
        if isinstance(rule(req.params), reference.NotApplicable):
            continue
        extra.extend(_dependent_requests(req, dependent))
    tag_on_create = TAG_ON_CREATE.get(req.action)
    if tag_on_create and req.params.get("Tags"):
        extra.append(
            Request(
                service=req.service,
                operation=tag_on_create,
                region=req.region,
                params=req.params,
                context=req.context,
            )
        )
    return extra


def _profile_role_arn(profile: dict[str, str]) -> str | None:
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT_ID][PARTITION]
    try:
        if profile.get("Arn"):
            found = backend.get_instance_profile_by_arn(profile["Arn"])
        else:
            found = backend.get_instance_profile(profile["Name"])
    except Exception:
        return None
    return found.roles[0].arn if found.roles else None


def _role_boundary(role_name: str | None) -> list[str] | None:
    if not role_name:
        return None
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[ACCOUNT_ID][PARTITION].get_role(role_name)
    except Exception:
        return None
    boundary = (getattr(role, "permissions_boundary", None) or {}).get("PermissionsBoundaryArn")
    return [boundary] if boundary else None


def request_context(service: str, operation: str, params: dict[str, Any]) -> dict[str, list[str]]:
    """Request-wide condition keys that come from the parameters (or, for iam:PermissionsBoundary on an
    existing role, from the role: IAM User Guide, "IAM JSON policy elements: Condition": the ARN of the
    boundary of the role being changed)."""
    ctx: dict[str, list[str]] = {}
    if service == "iam" and params.get("AWSServiceName"):
        ctx["iam:AWSServiceName"] = [params["AWSServiceName"]]
    if service == "iam" and params.get("PolicyArn"):
        ctx["iam:PolicyARN"] = [params["PolicyArn"]]
    if service == "iam" and operation == "CreateRole":
        if params.get("PermissionsBoundary"):
            ctx["iam:PermissionsBoundary"] = [params["PermissionsBoundary"]]
    elif service == "iam" and operation == "PutRolePermissionsBoundary":
        ctx["iam:PermissionsBoundary"] = [params["PermissionsBoundary"]]
    elif service == "iam":
        boundary = _role_boundary(params.get("RoleName"))
        if boundary:
            ctx["iam:PermissionsBoundary"] = boundary
    return ctx


# -- wiring: credentials per invocation, the check in moto ---------------------------------------
# IAM service prefixes whose signing name differs.
SIGNING_TO_IAM_PREFIX = {"tagging": "tag", "monitoring": "cloudwatch", "email": "ses"}

_current = threading.local()  # .credentials / .function: the function this thread is running


@dataclass
class Check:
    function: str
    action: str
    resources: list[str]
    allowed: bool
    denied_resource: str | None = None


def _parse_params(response: Any) -> dict[str, Any]:
    """The request's parameters, parsed by the botocore model (as moto does for its own services)."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import determine_request_protocol
    from moto.core.utils import get_service_model

    request = response.normalized_request
    service_model = get_service_model(response.boto3_service_name)
    operation_model = service_model.operation_model(response._get_action())
    protocol = determine_request_protocol(service_model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation_model, map_type=response.PROTOCOL_PARSER_MAP_TYPE)
    parsed = parser.parse(
        {
            "method": request.method,
            "values": request.values,
            "headers": request.headers,
            "body": request.data,
            "url_path": request.path,
            "url_params": getattr(response, "uri_match", None) or {},
        }
    )
    return json.loads(json.dumps(parsed, default=str))


def _form_encoded(response: Any) -> bool:
    return "x-www-form-urlencoded" in (response.headers.get("Content-Type") or "")


class IamEnforcement:
    """Within ``with``: each template function runs under a role holding exactly its policies, enforced.

    ``policies`` overrides a function's documents (a negative test removes an action).
    """

    def __init__(self, runtime: Any, template: dict[str, Any], policies: dict[str, list[dict]] | None = None):
        self.runtime = runtime
        self.policies = function_policies(template)
        self.policies.update(policies or {})
        self.credentials: dict[str, Any] = {}  # logical id -> botocore Credentials
        self._by_key: dict[str, str] = {}  # access key id -> logical id
        self.checks: list[Check] = []
        self.signed: list[tuple[str, str]] = []  # (function, operation) signed with a function's key
        self.unevaluated: set[str] = set()
        self.gaps: list[str] = []  # calls the emulator could not authorize as AWS would (EmulatorGap)
        self._undo: list[Any] = []
        self._lock = threading.Lock()

    # lifecycle
    def __enter__(self) -> IamEnforcement:
        try:
            self._make_roles()
            self._patch_signer()
            self._patch_authorizer()
            self._patch_invoke()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        while self._undo:
            self._undo.pop()()

    def _make_roles(self) -> None:
        import boto3
        from botocore.credentials import Credentials

        iam = boto3.client("iam", region_name=STACK_REGION)
        sts = boto3.client("sts", region_name=STACK_REGION)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        for logical_id in self.runtime.specs:
            name = f"{STACK_NAME}-{logical_id}"[:64]
            try:
                iam.get_role(RoleName=name)
            except iam.exceptions.NoSuchEntityException:
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
            for old in iam.list_role_policies(RoleName=name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=name, PolicyName=old)
            for n, doc in enumerate(self.policies.get(logical_id, [])):
                iam.put_role_policy(RoleName=name, PolicyName=f"{logical_id}{n}", PolicyDocument=json.dumps(doc))
            arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{name}"
            got = sts.assume_role(RoleArn=arn, RoleSessionName=logical_id)["Credentials"]
            self.credentials[logical_id] = Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"])
            self._by_key[got["AccessKeyId"]] = logical_id

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        had = name in vars(owner)
        old = vars(owner).get(name)
        setattr(owner, name, value)
        self._undo.append(lambda: setattr(owner, name, old) if had else delattr(owner, name))

    def _patch_invoke(self) -> None:
        """The execution role: while a handler runs, its thread signs with the function's credentials."""
        runtime, original = self.runtime, self.runtime.invoke

        def invoke(logical_id: str, payload: Any) -> tuple[Any, bool]:
            saved = getattr(_current, "function", None)
            _current.function = logical_id
            try:
                return original(logical_id, payload)
            finally:
                _current.function = saved

        self._patch(runtime, "invoke", invoke)  # an instance attribute: only this emulator's runtime

    def _patch_signer(self) -> None:
        from botocore.signers import RequestSigner

        enforcement, original = self, RequestSigner.sign

        def sign(signer: Any, operation_name: str, request: Any, *args: Any, **kwargs: Any) -> Any:
            function = getattr(_current, "function", None)
            creds = enforcement.credentials.get(function) if function else None
            if creds is not None:
                request.context.setdefault("signing", {})["request_credentials"] = creds
                with enforcement._lock:
                    enforcement.signed.append((function, operation_name))
            return original(signer, operation_name, request, *args, **kwargs)

        self._patch(RequestSigner, "sign", sign)

    def _patch_authorizer(self) -> None:
        from moto.core.authorization import ActionAuthenticatorMixin
        from moto.iam.access_control import IAMRequest

        enforcement = self

        def authorize(response: Any, iam_request_cls: type, resource: str = "*") -> None:
            key = response.get_access_key()
            function = enforcement._by_key.get(key)
            if function is None:  # the account root: the emulator, the state machine, the test
                return
            action = response._get_action()
            iam_request = IAMRequest(
                account_id=response.current_account,
                method=response.method,
                path=response.raw_path + (f"?{response.parsed_url.query}" if response.parsed_url.query else ""),
                # moto hashes ``data`` (the query parameters) when there is no body: a REST GET/DELETE with a
                # query string (kafka:ListClustersV2, DeleteCluster) would never match its signature.
                data=response.data if response.raw_body or _form_encoded(response) else {},
                body=response.raw_body,
                headers=response.headers,
                action=action,
            )
            iam_request.check_signature()  # moto: the key is the function's assumed role, the signature is right
            docs = [json.loads(p) if isinstance(p, str) else p for p in iam_request._access_key.collect_policies()]
            service = SIGNING_TO_IAM_PREFIX.get(iam_request._service, iam_request._service)
            params = _parse_params(response)
            req = Request(service, action, iam_request._region, params, request_context(service, action, params))
            try:
                requests = [req, *implied_requests(req)]
            except EmulatorGap as gap:
                enforcement.gaps.append(str(gap))
                raise
            for one in requests:
                try:
                    decision = evaluate(docs, one, enforcement.unevaluated)
                except EmulatorGap as gap:
                    enforcement.gaps.append(str(gap))
                    raise
                check = Check(
                    function,
                    one.action,
                    [r.arn for _, r in typed_resources(one)],
                    decision.allowed,
                    decision.denied_resource,
                )
                with enforcement._lock:
                    enforcement.checks.append(check)
                if not decision.allowed:
                    user = iam_request._access_key.arn
                    message = (
                        f"User: {user} is not authorized to perform: {one.action} on resource: "
                        f"{decision.denied_resource} because no identity-based policy allows the {one.action} action"
                    )
                    raise _denial(iam_request._service, message)

        self._patch(ActionAuthenticatorMixin, "_authenticate_and_authorize_action", authorize)


def _denial(signing_name: str, message: str) -> Exception:
    """The refusal ``signing_name``'s service sends for a call no policy allows: its own code, status and
    wire form (:mod:`msk_pair.emulator.aws_errors`: EC2 ``UnauthorizedOperation`` 403, IAM ``AccessDenied``
    403, KMS/Secrets Manager/SSM ``AccessDeniedException`` 400, MSK ``AccessDeniedException`` 403, ...)."""
    from werkzeug.exceptions import HTTPException

    error = aws_errors.denial(signing_name)
    text, headers = aws_errors.body(error.service, error.code, message)
    if "x-amzn-ErrorType" in headers:
        # moto's authorization path keeps only the body and status; botocore's rest-json parser reads the
        # error type from the body's "__type" when the header is absent.
        text = json.dumps({"__type": error.code, **json.loads(text)})
    refusal = HTTPException(description=text)
    refusal.code = error.status
    return refusal


@contextmanager
def enforced(emu: Any, policies: dict[str, list[dict]] | None = None) -> Iterator[IamEnforcement]:
    """IAM enforcement for the template's functions on a running :class:`~msk_pair.emulator.engine.Emulator`."""
    with IamEnforcement(emu.runtime, emu.template, policies) as enforcement:
        yield enforcement
