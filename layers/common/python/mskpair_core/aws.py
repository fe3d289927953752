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

from mskpair_core.errors import ResourceInUse, Transient

BOTO_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 6},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="msk-pair",
)

# botocore's standard mode treats these as throttling; we list them so that a
# throttle still failing after boto3's retries becomes ``Transient``.
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


@contextmanager
def translate_errors(
    transient: frozenset[str] | set[str] = frozenset(),
    in_use: frozenset[str] | set[str] = frozenset(),
) -> Iterator[None]:
    """Classify a failing AWS call.

    ``transient``: error codes that mean "not yet" for this call (eventual
    consistency); throttling codes are always transient. ``in_use``: codes that
    mean a dependent resource is still going away (raised as ``ResourceInUse``).
    """
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        operation = exc.operation_name
        message = exc.response.get("Error", {}).get("Message", "")
        if code in THROTTLING_CODES or code in transient:
            raise Transient(f"{operation}: {code}: {message}") from None
        if code in in_use:
            raise ResourceInUse(f"{operation}: {code}: {message}") from None
        raise
