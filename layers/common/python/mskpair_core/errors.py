"""The small set of named errors the state machine routes on.

A Lambda handler that raises one of these fails its task with the class name as
the Step Functions error name, so the ASL's Retry and Catch can tell them apart:

- ``InvalidInput``: the execution input breaks the contract. Never retried.
- ``Transient``: AWS throttled us after boto3's own retries, or answered with an
  eventual-consistency error (a resource made a moment ago not visible yet, an
  instance profile not yet usable). Retried by the ASL with backoff and jitter.
- ``ResourceInUse``: a delete refused because something that is itself going away
  still uses the resource (``DependencyViolation``: network interfaces of a
  deleted cluster linger for minutes). Retried by the ASL for a bounded time.
- ``AccessDenied``: AWS refused a call for lack of permission (EC2 ``UnauthorizedOperation``,
  IAM ``AccessDenied``, the others ``AccessDeniedException``). Never retried: goes to teardown,
  with the service's code and message (it names the action) as the cause.
- ``ResourceFailed``: a resource ended in a failed state (cluster ``FAILED``,
  peering ``failed``, an SSM command that failed). Not retried: goes to teardown.

Everything else (a validation error from AWS, a bug) is not retried
and goes to teardown. Messages never carry secret values.
"""

from __future__ import annotations


class MskPairError(Exception):
    """Base of the named errors."""


class InvalidInput(MskPairError):
    """The execution input breaks the contract; the message names the field."""


class Transient(MskPairError):
    """Throttling or eventual consistency: safe to retry the whole task."""


class ResourceInUse(MskPairError):
    """A delete refused while a dependent resource is still going away."""


class AccessDenied(MskPairError):
    """AWS refused the call: no policy allows it. Not retried."""


class ResourceFailed(MskPairError):
    """A resource reached a failed state."""


class Conflict(MskPairError):
    """Another execution is working on the same deployment."""


class ReplacementRequired(MskPairError):
    """The deployment exists and the request changes what only a replacement could change: nothing is touched."""


RETRIED_ERRORS = ("Transient", "ResourceInUse")
