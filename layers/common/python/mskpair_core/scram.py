"""The SCRAM credentials of one region: a customer managed KMS key and the Secrets Manager secret.

MSK's SASL/SCRAM reads users from Secrets Manager secrets associated with the cluster, and
refuses a secret unless its name starts with ``AmazonMSK_`` and it is encrypted with a
customer managed KMS key (a secret on the default ``aws/secretsmanager`` key cannot be used).
So, per region:

- a symmetric customer managed key with the alias ``alias/msk-pair-<deployment>``, tagged;
- the secret ``AmazonMSK_<deployment>``, encrypted with that key (by key ARN: MSK wants a key
  ID or ARN, not an alias), holding ``{"username": ..., "password": ...}`` with a password
  that Secrets Manager generates (GetRandomPassword).

Both are found before they are made, so running a step twice makes nothing twice. Teardown
force-deletes the secret (so the deployment name can be used again at once) and schedules the
key for deletion after 7 days, the minimum KMS allows.

The password exists in this process only between GetRandomPassword and CreateSecret. It is
never returned, logged or put in an exception message. botocore logs whole request and response
bodies at DEBUG level, so while the password is in memory a logging filter drops the AWS SDK's
DEBUG records of this thread and replaces the password by ``***`` in any record.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from mskpair_core.aws import client, error_code, translate_errors
from mskpair_core.errors import Conflict, ResourceFailed, Transient
from mskpair_core.tags import DEPLOYMENT_TAG, EXECUTION_TAG, Role, in_scope, tag_dict, tags_of

LOG = logging.getLogger(__name__)

SECRET_PREFIX = "AmazonMSK_"  # MSK refuses secrets whose name lacks it
SCRAM_USER_TAG = "msk-pair:scram-user"
"""On the secret: its SASL/SCRAM user name (not secret), so the plan of a later run can compare it unread."""
PASSWORD_LENGTH = 32
KEY_DELETION_WINDOW_DAYS = 7  # the minimum KMS allows

# KMS: internal errors and a dependency timing out are worth retrying; NotFoundException right
# after CreateKey means the new key is not visible yet to CreateAlias/DescribeKey.
KMS_TRANSIENT = frozenset({"KMSInternalException", "DependencyTimeoutException"})
KMS_NOT_YET = frozenset({"NotFoundException"})
# Secrets Manager: InternalServiceError is retryable. InvalidRequestException on CreateSecret
# means a secret of that name is still being deleted (force deletion is asynchronous) or the
# key is not usable yet: retried, for a bounded time, by the state machine.
SECRETS_TRANSIENT = frozenset({"InternalServiceError"})
SECRETS_CREATE_TRANSIENT = SECRETS_TRANSIENT | {"InvalidRequestException"}


def alias_name(deployment: str) -> str:
    return f"alias/msk-pair-{deployment}"


def secret_name(deployment: str) -> str:
    return f"{SECRET_PREFIX}{deployment}"


# -- redaction ------------------------------------------------------------------------------------


class _Redactor(logging.Filter):
    """Keeps secret values out of log records of the loggers it is attached to.

    In a thread that is inside :func:`_protected`, DEBUG records of the AWS SDK's loggers are
    dropped (botocore logs whole request and response bodies at DEBUG: the GetRandomPassword
    answer, the CreateSecret request); and in every thread, any registered value is replaced
    by ``***``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.values: set[str] = set()
        self.lock = threading.Lock()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        wire = record.name.split(".")[0] in _WIRE_LOGGERS
        if wire and record.levelno < logging.INFO and getattr(self.local, "depth", 0):
            return False
        if not self.values:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted carries nothing we can check
            return False
        hit = False
        for value in list(self.values):
            if value and value in message:
                message = message.replace(value, "***")
                hit = True
        if hit:
            record.msg, record.args = message, None
        return True

    def protect(self, value: str) -> None:
        with self.lock:
            self.values.add(value)

    def forget(self, value: str) -> None:
        with self.lock:
            self.values.discard(value)


_WIRE_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "moto", "werkzeug")
_redactor = _Redactor()


@contextmanager
def _protected() -> Iterator[_Redactor]:
    """Within: this thread's AWS SDK DEBUG records are dropped; ``.protect(value)`` redacts a value everywhere."""
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in _WIRE_LOGGERS]
    for name in [*_WIRE_LOGGERS, *names, __name__]:
        target = logging.getLogger(name)
        if _redactor not in target.filters:
            target.addFilter(_redactor)
    _redactor.local.depth = getattr(_redactor.local, "depth", 0) + 1
    try:
        yield _redactor
    finally:
        _redactor.local.depth -= 1


