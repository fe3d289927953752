"""Make moto's VPC peering behave like AWS's cross-region peering where the workflow depends on it.

AWS service: Amazon EC2 VPC peering connections across regions (moto's, made to behave like AWS's).
Sources: EC2 API Reference, CreateVpcPeeringConnection ("The VPC peering connection request expires
  after 7 days"; overlapping CIDR blocks give "a status of failed"), DeleteVpcPeeringConnection
  ("You cannot delete a VPC peering connection that's in the failed or rejected state"),
  VpcPeeringConnectionStateReason (the states), DescribeVpcPeeringConnections (its filters),
  "Error codes for the Amazon EC2 API" (InvalidVpcPeeringConnectionID.NotFound); Amazon VPC
  Peering Guide, "VPC peering connection lifecycle".

:func:`install` patches moto's model and response classes (no fork, no edit of site-packages);
:func:`uninstall` restores every original. Time is emulated: durations come from
:func:`msk_pair.emulator.profile.active` and "now" from :func:`msk_pair.emulator.clock.now`;
states are computed lazily when a connection is read, nothing sleeps.

Rules (what AWS does; "moto:" says what moto 5.2.5 did):

1. A cross-region (or cross-account) request is not visible in the accepter region for
   ``peering_visible`` seconds: DescribeVpcPeeringConnections there does not list it (and fails with
   ``InvalidVpcPeeringConnectionID.NotFound`` when asked for its id), AcceptVpcPeeringConnection,
   CreateTags and CreateRoute there fail with ``InvalidVpcPeeringConnectionID.NotFound``.
   moto: visible in both regions at once.
2. A request between VPCs with overlapping IPv4 CIDRs ends ``failed`` with AWS's status message
   (:data:`OVERLAP_MESSAGE`) instead of ``pending-acceptance``; a failed request never reaches the
   accepter region. :func:`fail_next_peering` makes the next request fail the same way (test hook).
   moto: overlapping CIDRs are accepted.
3. After acceptance the connection is ``provisioning`` for ``peering_activate`` seconds, then
   ``active``. moto: ``active`` at once.
4. A ``pending-acceptance`` request that nobody accepts ``expired`` after 7 days. moto: never.
5. A ``failed``, ``rejected``, ``expired`` or ``deleted`` connection cannot be deleted
   (``InvalidStateTransition``). moto: deletes anything again.
6. A route through a connection that is deleted (or failed, rejected, expired) is in state
   ``blackhole``. moto: every route is ``active``.
7. DescribeVpcPeeringConnections honours ``Filters`` (ids, status, requester/accepter VPC info, tags).
   moto: filters are ignored and every connection is listed.
8. Tags are per region: a cross-region connection shows, in each region, the tags made in that region
   (TagSpecifications in the requester region, CreateTags in the accepter region). moto: the
   requester's tags everywhere.
9. An unknown id fails with AWS's code ``InvalidVpcPeeringConnectionID.NotFound``. moto: ``...Id.NotFound``.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import threading
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, FilterNotImplementedError
from moto.ec2.models.route_tables import Route
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection, VPCPeeringConnectionBackend
from moto.ec2.responses.vpc_peering_connections import VPCPeeringConnections

from msk_pair.emulator import clock, profile
from msk_pair.emulator.patching import PatchSet

OVERLAP_MESSAGE = "Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range"
"""The status message AWS gives a peering request that failed (overlapping CIDRs among the causes)."""

EXPIRY_SECONDS = 7 * 24 * 3600.0  # AWS: an unaccepted request expires after 7 days
NOT_FOUND = "InvalidVpcPeeringConnectionID.NotFound"
DEAD_STATES = frozenset({"deleted", "deleting", "failed", "rejected", "expired"})
"""States in which a connection carries no traffic: routes through it are blackholes."""
UNDELETABLE_STATES = frozenset({"deleted", "failed", "rejected", "expired"})

_CREATED_AT = "_mskpair_created_at"  # pcx.__dict__ keys (emulated epoch seconds)
_VISIBLE_AT = "_mskpair_visible_at"  # when the accepter region sees a cross-region request
_HIDDEN = "_mskpair_hidden"  # a request that failed before it reached the accepter region
_ACTIVE_AT = "_mskpair_active_at"  # when a provisioning connection becomes active

_lock = threading.Lock()
_fail_next: list[str] = []


# -- test hooks ---------------------------------------------------------------------------------


def fail_next_peering(message: str = OVERLAP_MESSAGE) -> None:
    """The next CreateVpcPeeringConnection (any region) ends ``failed`` with ``message``."""
    with _lock:
        _fail_next.append(message)


def reset() -> None:
    """Forget queued failures (install/uninstall call it)."""
    with _lock:
        _fail_next.clear()


# -- lazy state -----------------------------------------------------------------------------------


def _settle(pcx: VPCPeeringConnection) -> VPCPeeringConnection:
    """Bring a connection to the calling thread's emulated now."""
    status = pcx._status
    now = clock.now()
    if status.code == "provisioning" and now >= pcx.__dict__.get(_ACTIVE_AT, 0.0):
        status.accept()
    elif status.code == "pending-acceptance" and now >= pcx.__dict__.get(_CREATED_AT, now) + EXPIRY_SECONDS:
        status.code, status.message = "expired", "Expired"
    return pcx


