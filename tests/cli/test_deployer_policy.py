"""iam/deployer-policy.json: what a user attaches to deploy the stack and to run msk-pair, checked against AWS's lists.

- Deploying: every resource type of template.yaml *after the SAM transform* (what CloudFormation really
  creates), and of the SAM CLI's artifact stack (``sam deploy`` with ``resolve_s3``), needs the permissions
  its CloudFormation resource handlers list in the CloudFormation registry schema
  (the ``handlers.create/read/update/delete.permissions`` of each type, as cfn-lint ships them from
  https://schema.cloudformation.us-east-1.amazonaws.com/CloudformationSchema.zip). A permission is
  left out only for a feature the template does not use, and the test checks that it does not.
- Running: every AWS call the CLI makes (recorded in test_cli_local.py) is an allowed action.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import ROOT

POLICY_FILE = ROOT / "iam" / "deployer-policy.json"
POLICY = json.loads(POLICY_FILE.read_text())
HANDLERS = ("create", "read", "update", "delete")
# "Maximum size of a managed policy: 6,144 characters (whitespace not counted)", IAM User Guide,
# "IAM and AWS STS quotas", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
MANAGED_POLICY_MAX_CHARS = 6144

# Permissions a resource handler lists for a feature: (resource type, action pattern, the property that
# turns the feature on). Each is left out of the policy because no resource of that type sets the property.
FEATURE_PERMISSIONS = [
    ("AWS::Lambda::Function", "kms:*", "KmsKeyArn"),
    ("AWS::Lambda::Function", "ec2:DescribeSecurityGroups", "VpcConfig"),
    ("AWS::Lambda::Function", "ec2:DescribeSubnets", "VpcConfig"),
    ("AWS::Lambda::Function", "ec2:DescribeVpcs", "VpcConfig"),
    ("AWS::Lambda::Function", "elasticfilesystem:*", "FileSystemConfigs"),
    ("AWS::Lambda::Function", "s3files:*", "FileSystemConfigs"),
    ("AWS::Lambda::Function", "lambda:PassCapacityProvider", "CapacityProviderConfig"),
    ("AWS::StepFunctions::StateMachine", "kms:*", "EncryptionConfiguration"),
    ("AWS::Logs::LogGroup", "firehose:*", "DataProtectionPolicy"),  # findings delivered to Firehose or S3
    ("AWS::Logs::LogGroup", "s3:REST.PUT.OBJECT", "DataProtectionPolicy"),
    ("AWS::S3::Bucket", "s3tables:*", "MetadataTableConfiguration"),
    ("AWS::S3::Bucket", "s3:*MetadataTableConfiguration", "MetadataTableConfiguration"),
    ("AWS::S3::Bucket", "s3:*Metadata*TableConfiguration", "MetadataConfiguration"),
    ("AWS::S3::Bucket", "iam:PassRole", "ReplicationConfiguration"),  # the replication role
    ("AWS::IAM::ManagedPolicy", "iam:*GroupPolicy", "Groups"),  # the boundary is attached to no group or user
    ("AWS::IAM::ManagedPolicy", "iam:*UserPolicy", "Users"),
]


def _statements() -> list[dict[str, Any]]:
    return [s for s in POLICY["Statement"] if s["Effect"] == "Allow"]


def _as_list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def allows(action: str) -> bool:
    """Some Allow statement names the action (IAM action names are case-insensitive; * and ? match)."""
    return any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower())
        for statement in _statements()
        for pattern in _as_list(statement["Action"])
    )


@cache
def _schemas() -> tuple[Path, dict[str, str]]:
    import cfnlint

    base = Path(cfnlint.__file__).parent / "data" / "schemas"
    return base, json.loads((base / "providers" / "us-east-1.json").read_text())


def registry_schema(resource_type: str) -> dict[str, Any]:
    base, index = _schemas()
    return json.loads((base / "resources" / f"{index[resource_type]}.json").read_text())


def handler_permissions(resource_type: str) -> set[str]:
    handlers = registry_schema(resource_type).get("handlers", {})
    return {p for h in HANDLERS for p in handlers.get(h, {}).get("permissions", [])}


@cache
def transformed_template() -> dict[str, Any]:
    """template.yaml as CloudFormation sees it: local paths made S3 URIs (`sam package`), then the SAM transform."""
    import os

    from samtranslator.translator.transform import transform

    from msk_pair.emulator.engine import load_template

    template = copy.deepcopy(load_template(ROOT))
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://sam-artifacts/{props[key]}"

    class NoManagedPolicies:  # the template names managed policies by ARN
        def load(self) -> dict[str, str]:
            return {}

    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # the transform fills AWS::Region
    try:
        return transform(template, {}, NoManagedPolicies())
    finally:
        if saved is None:
            os.environ.pop("AWS_DEFAULT_REGION")
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved


def sam_artifact_stack() -> dict[str, Any]:
    """The stack `sam deploy --resolve-s3` creates once per account and region (aws-sam-cli-managed-default)."""
    from samcli.lib.bootstrap import bootstrap

    return json.loads(bootstrap._get_stack_template())


def _resources() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for source, template in (("template.yaml", transformed_template()), ("SAM artifact stack", sam_artifact_stack())):
        for logical_id, resource in template["Resources"].items():
            found.append((f"{source}:{logical_id}", resource["Type"], resource.get("Properties", {})))
    return found


def test_the_transform_makes_what_the_policy_was_written_for():
    types = {kind for _, kind, _ in _resources()}
    assert {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::StepFunctions::StateMachine"} <= types
    assert not any(kind.startswith("AWS::Serverless::") for kind in types)


@pytest.mark.parametrize("resource_type", sorted({kind for _, kind, _ in _resources()}))
def test_every_resource_type_can_be_created_updated_and_deleted(resource_type):
    schema = registry_schema(resource_type)
    needed = handler_permissions(resource_type)
    assert needed, f"the registry lists no handler permissions for {resource_type}"
    exempt = set()
    for kind, pattern, prop in FEATURE_PERMISSIONS:
        if kind != resource_type:
            continue
        assert prop in schema["properties"], f"{resource_type} has no property {prop}: the exemption is stale"
        users = [name for name, k, props in _resources() if k == kind and prop in props]
        assert not users, f"{users} set {prop}: the policy needs {pattern}"
        exempt |= {action for action in needed if fnmatch.fnmatchcase(action, pattern)}
    missing = sorted(action for action in needed - exempt if not allows(action))
    assert not missing, f"{resource_type}: the deployer policy lacks {missing}"


def test_the_sam_transform_and_the_stacks_themselves():
    # CreateChangeSet on the transform: "AWS::Serverless-2016-10-31" is a macro hosted by AWS
    transform_arn = "arn:aws:cloudformation:*:aws:transform/Serverless-2016-10-31"
    assert any(
        transform_arn in _as_list(s["Resource"]) and "cloudformation:CreateChangeSet" in _as_list(s["Action"])
        for s in _statements()
    )
    for action in ("CreateChangeSet", "ExecuteChangeSet", "DescribeChangeSet", "DescribeStacks", "DeleteStack"):
        assert allows(f"cloudformation:{action}")


def test_the_policy_is_attachable_and_narrow():
    text = re.sub(r"\s", "", POLICY_FILE.read_text())
    assert len(text) <= MANAGED_POLICY_MAX_CHARS
    for statement in _statements():
        actions = _as_list(statement["Action"])
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), statement["Sid"]
        writes = [a for a in actions if re.match(r"(iam|lambda|states|cloudformation):(Create|Delete|Put|Update)", a)]
        if writes:  # what creates or deletes is scoped to the stack's own resources
            assert statement["Resource"] != "*", statement["Sid"]
    pass_role = next(s for s in _statements() if "iam:PassRole" in _as_list(s["Action"]))
    assert set(pass_role["Condition"]["StringEquals"]["iam:PassedToService"]) == {
        "lambda.amazonaws.com",
        "states.amazonaws.com",
    }


def test_the_readme_points_to_the_policy():
    readme = (ROOT / "README.md").read_text()
    assert "iam/deployer-policy.json" in readme