# -- KMS key --------------------------------------------------------------------------------------


def _kms_tags(deployment: str, role: Role) -> list[dict[str, str]]:
    return [{"TagKey": k, "TagValue": v} for k, v in tag_dict(deployment, role).items()]


def _describe_key(kms: Any, key_id: str) -> dict[str, Any] | None:
    try:
        with translate_errors(transient=KMS_TRANSIENT):
            return kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            return None
        raise


def _rotate(kms: Any, key_id: str) -> None:
    """Automatic yearly rotation of the key material (KMS developer guide, "Rotating AWS KMS keys"):
    old material stays for decryption, so the secret needs nothing. Idempotent."""
    with translate_errors(transient=KMS_TRANSIENT | KMS_NOT_YET):
        if not kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled"):
            kms.enable_key_rotation(KeyId=key_id)
            LOG.info("enabled automatic rotation of KMS key %s", key_id)


def _make_usable(kms: Any, meta: dict[str, Any]) -> str:
    """Bring a key found by our alias back to Enabled, with rotation on; returns its ARN."""
    state, key_id = meta["KeyState"], meta["KeyId"]
    with translate_errors(transient=KMS_TRANSIENT):
        if state == "PendingDeletion":
            # Reuse rather than replace: the alias already names it, and cancelling keeps one key per
            # deployment instead of leaving a second, orphaned one. Cancelling leaves it Disabled.
            kms.cancel_key_deletion(KeyId=key_id)
            LOG.info("cancelled the scheduled deletion of KMS key %s", key_id)
            state = "Disabled"
        if state == "Disabled":
            kms.enable_key(KeyId=key_id)
            LOG.info("enabled KMS key %s", key_id)
        elif state in ("Creating", "Updating"):
            raise Transient(f"KMS key {key_id} is {state}")
        elif state != "Enabled":
            raise ResourceFailed(f"KMS key {key_id} (alias of the deployment) is {state} and cannot be used")
    _rotate(kms, key_id)
    return meta["Arn"]


def ensure_key(*, deployment: str, role: Role, region: str) -> str:
    """Find or make the deployment's customer managed symmetric key in ``region``; returns its ARN.

    Found by the alias ``alias/msk-pair-<deployment>``: an Enabled key is reused, a Disabled one
    enabled, one pending deletion has its deletion cancelled and is enabled again. Otherwise a key
    is made (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT, tagged) and the alias pointed at it.
    """
    kms = client("kms", region)
    alias = alias_name(deployment)
    meta = _describe_key(kms, alias)
    if meta is not None:
        return _make_usable(kms, meta)

    with translate_errors(transient=KMS_TRANSIENT):
        created = kms.create_key(
            Description=f"msk-pair {deployment} ({role}): encrypts the MSK SCRAM secret {secret_name(deployment)}",
            KeyUsage="ENCRYPT_DECRYPT",
            KeySpec="SYMMETRIC_DEFAULT",
            Tags=_kms_tags(deployment, role),
        )["KeyMetadata"]
    try:
        with translate_errors(transient=KMS_TRANSIENT | KMS_NOT_YET):
            kms.create_alias(AliasName=alias, TargetKeyId=created["KeyId"])
    except ClientError as exc:
        if error_code(exc) != "AlreadyExistsException":
            raise
        # Another attempt made the alias between our lookup and now: use its key, retire ours.
        with translate_errors(transient=KMS_TRANSIENT):
            kms.schedule_key_deletion(KeyId=created["KeyId"], PendingWindowInDays=KEY_DELETION_WINDOW_DAYS)
        meta = _describe_key(kms, alias)
        if meta is None:
            raise Transient(f"KMS alias {alias} exists but its key is not visible yet") from None
        return _make_usable(kms, meta)
    LOG.info("created KMS key %s with alias %s", created["KeyId"], alias)
    _rotate(kms, created["KeyId"])
    return created["Arn"]


# -- secret ---------------------------------------------------------------------------------------


