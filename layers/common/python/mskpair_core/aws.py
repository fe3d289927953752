"""boto3 clients with one retry configuration, and AWS error classification.

Every client is made here with botocore's *standard* retry mode: it retries
throttling and transient service errors itself, with exponential backoff and
jitter. What is still failing after that surfaces as a ``ClientError``;
:func:`translate_errors` turns throttling and the eventual-consistency codes a
call names into :class:`~mskpair_core.errors.Transient` (retried by the state
machine) and leaves the rest alone (not retried: teardown).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from mskpair_core.errors import AccessDenied, ResourceInUse, Transient

BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 6},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="msk-pair",
)

# The classification of a failing call, after botocore's own retries (standard mode:
# botocore/retries/standard.py). Sources per entry; tests/unit/test_error_classification.py sends each
# service's real error response through a real client and checks the class it ends in.

# Throttling: botocore's standard-mode list (ThrottledRetryableChecker._THROTTLED_ERROR_CODES), which
# covers the codes the services we call answer: EC2 RequestLimitExceeded; IAM and STS Throttling; KMS,
# Secrets Manager, SSM and Step Functions ThrottlingException; MSK TooManyRequestsException (429);
# the Tagging API ThrottledException. Still throttled after boto3's retries: ``Transient``.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)

# A server-side failure: botocore's standard mode retries these HTTP statuses
# (TransientRetryableChecker._TRANSIENT_STATUS_CODES) and these codes (_TRANSIENT_ERROR_CODES); still
# failing after its retries, the state machine retries the task later (``Transient``). Every 5xx counts:
# EC2's "server error codes" come with a 5xx status (EC2 API reference, "Error codes"), and every
# service's InternalFailure/ServiceUnavailable is 500/503 (the services' "Common Errors" pages).
SERVER_ERROR_STATUS = 500
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})

# A call no policy allows: each service's own code (msk_pair/emulator/aws_errors.py cites each): EC2
# UnauthorizedOperation, IAM and STS AccessDenied, KMS, Secrets Manager, SSM, MSK, Step Functions and the
# Tagging API AccessDeniedException. Never transient: retrying a missing permission cannot succeed, and
# the error must say what it is (``AccessDenied``, the code and AWS's message naming the action).
ACCESS_DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException"})

_clients: dict[tuple[str, str, int], Any] = {}
_lock = threading.Lock()
_session: boto3.session.Session | None = None


def client(service: str, region: str) -> Any:
    """A cached boto3 client for ``service`` in ``region`` with the standard retry config."""
    global _session
    key = (service, region, _generation)
    with _lock:
        found = _clients.get(key)
        if found is None:
            # One session for the process: it caches the service models, so a client is cheap to make.
            # boto3 sessions are not thread-safe: clients are made under the lock.
            if _session is None:
                _session = boto3.session.Session()
            found = _session.client(service, region_name=region, config=BOTO_CONFIG)
            _clients[key] = found
        return found


_generation = 0


def reset_clients() -> None:
    """Forget cached clients (the emulator calls this when it starts or changes credentials)."""
    global _generation
    with _lock:
        _clients.clear()
        _generation += 1


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def delete_if_present(gone: frozenset[str] | set[str], call: Any, **kwargs: Any) -> bool:
    """Run a delete; a resource already gone (an error code in ``gone``) counts as deleted.

    Returns whether the call deleted something. Every teardown step relies on this to be
    safe to run twice and to finish what a crashed attempt left half done.
    """
    try:
        call(**kwargs)
        return True
    except ClientError as exc:
        if error_code(exc) in gone:
            return False
        raise


def classify(
    exc: ClientError,
    transient: frozenset[str] | set[str] = frozenset(),
    in_use: frozenset[str] | set[str] = frozenset(),
) -> Exception | None:
    """The named error a failed call becomes, or None to let it go unchanged (not retried).

    Denied first: a permission is never "not yet". Then throttling, a server error (5xx) or a
    timeout code, and the codes the call names as ``transient`` (eventual consistency): ``Transient``.
    ``in_use``: a dependent resource still going away: ``ResourceInUse``.
    """
    code = error_code(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    what = f"{exc.operation_name}: {code}: {exc.response.get('Error', {}).get('Message', '')}"
    if code in ACCESS_DENIED_CODES:
        return AccessDenied(what)
    if code in THROTTLING_CODES or code in TRANSIENT_CODES or status >= SERVER_ERROR_STATUS or code in transient:
        return Transient(what)
    if code in in_use:
        return ResourceInUse(what)
    return None


@contextmanager
def translate_errors(
    transient: frozenset[str] | set[str] = frozenset(),
    in_use: frozenset[str] | set[str] = frozenset(),
) -> Iterator[None]:
    """Classify a failing AWS call (:func:`classify`).

    ``transient``: error codes that mean "not yet" for this call (eventual
    consistency); throttling and server errors are always transient, a denial
    never. ``in_use``: codes that mean a dependent resource is still going away
    (raised as ``ResourceInUse``). Every handler runs inside one of these
    (:func:`mskpair_core.observability.task`), so no AWS error reaches the state
    machine unclassified.
    """
    try:
        yield
    except ClientError as exc:
        named = classify(exc, transient, in_use)
        if named is None:
            raise
        raise named from None