def status_of(pcx: VPCPeeringConnection) -> str:
    """A connection's status code, brought to the emulated now first while the emulator is installed."""
    if installed():
        _settle(pcx)  # provisioning -> active, pending-acceptance -> expired when due
    return pcx._status.code


def _is_requester_side(pcx: VPCPeeringConnection, backend: Any) -> bool:
    return backend.region_name == pcx.vpc.region and backend.account_id == pcx.vpc.owner_id


def _visible(pcx: VPCPeeringConnection, backend: Any) -> bool:
    if _is_requester_side(pcx, backend):
        return True
    if pcx.__dict__.get(_HIDDEN):
        return False
    visible_at = pcx.__dict__.get(_VISIBLE_AT)
    return visible_at is None or clock.now() >= visible_at


def _not_found(pcx_id: str) -> EC2ClientError:
    return EC2ClientError(NOT_FOUND, f"The vpcPeeringConnection ID '{pcx_id}' does not exist")


def _overlap(vpc: Any, peer_vpc: Any) -> bool:
    def blocks(v: Any) -> list[ipaddress.IPv4Network]:
        cidrs = {v.cidr_block, *(a.get("cidr_block") for a in v.get_cidr_block_association_set(ipv6=False))}
        return [ipaddress.IPv4Network(c) for c in cidrs if c]

    return any(a.overlaps(b) for a in blocks(vpc) for b in blocks(peer_vpc))


# -- the regional view of a connection (rule 8) -------------------------------------------------


class _RegionalView:
    """A connection as one region's DescribeVpcPeeringConnections shows it: with that region's tags."""

    def __init__(self, pcx: VPCPeeringConnection, backend: Any) -> None:
        self._pcx = pcx
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pcx, name)

    def get_tags(self) -> list[dict[str, str]]:
        return self._backend.describe_tags(filters={"resource-id": [self._pcx.id]})

    @property
    def tag_set(self) -> list[dict[str, str]]:
        return self.get_tags()

    tags = tag_list = tag_set

    def tag_dict(self) -> dict[str, str]:
        return {t["key"]: t["value"] for t in self.get_tags()}


def _filter_values(view: _RegionalView, name: str) -> list[str]:
    pcx = view._pcx
    sides = {"requester-vpc-info": pcx.vpc, "accepter-vpc-info": pcx.peer_vpc}
    if name == "vpc-peering-connection-id":
        return [pcx.id]
    if name == "status-code":
        return [pcx._status.code]
    if name == "status-message":
        return [pcx._status.message]
    if name.startswith("tag:"):
        value = view.tag_dict().get(name[4:])
        return [] if value is None else [value]
    if name == "tag-key":
        return list(view.tag_dict())
    if name == "tag-value":
        return list(view.tag_dict().values())
    side, _, field = name.partition(".")
    if side in sides and field in ("vpc-id", "cidr-block", "owner-id"):
        vpc = sides[side]
        return [{"vpc-id": vpc.id, "cidr-block": vpc.cidr_block, "owner-id": vpc.owner_id}[field]]
    raise FilterNotImplementedError(name, "DescribeVpcPeeringConnections")


def _matches(view: _RegionalView, filters: dict[str, list[str]]) -> bool:
    for name, wanted in filters.items():
        values = _filter_values(view, name)
        if not any(fnmatch.fnmatchcase(v, w) for v in values for w in wanted):
            return False
    return True


# -- patched backend methods ----------------------------------------------------------------------


