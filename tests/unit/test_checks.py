"""The IAM checker of `make check` (src/msk_pair/checks) catches what it exists for, and passes a good policy.

The known-bad statements are the defects the checker was written to find, each backed by the Service
Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/):
kafka:GetBootstrapBrokers has no resource type (only "Resource": "*" matches it), ec2:AcceptVpcPeeringConnection
is authorized on the accepter VPC as well as on the peering connection, kms:ViaService is not a condition
key of ec2:CreateVpc, and kafka:GetBootstrapBroker is not an action.
"""

from __future__ import annotations

import pytest

from msk_pair.checks.findings import AllowListError, Finding, judge, parse_allowlist
from msk_pair.checks.iam import Grantee, Policy, Resolver, check_grantees

ACCOUNT = "123456789012"


def findings_of(*statements: dict) -> set[tuple[str, str]]:
    """(statement sid, check) of every finding on one role holding one policy with these statements."""
    policy = Policy("test", {"Version": "2012-10-17", "Statement": list(statements)})
    return {(f.location.rsplit("/", 1)[-1], f.check) for f in check_grantees([Grantee("role", [policy])])}


def test_known_bad_statements_are_each_caught() -> None:
    found = findings_of(
        {
            "Sid": "BrokersOnClusterArn",
            "Effect": "Allow",
            "Action": "kafka:GetBootstrapBrokers",
            "Resource": f"arn:aws:kafka:*:{ACCOUNT}:cluster/*/*",
        },
        {"Sid": "TypoAction", "Effect": "Allow", "Action": "kafka:GetBootstrapBroker", "Resource": "*"},
        {
            "Sid": "AcceptWithoutVpc",
            "Effect": "Allow",
            "Action": "ec2:AcceptVpcPeeringConnection",
            "Resource": f"arn:aws:ec2:*:{ACCOUNT}:vpc-peering-connection/*",
        },
        {
            "Sid": "WrongConditionKey",
            "Effect": "Allow",
            "Action": "ec2:CreateVpc",
            "Resource": f"arn:aws:ec2:*:{ACCOUNT}:vpc/*",
            "Condition": {"StringLike": {"kms:ViaService": "ec2.*.amazonaws.com"}},
        },
    )
    assert ("BrokersOnClusterArn", "sar.star-only-action") in found
    assert ("BrokersOnClusterArn", "parliament.RESOURCE_MISMATCH") in found
    assert ("TypoAction", "sar.unknown-action") in found
    assert ("AcceptWithoutVpc", "sar.missing-resource-type") in found
    assert ("WrongConditionKey", "sar.unsupported-condition-key") in found


def test_a_good_policy_has_no_finding() -> None:
    """Resource "*" where nothing else matches, a required resource type granted by a second statement
    (AWS's own split of RunInstances), an AWS-owned SSM document (no account in its ARN), tag conditions
    the reference lists: nothing to report."""
    found = findings_of(
        {"Sid": "Brokers", "Effect": "Allow", "Action": "kafka:GetBootstrapBrokers", "Resource": "*"},
        {
            "Sid": "DescribeTagged",
            "Effect": "Allow",
            "Action": "kafka:DescribeClusterV2",
            "Resource": f"arn:aws:kafka:*:{ACCOUNT}:cluster/orders-*/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/msk-pair:deployment": "orders"}},
        },
        {
            "Sid": "AcceptOwn",
            "Effect": "Allow",
            "Action": "ec2:AcceptVpcPeeringConnection",
            "Resource": [f"arn:aws:ec2:*:{ACCOUNT}:vpc-peering-connection/*", f"arn:aws:ec2:*:{ACCOUNT}:vpc/*"],
        },
        {
            "Sid": "LaunchTagged",
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": [f"arn:aws:ec2:*:{ACCOUNT}:instance/*", f"arn:aws:ec2:*:{ACCOUNT}:volume/*"],
            "Condition": {"StringLike": {"aws:RequestTag/msk-pair:deployment": "*"}},
        },
        {
            "Sid": "LaunchInto",
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": [
                f"arn:aws:ec2:*:{ACCOUNT}:subnet/*",
                f"arn:aws:ec2:*:{ACCOUNT}:security-group/*",
                f"arn:aws:ec2:*:{ACCOUNT}:network-interface/*",
                "arn:aws:ec2:*::image/*",
            ],
        },
        # RunInstances' dependent actions in the reference: tag on launch, pass a role, resolve:ssm AMI IDs.
        {
            "Sid": "TagOnLaunch",
            "Effect": "Allow",
            "Action": "ec2:CreateTags",
            "Resource": f"arn:aws:ec2:*:{ACCOUNT}:instance/*",
            "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}},
        },
        {
            "Sid": "PassClientRole",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/client",
            "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        },
        {
            "Sid": "AmiFromPublicParameter",
            "Effect": "Allow",
            "Action": "ssm:GetParameters",
            "Resource": "arn:aws:ssm:*::parameter/aws/service/ami-amazon-linux-latest/*",
        },
        {
            "Sid": "RunShell",
            "Effect": "Allow",
            "Action": "ssm:SendCommand",
            "Resource": ["arn:aws:ssm:*::document/AWS-RunShellScript", f"arn:aws:ec2:*:{ACCOUNT}:instance/*"],
        },
    )
    assert found == set()


def test_intrinsics_resolve_to_plausible_arns() -> None:
    template = {
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "f"}}},
    }
    resolver = Resolver(template)
    value = {"Fn::Sub": ["${Arn}:${Env}:${AWS::Region}", {"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}]}
    assert resolver.resolve(value) == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f:dev:us-east-1"


def test_allowlist_explains_findings_and_reports_stale_entries() -> None:
    entries = parse_allowlist("# comment\n\na.yaml:*: x.rule: *express* # why\nb: y: z # no longer found\n")
    finding = Finding("a.yaml:Role/Sid", "x.rule", "arn:...:EXPRESS:...")
    other = Finding("c", "x.rule", "unexplained")
    verdict = judge([finding, other], entries)
    assert [f for f, _ in verdict.allowed] == [finding]
    assert verdict.failing == [other]
    assert [e.pattern for e in verdict.unused] == ["b: y: z"]
    assert not verdict.ok
    with pytest.raises(AllowListError):
        parse_allowlist("pattern without a reason\n")