def _describe_secret(sm: Any, name: str) -> dict[str, Any] | None:
    try:
        with translate_errors(transient=SECRETS_TRANSIENT):
            return sm.describe_secret(SecretId=name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise


def _key_matches(found: str | None, key_arn: str) -> bool:
    return bool(found) and (found == key_arn or key_arn.endswith(f"/{found}"))


def describe_own_secret(*, deployment: str, region: str) -> dict[str, Any] | None:
    """The deployment's ``AmazonMSK_<deployment>`` secret (DescribeSecret: metadata and tags, no value), if ours."""
    found = _describe_secret(client("secretsmanager", region), secret_name(deployment))
    return found if found is not None and _tagged(found.get("Tags"), deployment) else None


def ensure_secret(*, deployment: str, role: Role, region: str, key_arn: str, username: str) -> str:
    """Find or make ``AmazonMSK_<deployment>`` in ``region``, encrypted with ``key_arn``; returns its ARN.

    A new secret gets ``{"username": username, "password": <32 letters and digits from
    GetRandomPassword>}``: no punctuation or space, so the password can sit in a JAAS config line
    without quoting. An existing one keeps its value; if it is scheduled for deletion it is
    restored, and if it is encrypted with another key it is switched to ``key_arn``.
    """
    sm = client("secretsmanager", region)
    name = secret_name(deployment)
    found = _describe_secret(sm, name)
    if found is not None:
        if not _tagged(found.get("Tags"), deployment):
            raise Conflict(
                f"a secret named {name} exists in {region} but is not tagged as deployment {deployment}: "
                "msk-pair neither uses nor changes it (rename or delete it, or choose another deploymentName)"
            )
        with translate_errors(transient=SECRETS_TRANSIENT):
            if found.get("DeletedDate"):
                sm.restore_secret(SecretId=found["ARN"])
                LOG.info("restored secret %s, which was scheduled for deletion", name)
            if not _key_matches(found.get("KmsKeyId"), key_arn):
                sm.update_secret(SecretId=found["ARN"], KmsKeyId=key_arn)
                LOG.info("secret %s now uses KMS key %s", name, key_arn)
        return found["ARN"]

    with _protected() as redactor:
        with translate_errors(transient=SECRETS_TRANSIENT):
            password = sm.get_random_password(
                PasswordLength=PASSWORD_LENGTH,
                ExcludePunctuation=True,
                IncludeSpace=False,
                RequireEachIncludedType=True,
            )["RandomPassword"]
        redactor.protect(password)
        try:
            with translate_errors(transient=SECRETS_CREATE_TRANSIENT):
                created = sm.create_secret(
                    Name=name,
                    Description=f"msk-pair {deployment} ({role}): SASL/SCRAM user of the MSK cluster",
                    KmsKeyId=key_arn,
                    SecretString=json.dumps({"username": username, "password": password}),
                    Tags=[
                        {"Key": k, "Value": v}
                        for k, v in {**tag_dict(deployment, role), SCRAM_USER_TAG: username}.items()
                    ],
                )
        except ClientError as exc:
            if error_code(exc) != "ResourceExistsException":
                raise
            created = None  # made by an earlier attempt whose answer was lost
        finally:
            redactor.forget(password)
            del password
    if created is None:
        found = _describe_secret(sm, name)
        if found is None:
            raise Transient(f"secret {name} exists but is not visible yet")
        return found["ARN"]
    LOG.info("created secret %s (user %s) encrypted with %s", name, username, key_arn)
    return created["ARN"]


def ensure_credentials(*, deployment: str, role: Role, region: str, username: str) -> dict[str, str]:
    """The key, then the secret encrypted with it (each found before it is made): their ARNs only."""
    key_arn = ensure_key(deployment=deployment, role=role, region=region)
    secret_arn = ensure_secret(deployment=deployment, role=role, region=region, key_arn=key_arn, username=username)
    return {"kmsKeyArn": key_arn, "scramSecretArn": secret_arn}


# -- teardown -------------------------------------------------------------------------------------


def _tagged(tags: list[dict[str, str]] | None, deployment: str) -> bool:
    return any(t.get("Key") == DEPLOYMENT_TAG and t.get("Value") == deployment for t in tags or [])


def delete_secret(*, deployment: str, region: str, made_by: str | None = None) -> bool:
    """Force-delete the deployment's secrets in ``region`` (no recovery window, so the name is free again).

    Finds ``AmazonMSK_<deployment>`` by name (only if it carries the deployment's tag: a same-named
    secret that is not ours stays) and any secret tagged with the deployment. A secret that is already
    gone is fine. ``made_by``: only secrets that execution made. Returns whether anything was deleted.
    """
    sm = client("secretsmanager", region)
    targets: dict[str, str] = {}
    found = _describe_secret(sm, secret_name(deployment))
    if found is not None and _tagged(found.get("Tags"), deployment):  # a same-named secret not ours stays
        targets[found["ARN"]] = found["Name"]
    with translate_errors(transient=SECRETS_TRANSIENT):
        paginator = sm.get_paginator("list_secrets")
        filters = [{"Key": "tag-key", "Values": [DEPLOYMENT_TAG]}, {"Key": "tag-value", "Values": [deployment]}]
        for page in paginator.paginate(Filters=filters, IncludePlannedDeletion=True):
            for secret in page.get("SecretList", []):
                if _tagged(secret.get("Tags"), deployment):
                    targets[secret["ARN"]] = secret["Name"]
    if made_by is not None:
        described = {arn: _describe_secret(sm, arn) for arn in targets}
        targets = {
            arn: name
            for arn, name in targets.items()
            if described[arn] is not None and in_scope(tags_of(described[arn]), made_by)
        }
    deleted = False
    for arn, name in targets.items():
        try:
            with translate_errors(transient=SECRETS_TRANSIENT):
                sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
            LOG.info("deleted secret %s", name)
            deleted = True
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
    return deleted


def _tagged_key_arns(region: str, deployment: str, made_by: str | None = None) -> list[str]:
    tagging = client("resourcegroupstaggingapi", region)
    arns = []
    tag_filters = [{"Key": DEPLOYMENT_TAG, "Values": [deployment]}]
    if made_by:
        tag_filters.append({"Key": EXECUTION_TAG, "Values": [made_by]})
    with translate_errors():
        paginator = tagging.get_paginator("get_resources")
        pages = paginator.paginate(ResourceTypeFilters=["kms:key"], TagFilters=tag_filters)
        for page in pages:
            arns.extend(r["ResourceARN"] for r in page.get("ResourceTagMappingList", []))
    return arns


def delete_key(*, deployment: str, region: str, made_by: str | None = None) -> bool:
    """Delete the alias and schedule the deployment's keys in ``region`` for deletion (7 days).

    Keys are found by the alias and by the deployment tag (Resource Groups Tagging API), so a
    key whose alias is already gone is found too. A key already pending deletion is fine; so is
    nothing at all. ``made_by``: only keys that execution made (and their alias). Returns whether anything
    was done.
    """
    kms = client("kms", region)
    alias = alias_name(deployment)
    keys: list[str] = []
    meta = _describe_key(kms, alias)
    tagged = _tagged_key_arns(region, deployment, made_by)
    if meta is not None and made_by is not None and meta["Arn"] not in tagged:
        meta = None  # the alias names a key this execution did not make: both stay
    if meta is not None:
        keys.append(meta["Arn"])
    keys.extend(k for k in tagged if k not in keys)

    did = False
    if meta is not None:
        try:
            with translate_errors(transient=KMS_TRANSIENT):
                kms.delete_alias(AliasName=alias)
            did = True
        except ClientError as exc:
            if error_code(exc) != "NotFoundException":
                raise
    for key in keys:
        info = _describe_key(kms, key)
        if info is None or info["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
            continue
        if info.get("KeyManager") != "CUSTOMER":
            continue
        try:
            with translate_errors(transient=KMS_TRANSIENT):
                kms.schedule_key_deletion(KeyId=info["KeyId"], PendingWindowInDays=KEY_DELETION_WINDOW_DAYS)
            LOG.info("scheduled KMS key %s for deletion in %d days", info["KeyId"], KEY_DELETION_WINDOW_DAYS)
            did = True
        except ClientError as exc:
            if error_code(exc) not in ("KMSInvalidStateException", "NotFoundException"):
                raise
    return did


__all__ = [
    "alias_name",
    "delete_key",
    "delete_secret",
    "ensure_key",
    "ensure_secret",
    "secret_name",
]


def delete_credentials(*, deployment: str, region: str, made_by: str | None = None) -> dict[str, bool]:
    """Teardown of one region's credentials: the secret first (force-deleted), then the key (scheduled)."""
    secret = delete_secret(deployment=deployment, region=region, made_by=made_by)
    key = delete_key(deployment=deployment, region=region, made_by=made_by)
    return {"secretDeleted": secret, "keyScheduledForDeletion": key}
