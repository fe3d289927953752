"""CloudFormation, as far as the emulator reads ``template.yaml``: the YAML tags and the intrinsics it needs.

AWS service: AWS CloudFormation and the AWS SAM transform, only as far as reading template.yaml.
Sources: CloudFormation User Guide, "Intrinsic function reference" and "Pseudo parameters
  reference"; AWS::IAM::ManagedPolicy return values (Ref is the ARN); AWS SAM Developer Guide,
  AWS::Serverless::Function Policies (inline documents and managed policy ARNs).

The emulator deploys nothing through CloudFormation; it reads the template for the functions (code,
handler, environment), their policies, the managed policies it must create in moto, and the state
machine's definition substitutions. Values are resolved as CloudFormation would for stack
``msk-pair`` in the emulated account (CloudFormation User Guide, "Intrinsic function reference":
Fn::Sub, Ref, Fn::Join; "Pseudo parameters reference").
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
STACK_REGION = "us-east-1"
STACK_NAME = "msk-pair"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation short-form tags (!Ref, !GetAtt, !Sub...)."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template(root: Path) -> dict[str, Any]:
    return yaml.load((root / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


# -- the template's policies ------------------------------------------------------------
def _pseudo(region: str) -> dict[str, str]:
    return {
        "AWS::Partition": PARTITION,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": region,
        "AWS::StackName": STACK_NAME,
        "AWS::URLSuffix": "amazonaws.com",
    }


def resolve(value: Any, region: str = STACK_REGION, refs: dict[str, str] | None = None) -> Any:
    """Resolve ``Fn::Sub``/``Ref`` of pseudo parameters (and of the resources in ``refs``), as CloudFormation would."""
    names_of = {**_pseudo(region), **(refs or {})}
    if isinstance(value, list):
        return [resolve(v, region, refs) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Fn::Sub"}:
        arg = value["Fn::Sub"]
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], region, refs))
        names = {**names_of, **extra}

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in names:
                raise ValueError(f"cannot resolve ${{{name}}} in a function policy")
            return str(names[name])

        return re.sub(r"\$\{([^}!]+)\}", sub, text)
    if set(value) == {"Ref"}:
        if value["Ref"] not in names_of:
            raise ValueError(f"cannot resolve Ref {value['Ref']} in a function policy")
        return names_of[value["Ref"]]
    if set(value) == {"Fn::Join"}:
        sep, parts = value["Fn::Join"]
        return sep.join(str(p) for p in resolve(parts, region, refs))
    return {k: resolve(v, region, refs) for k, v in value.items()}


def managed_policies(template: dict[str, Any], region: str = STACK_REGION) -> dict[str, tuple[str, dict[str, Any]]]:
    """The template's ``AWS::IAM::ManagedPolicy`` resources: logical id -> (ARN, document), resolved.

    ``Ref`` of a managed policy is its ARN (CloudFormation template reference, AWS::IAM::ManagedPolicy,
    return values); the template names each one (``ManagedPolicyName``) so the ARN is known here.
    """
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for logical_id, res in template["Resources"].items():
        if res.get("Type") != "AWS::IAM::ManagedPolicy":
            continue
        props = res["Properties"]
        name = resolve(props["ManagedPolicyName"], region)
        arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:policy/{name}"
        out[logical_id] = (arn, props["PolicyDocument"])
    refs = {logical_id: arn for logical_id, (arn, _) in out.items()}
    return {logical_id: (arn, resolve(copy.deepcopy(doc), region, refs)) for logical_id, (arn, doc) in out.items()}


def resource_refs(template: dict[str, Any], region: str = STACK_REGION) -> dict[str, str]:
    """``Ref`` values of the template resources the emulator makes besides functions (managed policies)."""
    return {logical_id: arn for logical_id, (arn, _) in managed_policies(template, region).items()}


def function_policies(template: dict[str, Any], region: str = STACK_REGION) -> dict[str, list[dict[str, Any]]]:
    """Each function's policy documents, resolved: its inline ones, and those of the template's managed policies
    it attaches (``- !Ref <ManagedPolicy>``: SAM adds the ARN to the role's ``ManagedPolicyArns``, "AWS SAM
    policy templates"/``Policies`` in the AWS SAM Developer Guide). AWS managed policies and SAM policy
    templates are refused (none are used)."""
    managed = managed_policies(template, region)
    refs = resource_refs(template, region)
    out: dict[str, list[dict[str, Any]]] = {}
    for logical_id, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        docs = []
        for policy in res["Properties"].get("Policies", []):
            if isinstance(policy, dict) and set(policy) == {"Ref"} and policy["Ref"] in managed:
                docs.append(copy.deepcopy(managed[policy["Ref"]][1]))
                continue
            if not (isinstance(policy, dict) and "Statement" in policy):
                raise ValueError(
                    f"{logical_id}: only inline documents and the template's managed policies, not {policy!r}"
                )
            docs.append(resolve(copy.deepcopy(policy), region, refs))
        out[logical_id] = docs
    return out
