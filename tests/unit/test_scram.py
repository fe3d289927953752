"""mskpair_core.scram on moto: the KMS key and the SCRAM secret, made once, torn down by tags."""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
import pytest

from msk_pair.emulator import msk, profile, strict_ec2
from msk_pair.emulator.clock import VirtualClock
from mskpair_core import scram
from mskpair_core.errors import Conflict
from mskpair_core.tags import DEPLOYMENT_TAG, ROLE_TAG

REGION = "us-west-2"
DEPLOYMENT = "orders-dr"
pytestmark = pytest.mark.moto_world(profile=profile.FAST, extensions=[msk, strict_ec2])


@pytest.fixture
def kms(moto_world: VirtualClock) -> Any:
    return boto3.client("kms", region_name=REGION)


@pytest.fixture
def sm(moto_world: VirtualClock) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def _customer_keys(kms: Any) -> list[dict[str, Any]]:
    keys = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
    return [k for k in keys if k["KeyManager"] == "CUSTOMER"]


# -- key ------------------------------------------------------------------------------------------


def test_ensure_key_makes_one_tagged_symmetric_key_with_alias(kms: Any) -> None:
    arn = scram.ensure_key(deployment=DEPLOYMENT, role="secondary", region=REGION)
    assert arn.startswith(f"arn:aws:kms:{REGION}:")
    meta = kms.describe_key(KeyId="alias/msk-pair-orders-dr")["KeyMetadata"]
    assert meta["Arn"] == arn
    assert meta["KeySpec"] == "SYMMETRIC_DEFAULT" and meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeyState"] == "Enabled" and meta["KeyManager"] == "CUSTOMER"
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=arn)["Tags"]}
    assert tags == {DEPLOYMENT_TAG: DEPLOYMENT, ROLE_TAG: "secondary"}
    assert scram.ensure_key(deployment=DEPLOYMENT, role="secondary", region=REGION) == arn
    assert len(_customer_keys(kms)) == 1


def test_ensure_key_revives_a_key_pending_deletion_under_its_alias(kms: Any) -> None:
    arn = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    kms.schedule_key_deletion(KeyId=arn.rsplit("/", 1)[1], PendingWindowInDays=7)  # moto wants the key id
    assert scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION) == arn
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    kms.disable_key(KeyId=arn.rsplit("/", 1)[1])
    assert scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION) == arn
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"


