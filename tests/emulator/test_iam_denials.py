"""The emulator's IAM enforcement refuses a call as each service does: its own code, status and wire form.

A function whose role allows nothing it asks for calls one API of every service the layer uses; each
refusal must be the one ``msk_pair.emulator.aws_errors`` cites for that service (EC2
``UnauthorizedOperation`` 403, IAM ``AccessDenied`` 403, MSK ``AccessDeniedException`` 403, KMS,
Secrets Manager, SSM, Step Functions and the Tagging API ``AccessDeniedException`` 400), parsed by
botocore from the service's protocol, and must end in ``AccessDenied`` (never ``Transient``) once
classified by the layer.
"""

from __future__ import annotations

import pytest

from msk_pair.emulator import aws_errors
from msk_pair.emulator import iam_enforcement as enforcement_mod
from msk_pair.emulator.iam_enforcement import enforced
from mskpair_core import aws
from mskpair_core.errors import AccessDenied
from tests.unit.test_error_classification import CHEAP_CALL

FUNCTION = "InputValidateFunction"
ALLOWS_NOTHING_CALLED = [
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}]}
]
SERVICES = sorted(s for s in CHEAP_CALL if s != "sts")


@pytest.fixture
def as_function(emu):
    with enforced(emu, {FUNCTION: ALLOWS_NOTHING_CALLED}) as enforcement:
        enforcement_mod._current.function = FUNCTION
        aws.reset_clients()
        try:
            yield enforcement
        finally:
            enforcement_mod._current.function = None


@pytest.mark.parametrize("service", SERVICES)
def test_a_call_no_policy_allows_is_refused_with_the_services_own_denial(as_function, service):
    expected = aws_errors.first(service, aws_errors.DENIED)
    method, params = CHEAP_CALL[service]
    call = getattr(aws.client(service, "us-east-1"), method)
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as raised:
        call(**params)
    response = raised.value.response
    assert response["Error"]["Code"] == expected.code, response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == expected.status, response
    assert "is not authorized to perform" in response["Error"]["Message"]
    assert isinstance(aws.classify(raised.value), AccessDenied)
    denied = [c for c in as_function.checks if not c.allowed]
    assert denied and denied[-1].function == FUNCTION
