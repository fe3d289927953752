"""AWS's own error responses: what each service the handlers call answers when it throttles, fails on its

AWS service: the error responses of every service the handlers call (EC2, MSK, KMS, Secrets Manager,
  SSM, IAM, STS, Step Functions, Resource Groups Tagging), in each one's wire protocol.
Sources: each service's API Reference, "Common errors" and each action's "Errors" section (URLs
  below, per entry); botocore's service models for protocols and HTTP statuses.

side, or denies a call for lack of permission, rendered in that service's wire protocol.

Used in two places, so that tests exercise the whole path a real error takes (botocore's parser, its
standard-mode retries, :func:`mskpair_core.aws.translate_errors`, the state machine's Retry and Catch):

- :class:`msk_pair.emulator.faults.FaultPlan` ``add_aws``: a fault injected *at the AWS call*, answered
  before moto sees the request (:func:`http_response`);
- :mod:`msk_pair.emulator.iam_enforcement`: a call a function's policy does not allow is refused with the
  service's own denial code and status (:func:`denial`, :func:`body`).

Each entry names where AWS documents it (or, where AWS's pages are silent on the wire form, a quoted AWS
response from a public report). Protocols and modeled errors are botocore's service models
(``botocore/data/<service>/<version>/service-2.json``, ``metadata.protocol`` and each error shape's
``httpStatusCode``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

THROTTLING, SERVER, DENIED = "throttling", "server", "denied"
KINDS = (THROTTLING, SERVER, DENIED)


@dataclass(frozen=True)
class AwsError:
    service: str  # the boto3 client name
    kind: str  # THROTTLING | SERVER | DENIED
    code: str
    status: int
    message: str
    source: str

    @property
    def id(self) -> str:
        return f"{self.service}-{self.kind}-{self.code}"


_EC2_ERRORS = "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html"
_IAM_ERRORS = "https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html"
_KMS_ERRORS = "https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html"
_SM_ERRORS = "https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html"
_SSM_ERRORS = "https://docs.aws.amazon.com/systems-manager/latest/APIReference/CommonErrors.html"
_MSK_ERRORS = "https://docs.aws.amazon.com/msk/1.0/apireference/clusters.html#clusters-response-examples"
_SFN_ERRORS = "https://docs.aws.amazon.com/step-functions/latest/apireference/CommonErrors.html"
_TAG_ERRORS = "https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html#API_GetResources_Errors"
_DENIED_MESSAGE = (
    "User: {principal} is not authorized to perform: {action} on resource: {resource} "
    "because no identity-based policy allows the {action} action"
)  # the form IAM's evaluation gives every service; quoted in each service's denial reports below

CATALOGUE: tuple[AwsError, ...] = (
    # -- Amazon EC2 (protocol "ec2"): client errors 4xx, server errors 5xx ("Error codes for the Amazon EC2 API")
    AwsError(
        "ec2",
        THROTTLING,
        "RequestLimitExceeded",
        503,
        "Request limit exceeded.",
        f"{_EC2_ERRORS} (RequestLimitExceeded); status 503 as AWS answers it: 'Request limit exceeded. "
        "(Service: AmazonEC2; Status Code: 503; Error Code: RequestLimitExceeded)', "
        "github.com/cloudfoundry/bosh-aws-cpi-release/issues/61",
    ),
    AwsError(
        "ec2", SERVER, "InternalError", 500, "An internal error has occurred.", f"{_EC2_ERRORS} (server error codes)"
    ),
    AwsError(
        "ec2",
        SERVER,
        "Unavailable",
        503,
        "The server is overloaded and can't handle the request.",
        f"{_EC2_ERRORS} (server error codes)",
    ),
    AwsError(
        "ec2",
        DENIED,
        "UnauthorizedOperation",
        403,
        "You are not authorized to perform this operation. " + _DENIED_MESSAGE,
        "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/query-api-troubleshooting.html#unauthorized-operation",
    ),
    # -- IAM (protocol "query")
    AwsError(
        "iam",
        THROTTLING,
        "Throttling",
        400,
        "Rate exceeded",
        f"{_IAM_ERRORS} (throttling); the code IAM answers is 'Throttling': 'An error occurred (Throttling) when "
        "calling the GetRole operation (reached max retries: 4): Rate exceeded', github.com/boto/botocore/issues/91",
    ),
    AwsError(
        "iam",
        SERVER,
        "ServiceFailure",
        500,
        "The request processing has failed because of an unknown error, exception or failure.",
        "botocore model iam ServiceFailureException: code ServiceFailure, httpStatusCode 500",
    ),
    AwsError(
        "iam",
        DENIED,
        "AccessDenied",
        403,
        _DENIED_MESSAGE,
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html "
        "('An error occurred (AccessDenied) when calling the ... operation: User: ... is not authorized to perform')",
    ),
    # -- AWS KMS (protocol "json")
    AwsError("kms", THROTTLING, "ThrottlingException", 400, "Rate exceeded", f"{_KMS_ERRORS} (ThrottlingException)"),
    AwsError(
        "kms",
        SERVER,
        "KMSInternalException",
        500,
        "An internal error occurred.",
        "https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html#API_CreateKey_Errors "
        "(KMSInternalException, 500)",
    ),
    AwsError("kms", DENIED, "AccessDeniedException", 400, _DENIED_MESSAGE, f"{_KMS_ERRORS} (AccessDeniedException)"),
    # -- AWS Secrets Manager (protocol "json")
    AwsError(
        "secretsmanager", THROTTLING, "ThrottlingException", 400, "Rate exceeded", f"{_SM_ERRORS} (ThrottlingException)"
    ),
    AwsError(
        "secretsmanager",
        SERVER,
        "InternalServiceError",
        500,
        "An error occurred on the server side.",
        "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html#API_CreateSecret_Errors "
        "(InternalServiceError, 500)",
    ),
    AwsError(
        "secretsmanager", DENIED, "AccessDeniedException", 400, _DENIED_MESSAGE, f"{_SM_ERRORS} (AccessDeniedException)"
    ),
    # -- AWS Systems Manager (protocol "json")
    AwsError(
        "ssm",
        THROTTLING,
        "ThrottlingException",
        400,
        "Rate exceeded",
        f"{_SSM_ERRORS} (ThrottlingException); botocore model ssm ThrottlingException",
    ),
    AwsError(
        "ssm",
        SERVER,
        "InternalServerError",
        500,
        "An error occurred on the server side.",
        "https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_SendCommand.html#API_SendCommand_Errors "
        "(InternalServerError, 500)",
    ),
    AwsError("ssm", DENIED, "AccessDeniedException", 400, _DENIED_MESSAGE, f"{_SSM_ERRORS} (AccessDeniedException)"),
    # -- Amazon MSK (protocol "rest-json": the error type in the x-amzn-ErrorType header)
    AwsError(
        "kafka",
        THROTTLING,
        "TooManyRequestsException",
        429,
        "Too Many Requests",
        f"{_MSK_ERRORS} (429 TooManyRequestsException); botocore model kafka TooManyRequestsException, 429",
    ),
    AwsError(
        "kafka",
        SERVER,
        "InternalServerErrorException",
        500,
        "There was an unexpected internal server error. Retrying your request might resolve the issue.",
        f"{_MSK_ERRORS} (500 InternalServerErrorException)",
    ),
    AwsError(
        "kafka",
        SERVER,
        "ServiceUnavailableException",
        503,
        "503 response",
        f"{_MSK_ERRORS} (503 ServiceUnavailableException)",
    ),
    AwsError(
        "kafka",
        DENIED,
        "AccessDeniedException",
        403,
        _DENIED_MESSAGE,
        "AWS's answer quoted in github.com/aws-controllers-k8s/community/issues/2464: 'StatusCode: 403, ... api "
        "error AccessDeniedException: User: xxx is not authorized to perform: kafka:CreateCluster on resource: *'",
    ),
    # -- AWS STS (protocol "query"): the emulator's IAM enforcement assumes roles through it
    AwsError(
        "sts",
        DENIED,
        "AccessDenied",
        403,
        _DENIED_MESSAGE,
        "https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html ('AccessDenied' when not allowed)",
    ),
    # -- AWS Step Functions (protocol "json")
    AwsError(
        "stepfunctions", THROTTLING, "ThrottlingException", 400, "Rate exceeded", f"{_SFN_ERRORS} (ThrottlingException)"
    ),
    AwsError(
        "stepfunctions",
        SERVER,
        "ServiceUnavailable",
        503,
        "The request has failed due to a temporary failure of the server.",
        f"{_SFN_ERRORS} (ServiceUnavailable, 503)",
    ),
    AwsError(
        "stepfunctions", DENIED, "AccessDeniedException", 400, _DENIED_MESSAGE, f"{_SFN_ERRORS} (AccessDeniedException)"
    ),
    # -- Resource Groups Tagging API (protocol "json")
    AwsError(
        "resourcegroupstaggingapi",
        THROTTLING,
        "ThrottledException",
        400,
        "Rate exceeded",
        f"{_TAG_ERRORS} (ThrottledException, 400)",
    ),
    AwsError(
        "resourcegroupstaggingapi",
        SERVER,
        "InternalServiceException",
        500,
        "The request processing failed because of an unknown error, exception, or failure.",
        f"{_TAG_ERRORS} (InternalServiceException, 500)",
    ),
    AwsError(
        "resourcegroupstaggingapi",
        DENIED,
        "AccessDeniedException",
        400,
        _DENIED_MESSAGE,
        "https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/CommonErrors.html "
        "(AccessDeniedException)",
    ),
)

# boto3 client name -> the service id in botocore's event names ("before-send.<id>.<Operation>"), and the
# name moto's authorizer knows the service by (its SigV4 signing name).
SERVICE_IDS = {
    "ec2": "ec2",
    "iam": "iam",
    "kms": "kms",
    "secretsmanager": "secrets-manager",
    "ssm": "ssm",
    "kafka": "kafka",
    "stepfunctions": "sfn",
    "resourcegroupstaggingapi": "resource-groups-tagging-api",
    "sts": "sts",
}
SIGNING_NAMES = {
    "ec2": "ec2",
    "iam": "iam",
    "kms": "kms",
    "secretsmanager": "secretsmanager",
    "ssm": "ssm",
    "kafka": "kafka",
    "states": "stepfunctions",
    "tagging": "resourcegroupstaggingapi",
    "sts": "sts",
}
_BY_SERVICE_ID = {v: k for k, v in SERVICE_IDS.items()}


def errors(service: str, kind: str) -> list[AwsError]:
    return [e for e in CATALOGUE if e.service == service and e.kind == kind]


def first(service: str, kind: str) -> AwsError:
    """The error a fault of ``kind`` answers for ``service`` (the first listed)."""
    found = errors(service, kind)
    if not found:
        raise KeyError(f"no {kind} error listed for {service}: add AWS's answer to aws_errors.CATALOGUE")
    return found[0]


def service_of_event(event_name: str) -> tuple[str, str]:
    """``before-send.secrets-manager.CreateSecret`` -> ("secretsmanager", "CreateSecret")."""
    _, service_id, operation = event_name.split(".", 2)
    return _BY_SERVICE_ID.get(service_id, service_id), operation


@cache
def protocol(service: str) -> str:
    """The wire protocol of ``service`` (botocore's service model, ``metadata.protocol``)."""
    return str(_botocore_session().get_service_model(service).metadata["protocol"])


@cache
def _botocore_session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def body(service: str, code: str, message: str) -> tuple[str, dict[str, str]]:
    """An error response body and headers as ``service``'s protocol carries them (what botocore's parser reads)."""
    request_id = str(uuid.uuid4())
    kind = protocol(service)
    if kind == "ec2":
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{_xml(message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
            {"Content-Type": "text/xml;charset=UTF-8"},
        )
    if kind == "query":
        return (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>",
            {"Content-Type": "text/xml", "x-amzn-RequestId": request_id},
        )
    if kind == "json":
        return (
            json.dumps({"__type": code, "message": message}),
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id},
        )
    if kind == "rest-json":
        return (
            json.dumps({"message": message}),
            {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id},
        )
    raise NotImplementedError(f"{service}: protocol {kind} not rendered")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def http_response(error: AwsError, url: str, **fields: str) -> Any:
    """A botocore ``AWSResponse`` carrying ``error`` as the service would send it."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    text, headers = body(error.service, error.code, _format(error.message, fields))
    return AWSResponse(url, error.status, headers, MockRawResponse(text))


def denial(signing_name: str) -> AwsError:
    """The error ``signing_name``'s service answers a call no policy allows."""
    return first(SIGNING_NAMES.get(signing_name, signing_name), DENIED)


def _format(message: str, fields: dict[str, str]) -> str:
    values = {"principal": "arn:aws:sts::123456789012:assumed-role/function", "action": "*", "resource": "*"}
    values.update(fields)
    return message.format(**values)