def test_delete_key_removes_alias_and_schedules_deletion_once(kms: Any) -> None:
    arn = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    other = scram.ensure_key(deployment="someone-else", role="primary", region=REGION)
    assert scram.delete_key(deployment=DEPLOYMENT, region=REGION) is True
    meta = kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    aliases = [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
    assert "alias/msk-pair-orders-dr" not in aliases and "alias/msk-pair-someone-else" in aliases
    assert kms.describe_key(KeyId=other)["KeyMetadata"]["KeyState"] == "Enabled"
    assert scram.delete_key(deployment=DEPLOYMENT, region=REGION) is False  # pending already: fine
    assert scram.delete_key(deployment="never-made", region=REGION) is False


def test_delete_key_finds_a_key_whose_alias_is_gone_by_tags(kms: Any) -> None:
    arn = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    kms.delete_alias(AliasName="alias/msk-pair-orders-dr")
    assert scram.delete_key(deployment=DEPLOYMENT, region=REGION) is True
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    # Provisioning again after teardown makes a fresh key under the alias.
    fresh = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    assert fresh != arn
    assert kms.describe_key(KeyId=fresh)["KeyMetadata"]["KeyState"] == "Enabled"


# -- secret ---------------------------------------------------------------------------------------


def test_ensure_secret_makes_one_secret_with_generated_password(sm: Any) -> None:
    key = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    arn = scram.ensure_secret(deployment=DEPLOYMENT, role="primary", region=REGION, key_arn=key, username="msk-admin")
    desc = sm.describe_secret(SecretId=arn)
    assert desc["Name"] == "AmazonMSK_orders-dr"
    assert desc["KmsKeyId"] == key
    assert {t["Key"]: t["Value"] for t in desc["Tags"]} == {
        DEPLOYMENT_TAG: DEPLOYMENT,
        ROLE_TAG: "primary",
        "msk-pair:scram-user": "msk-admin",  # read by a later run's plan, without the value
    }
    value = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert set(value) == {"username", "password"} and value["username"] == "msk-admin"
    assert len(value["password"]) == 32 and value["password"].isalnum()

    again = scram.ensure_secret(deployment=DEPLOYMENT, role="primary", region=REGION, key_arn=key, username="msk-admin")
    assert again == arn
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == value  # not regenerated
    assert len(sm.list_secrets()["SecretList"]) == 1


def test_password_never_returned_or_logged(sm: Any, caplog: pytest.LogCaptureFixture) -> None:
    key = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "mskpair_core"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        arn = scram.ensure_secret(
            deployment=DEPLOYMENT, role="primary", region=REGION, key_arn=key, username="msk-admin"
        )
    finally:
        for name in ("botocore", "boto3", "urllib3", "mskpair_core"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    logged, records = caplog.text, [r.getMessage() for r in caplog.records]
    caplog.set_level(logging.WARNING)
    password = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"]
    assert password not in arn
    assert "botocore" in logged  # the SDK's DEBUG logging was on
    assert password not in logged
    assert not [m for m in records if password in m]


def test_ensure_secret_moves_a_secret_to_the_new_key(sm: Any, kms: Any) -> None:
    old = kms.create_key()["KeyMetadata"]["Arn"]
    tags = [{"Key": DEPLOYMENT_TAG, "Value": DEPLOYMENT}, {"Key": ROLE_TAG, "Value": "primary"}]
    value = '{"username": "a", "password": "b"}'
    sm.create_secret(Name="AmazonMSK_orders-dr", KmsKeyId=old, SecretString=value, Tags=tags)
    key = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    arn = scram.ensure_secret(deployment=DEPLOYMENT, role="primary", region=REGION, key_arn=key, username="msk-admin")
    assert sm.describe_secret(SecretId=arn)["KmsKeyId"] == key


def test_a_same_named_secret_that_is_not_ours_is_neither_used_nor_deleted(sm: Any) -> None:
    theirs = sm.create_secret(Name="AmazonMSK_orders-dr", SecretString='{"username": "a", "password": "b"}')["ARN"]
    key = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    with pytest.raises(Conflict, match="not tagged as deployment orders-dr"):
        scram.ensure_secret(deployment=DEPLOYMENT, role="primary", region=REGION, key_arn=key, username="msk-admin")
    assert scram.delete_secret(deployment=DEPLOYMENT, region=REGION) is False
    assert sm.describe_secret(SecretId=theirs)["Name"] == "AmazonMSK_orders-dr"


def test_the_key_rotates_yearly(kms: Any) -> None:
    """KMS developer guide, "Rotating AWS KMS keys": automatic rotation, old material kept for decryption."""
    key = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True
    kms.disable_key_rotation(KeyId=key)
    scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)  # a re-run turns it back on
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is True


def test_delete_secret_force_deletes_so_the_name_is_reusable(sm: Any) -> None:
    key = scram.ensure_key(deployment=DEPLOYMENT, role="primary", region=REGION)
    first = scram.ensure_secret(deployment=DEPLOYMENT, role="primary", region=REGION, key_arn=key, username="msk-admin")
    assert scram.delete_secret(deployment=DEPLOYMENT, region=REGION) is True
    assert sm.list_secrets(IncludePlannedDeletion=True)["SecretList"] == []
    assert scram.delete_secret(deployment=DEPLOYMENT, region=REGION) is False
    second = scram.ensure_secret(
        deployment=DEPLOYMENT, role="primary", region=REGION, key_arn=key, username="msk-admin"
    )
    assert second != first


def test_delete_secret_finds_tagged_secrets_by_tag(sm: Any) -> None:
    tags = [{"Key": DEPLOYMENT_TAG, "Value": DEPLOYMENT}, {"Key": ROLE_TAG, "Value": "primary"}]
    sm.create_secret(Name="AmazonMSK_renamed", SecretString="{}", Tags=tags)
    sm.create_secret(Name="AmazonMSK_other", SecretString="{}", Tags=[{"Key": DEPLOYMENT_TAG, "Value": "other"}])
    assert scram.delete_secret(deployment=DEPLOYMENT, region=REGION) is True
    assert [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]] == ["AmazonMSK_other"]


def test_redactor_replaces_a_protected_value_in_any_record(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with scram._protected() as redactor:
        redactor.protect("s3cr3tvalue")
        logging.getLogger("botocore.endpoint").warning("body: %s", '{"password": "s3cr3tvalue"}')
        logging.getLogger("botocore.parsers").debug("Response body: s3cr3tvalue")  # dropped in this thread
        redactor.forget("s3cr3tvalue")
    assert "s3cr3tvalue" not in caplog.text
    assert 'body: {"password": "***"}' in caplog.text
