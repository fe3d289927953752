"""Each AWS error the handlers can meet, sent through a real boto3 client, ends in the class AWS's
documentation says it belongs to.

One case per entry of ``msk_pair.emulator.aws_errors.CATALOGUE`` (each entry names where AWS documents
the code and status; the test id is ``<service>-<kind>-<code>``). The response is rendered in the
service's own wire protocol and answered at botocore's ``before-send``, so botocore's parser and its
standard-mode retries run for real (their sleeps are recorded, not slept), then
``mskpair_core.aws.translate_errors`` classifies what is left:

- throttling and server errors (5xx) are retried by boto3 (1 + ``max_attempts`` requests), then ``Transient``;
- a denial is sent once and becomes ``AccessDenied``, never ``Transient``.
"""

from __future__ import annotations

import re

import boto3
import botocore.endpoint
import pytest
from botocore.retries import standard

from msk_pair.emulator import aws_errors
from msk_pair.emulator.aws_errors import CATALOGUE, DENIED, KINDS
from mskpair_core import aws
from mskpair_core.errors import AccessDenied, Transient
from tests.conftest import ROOT

# A call with no required parameters per service: the error is what is tested, not the call.
CHEAP_CALL = {
    "ec2": ("describe_vpcs", {}),
    "iam": ("list_roles", {}),
    "sts": ("get_caller_identity", {}),
    "kms": ("list_keys", {}),
    "secretsmanager": ("list_secrets", {}),
    "ssm": ("describe_instance_information", {}),
    "kafka": ("list_clusters_v2", {}),
    "stepfunctions": ("list_state_machines", {}),
    "resourcegroupstaggingapi": ("get_resources", {}),
}
# botocore's ``max_attempts`` counts the retries, not the first request (botocore Config docs:
# "total_max_attempts" includes it, "max_attempts" does not).
REQUESTS = aws.BOTO_CONFIG.retries["max_attempts"] + 1


class _Sleeps:
    """Stands in for the ``time`` module botocore's endpoint sleeps with: records, never sleeps."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def __getattr__(self, name: str):
        import time

        return getattr(time, name)


def _send(error: aws_errors.AwsError, monkeypatch) -> tuple[Exception, int, list[float]]:
    sleeps = _Sleeps()
    monkeypatch.setattr(botocore.endpoint, "time", sleeps)
    session = boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    client = session.client(error.service, region_name="us-east-1", config=aws.BOTO_CONFIG)
    sent = []

    def answer(request, **_):
        sent.append(request.url)
        return aws_errors.http_response(error, request.url, action="x:Y")

    client.meta.events.register_first("before-send", answer)
    method, params = CHEAP_CALL[error.service]
    with pytest.raises(Exception) as raised, aws.translate_errors():
        getattr(client, method)(**params)
    return raised.value, len(sent), sleeps.slept


@pytest.mark.parametrize("error", CATALOGUE, ids=[e.id for e in CATALOGUE])
def test_each_aws_error_ends_in_its_documented_class(error, monkeypatch):
    assert error.source  # where AWS documents it
    raised, requests, slept = _send(error, monkeypatch)
    assert error.code in str(raised), raised
    if error.kind == DENIED:
        assert type(raised) is AccessDenied, raised
        assert requests == 1 and slept == []  # a missing permission is not retried, by boto3 or by us
    else:
        assert type(raised) is Transient, raised
        assert requests == REQUESTS and len(slept) == REQUESTS - 1  # boto3 retried it first


def test_our_retry_lists_contain_botocores():
    """One retry policy: what boto3's standard mode retries is what we call transient once it gives up."""
    assert set(standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES) <= aws.THROTTLING_CODES
    assert set(standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES) <= aws.TRANSIENT_CODES
    assert min(standard.TransientRetryableChecker._TRANSIENT_STATUS_CODES) >= aws.SERVER_ERROR_STATUS


def test_every_service_the_layer_calls_has_each_kind_of_error_listed():
    called = set()
    for path in (ROOT / "layers/common/python/mskpair_core").glob("*.py"):
        called |= set(re.findall(r'client\("([a-z0-9-]+)"', path.read_text()))
    assert called and called <= set(CHEAP_CALL), called - set(CHEAP_CALL)
    missing = [(s, k) for s in called for k in KINDS if not aws_errors.errors(s, k)]
    assert not missing, missing


def test_a_denial_is_not_transient_even_when_the_call_names_it():
    """A call's own "not yet" codes never turn a denial into a retry."""
    error = aws_errors.first("ec2", DENIED)
    from botocore.exceptions import ClientError

    exc = ClientError({"Error": {"Code": error.code, "Message": "m"}}, "CreateSubnet")
    assert isinstance(aws.classify(exc, transient={error.code}), AccessDenied)


def test_a_validation_error_is_left_alone():
    from botocore.exceptions import ClientError

    exc = ClientError(
        {"Error": {"Code": "InvalidParameterValue", "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "CreateSubnet",
    )
    assert aws.classify(exc) is None