def _create(
    self: VPCPeeringConnectionBackend, vpc: Any, peer_vpc: Any, tags: dict[str, str] | None = None
) -> VPCPeeringConnection:
    pcx = _orig(VPCPeeringConnectionBackend, "create_vpc_peering_connection")(self, vpc, peer_vpc, tags)
    now = clock.now()
    pcx.__dict__[_CREATED_AT] = now
    if vpc.region != peer_vpc.region or vpc.owner_id != peer_vpc.owner_id:
        pcx.__dict__[_VISIBLE_AT] = now + profile.active().peering_visible
    with _lock:
        message = _fail_next.pop(0) if _fail_next else None
    if message is None and _overlap(vpc, peer_vpc):
        message = OVERLAP_MESSAGE
    if message is not None:
        pcx._status.code, pcx._status.message = "failed", message
        pcx.__dict__[_HIDDEN] = True
    return pcx


def _get(self: VPCPeeringConnectionBackend, vpc_pcx_id: str) -> VPCPeeringConnection:
    pcx = self.vpc_pcxs.get(vpc_pcx_id)
    if pcx is None or not _visible(pcx, self):
        raise _not_found(vpc_pcx_id)
    return _settle(pcx)


def _describe(
    self: VPCPeeringConnectionBackend,
    vpc_peering_ids: list[str] | None = None,
    filters: dict[str, list[str]] | None = None,
) -> list[_RegionalView]:
    visible = [_settle(p) for p in list(self.vpc_pcxs.values()) if _visible(p, self)]
    if vpc_peering_ids:
        known = {p.id for p in visible}
        for pcx_id in vpc_peering_ids:
            if pcx_id not in known:
                raise _not_found(pcx_id)
        visible = [p for p in visible if p.id in vpc_peering_ids]
    views = [_RegionalView(p, self) for p in visible]
    return [v for v in views if _matches(v, filters or {})]


def _accept(self: VPCPeeringConnectionBackend, vpc_pcx_id: str) -> VPCPeeringConnection:
    pcx = _orig(VPCPeeringConnectionBackend, "accept_vpc_peering_connection")(self, vpc_pcx_id)
    delay = profile.active().peering_activate
    if delay > 0 and pcx._status.code == "active":
        pcx._status.code, pcx._status.message = "provisioning", "Provisioning"
        pcx.__dict__[_ACTIVE_AT] = clock.now() + delay
    return pcx


def _delete(self: VPCPeeringConnectionBackend, vpc_pcx_id: str) -> VPCPeeringConnection:
    pcx = self.get_vpc_peering_connection(vpc_pcx_id)
    if pcx._status.code in UNDELETABLE_STATES:
        raise EC2ClientError(
            "InvalidStateTransition",
            f"Invalid state transition for {vpc_pcx_id}, attempted to transition from {pcx._status.code} to deleting",
        )
    return _orig(VPCPeeringConnectionBackend, "delete_vpc_peering_connection")(self, vpc_pcx_id)


def _route_state(route: Route) -> str:
    pcx = route.vpc_pcx
    if pcx is not None and _settle(pcx)._status.code in DEAD_STATES:
        return "blackhole"
    return _orig(Route, "state").fget(route)


def _describe_response(response: VPCPeeringConnections) -> ActionResult:
    ids = response._get_param("VpcPeeringConnectionIds", [])
    filters = response._filters_from_querystring()
    pcxs = response.ec2_backend.describe_vpc_peering_connections(vpc_peering_ids=ids, filters=filters)
    return ActionResult({"VpcPeeringConnections": pcxs})


# -- install / uninstall ------------------------------------------------------------------------

_patches = PatchSet(
    [
        (VPCPeeringConnectionBackend, "create_vpc_peering_connection", _create),
        (VPCPeeringConnectionBackend, "get_vpc_peering_connection", _get),
        (VPCPeeringConnectionBackend, "describe_vpc_peering_connections", _describe),
        (VPCPeeringConnectionBackend, "accept_vpc_peering_connection", _accept),
        (VPCPeeringConnectionBackend, "delete_vpc_peering_connection", _delete),
        (Route, "state", property(_route_state)),
        (VPCPeeringConnections, "describe_vpc_peering_connections", _describe_response),
    ],
    on_install=reset,
    on_uninstall=reset,
)
_orig = _patches.original


def installed() -> bool:
    return _patches.installed


def install() -> None:
    """Patch moto to enforce the rules above. Idempotent."""
    _patches.install()


def uninstall() -> None:
    """Restore every patched moto attribute. Idempotent. Connections keep the state they show."""
    _patches.uninstall()
