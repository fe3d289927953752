"""Cross-region VPC peering between the primary and the secondary network, its routes and rules.

The guide's "Connecting the Primary and Secondary AWS Regions", made safe to run twice:

1. :func:`request_peering` (primary region) finds the connection for the same VPC pair, or requests
   one with ``PeerRegion`` set, tagged on the requester side.
2. :func:`accept_peering` (secondary region) tags the accepter side and accepts it. A cross-region
   request is not visible in the accepter region for a while: that is :class:`Transient`.
3. :func:`peering_status` is the state machine's check between Wait states until ``active``.
4. :func:`route_and_allow` (once per region): the peer CIDR through the connection in every route
   table of the VPC, and the default security group admitting the peer CIDR on the given ports only.
5. :func:`delete_peering` (teardown) finds the deployment's connections by tags in both regions and
   deletes them (routes and rules go with the deployment's VPCs).

Nothing here sleeps: every wait is the state machine's Wait state around a call that returns.
Each call names the error codes that mean "not yet" for it (eventual consistency); throttling is
always transient (see :func:`mskpair_core.aws.translate_errors`); everything else is not retried.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from mskpair_core.aws import client, error_code, translate_errors
from mskpair_core.errors import ResourceFailed, Transient
from mskpair_core.tags import DEPLOYMENT_TAG, ec2_filters, tag_list, tag_specifications

LOG = logging.getLogger(__name__)

# AWS spells the code "InvalidVpcPeeringConnectionID.NotFound"; some SDK docs and moto spell "...Id...".
PEERING_NOT_FOUND = frozenset({"InvalidVpcPeeringConnectionID.NotFound", "InvalidVpcPeeringConnectionId.NotFound"})

LIVE_STATES = ("active", "provisioning", "pending-acceptance", "initiating-request")
"""States of a connection that is, or is becoming, usable; in order of preference when several exist."""
FAILED_STATES = frozenset({"failed", "rejected", "expired"})
"""Terminal failures: AWS cannot delete these (they vanish on their own after a while)."""
GONE_STATES = frozenset({"deleted"})
ACCEPTED_STATES = frozenset({"provisioning", "active"})

# Errors of the networks' own resources just made (eventual consistency of EC2's control plane).
NETWORK_NOT_YET_VISIBLE = frozenset({"InvalidVpcID.NotFound", "InvalidRouteTableID.NotFound", "InvalidGroup.NotFound"})

RULE_DESCRIPTION_PREFIX = "msk-pair"


def _name(deployment: str) -> str:
    return f"{deployment}-peering"


def _status(pcx: dict[str, Any]) -> tuple[str, str]:
    status = pcx.get("Status", {})
    return str(status.get("Code", "")), str(status.get("Message", ""))


def _result(pcx: dict[str, Any]) -> dict[str, str]:
    return {"vpcPeeringConnectionId": pcx["VpcPeeringConnectionId"], "status": _status(pcx)[0]}


def _failed(pcx_id: str, code: str, message: str) -> ResourceFailed:
    return ResourceFailed(f"VPC peering connection {pcx_id} is {code}: {message or 'no status message'}")


def _describe(ec2: Any, **kwargs: Any) -> list[dict[str, Any]]:
    paginator = ec2.get_paginator("describe_vpc_peering_connections")
    return [pcx for page in paginator.paginate(**kwargs) for pcx in page["VpcPeeringConnections"]]


def _describe_one(ec2: Any, peering_id: str) -> dict[str, Any] | None:
    """The connection as this region sees it, or None if this region does not see it (yet, or any more)."""
    try:
        found = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[peering_id])["VpcPeeringConnections"]
    except ClientError as exc:
        if error_code(exc) in PEERING_NOT_FOUND:
            return None
        raise
    return found[0] if found else None


def _has_tag(resource: dict[str, Any], key: str, value: str) -> bool:
    return any(t.get("Key") == key and t.get("Value") == value for t in resource.get("Tags", []))


# -- request / accept / status ---------------------------------------------------------------------


def find_pair(region: str, requester_vpc_id: str, accepter_vpc_id: str) -> dict[str, Any] | None:
    """The live connection requested from ``requester_vpc_id`` to ``accepter_vpc_id``, seen from ``region``."""
    ec2 = client("ec2", region)
    with translate_errors():  # a filtered Describe has no "not found": only throttling is transient
        found = _describe(
            ec2,
            Filters=[
                {"Name": "requester-vpc-info.vpc-id", "Values": [requester_vpc_id]},
                {"Name": "accepter-vpc-info.vpc-id", "Values": [accepter_vpc_id]},
                {"Name": "status-code", "Values": list(LIVE_STATES)},
            ],
        )
    # Checked again here: filters are the service's, the contract is ours.
    live = [
        p
        for p in found
        if p.get("RequesterVpcInfo", {}).get("VpcId") == requester_vpc_id
        and p.get("AccepterVpcInfo", {}).get("VpcId") == accepter_vpc_id
        and _status(p)[0] in LIVE_STATES
    ]
    live.sort(key=lambda p: LIVE_STATES.index(_status(p)[0]))
    return live[0] if live else None


def request_peering(*, deployment: str, primary: dict[str, Any], secondary: dict[str, Any]) -> dict[str, str]:
    """Request (or find) the peering connection from the primary VPC to the secondary VPC.

    Returns ``{"vpcPeeringConnectionId", "status"}``; the status is ``initiating-request`` right after a
    request (AWS reports ``failed`` a moment later if the CIDRs overlap: :func:`peering_status` tells).
    """
    region = primary["region"]
    existing = find_pair(region, primary["vpcId"], secondary["vpcId"])
    ec2 = client("ec2", region)
    if existing is not None:
        if not _has_tag(existing, DEPLOYMENT_TAG, deployment):
            # Found but not findable by teardown (tagging lost): tag it now, idempotently.
            with translate_errors(transient=PEERING_NOT_FOUND):
                ec2.create_tags(
                    Resources=[existing["VpcPeeringConnectionId"]],
                    Tags=tag_list(deployment, "primary", _name(deployment)),
                )
        LOG.info("found VPC peering %s (%s)", existing["VpcPeeringConnectionId"], _status(existing)[0])
        return _result(existing)
    # InvalidVpcID.NotFound: a VPC made a moment ago may not be visible to this call yet (either region).
    with translate_errors(transient=NETWORK_NOT_YET_VISIBLE):
        pcx = ec2.create_vpc_peering_connection(
            VpcId=primary["vpcId"],
            PeerVpcId=secondary["vpcId"],
            PeerRegion=secondary["region"],
            TagSpecifications=tag_specifications("vpc-peering-connection", deployment, "primary", _name(deployment)),
        )["VpcPeeringConnection"]
    LOG.info("requested VPC peering %s (%s -> %s)", pcx["VpcPeeringConnectionId"], region, secondary["region"])
    return _result(pcx)


def accept_peering(
    *, deployment: str, secondary: dict[str, Any], peering_id: str, requester_region: str | None = None
) -> dict[str, str]:
    """Tag the accepter side and accept the connection in the secondary region. Idempotent.

    - not visible in the secondary region yet: :class:`Transient` (a cross-region request takes a while
      to reach the accepter region); if ``requester_region`` is given, the requester side is read
      first, so a request that failed there (it never reaches the accepter) raises ``ResourceFailed``
      instead of being retried until the retries run out;
    - ``initiating-request``: :class:`Transient`;
    - ``pending-acceptance``: tagged (role ``secondary``) and accepted;
    - ``provisioning`` / ``active``: tagged, nothing else to do;
    - ``failed`` / ``rejected`` / ``expired`` / ``deleted``: :class:`ResourceFailed` with the status message.
    """
    region = secondary["region"]
    ec2 = client("ec2", region)
    with translate_errors():
        pcx = _describe_one(ec2, peering_id)
    if pcx is None:
        if requester_region:
            with translate_errors():
                requested = _describe_one(client("ec2", requester_region), peering_id)
            if requested is not None:
                code, message = _status(requested)
                if code in FAILED_STATES or code in GONE_STATES:
                    raise _failed(peering_id, code, message)
        raise Transient(f"VPC peering connection {peering_id} is not visible in {region} yet")
    code, message = _status(pcx)
    if code in FAILED_STATES or code in GONE_STATES:
        raise _failed(peering_id, code, message)
    if code == "initiating-request":
        raise Transient(f"VPC peering connection {peering_id} is still {code} in {region}")
    if pcx.get("AccepterVpcInfo", {}).get("VpcId") != secondary["vpcId"]:
        raise RuntimeError(
            f"VPC peering connection {peering_id} goes to {pcx.get('AccepterVpcInfo', {}).get('VpcId')}, "
            f"not to the secondary VPC {secondary['vpcId']}"
        )
    # Tag first, so teardown finds the accepter side by tags even if we stop right after accepting.
    # NotFound: the request just became visible to Describe; CreateTags may lag behind it.
    if not _has_tag(pcx, DEPLOYMENT_TAG, deployment):
        with translate_errors(transient=PEERING_NOT_FOUND):
            ec2.create_tags(Resources=[peering_id], Tags=tag_list(deployment, "secondary", _name(deployment)))
    if code == "pending-acceptance":
        try:
            # NotFound: as for CreateTags. Not retried by us otherwise: a refused accept is a real error.
            with translate_errors(transient=PEERING_NOT_FOUND):
                accepted = ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=peering_id)
            code = _status(accepted["VpcPeeringConnection"])[0] or "provisioning"
            LOG.info("accepted VPC peering %s in %s (%s)", peering_id, region, code)
        except ClientError as exc:
            if error_code(exc) != "InvalidStateTransition":
                raise
            # Someone (a retry of this task) accepted it meanwhile, or it failed meanwhile: read again.
            with translate_errors():
                again = _describe_one(ec2, peering_id)
            code, message = _status(again) if again else ("deleted", "not visible any more")
            if code not in ACCEPTED_STATES:
                raise _failed(peering_id, code, message) from None
    return {"vpcPeeringConnectionId": peering_id, "status": code}


def peering_status(*, region: str, peering_id: str) -> dict[str, str]:
    """``{"status", "message"}`` of the connection as ``region`` sees it, for the state machine's wait loop.

    Not visible in ``region`` (yet): :class:`Transient`. ``failed`` / ``rejected`` / ``expired`` /
    ``deleted``: :class:`ResourceFailed` with AWS's status message, so a Catch sends it to teardown.
    """
    with translate_errors():
        pcx = _describe_one(client("ec2", region), peering_id)
    if pcx is None:
        raise Transient(f"VPC peering connection {peering_id} is not visible in {region} yet")
    code, message = _status(pcx)
    if code in FAILED_STATES or code in GONE_STATES:
        raise _failed(peering_id, code, message)
    return {"status": code, "message": message}


# -- routes and rules -------------------------------------------------------------------------------


def rule_description(peering_id: str, deployment: str | None = None) -> str:
    """The Description of a security group rule we add: names the peering (and the deployment)."""
    owner = f"{RULE_DESCRIPTION_PREFIX} {deployment}" if deployment else RULE_DESCRIPTION_PREFIX
    return f"{owner} peer via {peering_id}"


def _vpc_route_tables(ec2: Any, vpc_id: str) -> list[dict[str, Any]]:
    paginator = ec2.get_paginator("describe_route_tables")
    pages = paginator.paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return [table for page in pages for table in page["RouteTables"]]


def _default_group(ec2: Any, vpc_id: str) -> dict[str, Any] | None:
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    return groups[0] if groups else None


def _cidr_rules(group: dict[str, Any], cidr: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(permission, ip range) pairs of the group's ingress rules that admit exactly ``cidr``."""
    return [
        (perm, ip_range)
        for perm in group.get("IpPermissions", [])
        for ip_range in perm.get("IpRanges", [])
        if ip_range.get("CidrIp") == cidr
    ]


def _single_rule(perm: dict[str, Any], ip_range: dict[str, Any]) -> dict[str, Any]:
    rule = {"IpProtocol": perm["IpProtocol"], "IpRanges": [{"CidrIp": ip_range["CidrIp"]}]}
    for key in ("FromPort", "ToPort"):
        if key in perm:
            rule[key] = perm[key]
    return rule


def route_and_allow(
    *, peering_id: str, local: dict[str, Any], peer: dict[str, Any], ports: list[int], deployment: str | None = None
) -> dict[str, Any]:
    """Route ``peer``'s CIDR through the peering in every route table of ``local``'s VPC, and admit it.

    Runs in ``local``'s region. Every route table of the VPC (found by Describe, not only those in the
    network dict) gets ``peer CIDR -> peering_id``: a route already there with that target is kept, one with
    another target (a blackhole left by an old peering) is replaced. The VPC's default security group
    admits the peer CIDR on exactly ``ports`` (TCP), one rule per port; rules of ours (Description
    starting ``msk-pair``) for the peer CIDR on other ports are revoked, rules that a user made are left
    alone. Returns what it did.
    """
    region, vpc_id, peer_cidr = local["region"], local["vpcId"], peer["vpcCidr"]
    ec2 = client("ec2", region)
    wanted_ports = sorted({int(p) for p in ports})
    routes: dict[str, list[str]] = {"created": [], "replaced": [], "kept": []}
    rules: dict[str, list[int]] = {"added": [], "kept": [], "revoked": []}

    # InvalidRouteTableID.NotFound / InvalidVpcID.NotFound: the network was made a moment ago.
    # InvalidVpcPeeringConnectionID.NotFound: the connection is not visible in this region yet.
    transient = NETWORK_NOT_YET_VISIBLE | PEERING_NOT_FOUND
    with translate_errors(transient=transient):
        tables = _vpc_route_tables(ec2, vpc_id)
        expected = {t for t in local.get("routeTables", {}).values() if t}
        missing = expected - {t["RouteTableId"] for t in tables}
        if missing:
            raise Transient(f"route tables {sorted(missing)} of {vpc_id} are not visible in {region} yet")
        for table in tables:
            table_id = table["RouteTableId"]
            route = next((r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == peer_cidr), None)
            if route is not None and route.get("VpcPeeringConnectionId") == peering_id:
                routes["kept"].append(table_id)
                continue
            if route is None:
                try:
                    ec2.create_route(
                        RouteTableId=table_id, DestinationCidrBlock=peer_cidr, VpcPeeringConnectionId=peering_id
                    )
                    routes["created"].append(table_id)
                    continue
                except ClientError as exc:
                    if error_code(exc) != "RouteAlreadyExists":  # made meanwhile (a retry): replace it below
                        raise
            ec2.replace_route(RouteTableId=table_id, DestinationCidrBlock=peer_cidr, VpcPeeringConnectionId=peering_id)
            routes["replaced"].append(table_id)

        group = _default_group(ec2, vpc_id)
        if group is None:
            raise Transient(f"the default security group of {vpc_id} is not visible in {region} yet")
        group_id = group["GroupId"]
        present: set[int] = set()
        for perm, ip_range in _cidr_rules(group, peer_cidr):
            port = perm.get("FromPort")
            if perm.get("IpProtocol") == "tcp" and port == perm.get("ToPort") and port in wanted_ports:
                present.add(port)
                continue
            if not ip_range.get("Description", "").startswith(RULE_DESCRIPTION_PREFIX):
                continue  # not ours (a rule a user made): never removed by us
            # Ours, from a run with other ports: revoke it, the peer CIDR gets exactly ``ports``.
            try:
                ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[_single_rule(perm, ip_range)])
                rules["revoked"].append(perm.get("FromPort", -1))
            except ClientError as exc:
                if error_code(exc) != "InvalidPermission.NotFound":
                    raise
        description = rule_description(peering_id, deployment)
        for port in wanted_ports:
            if port in present:
                rules["kept"].append(port)
                continue
            try:
                ec2.authorize_security_group_ingress(
                    GroupId=group_id,
                    IpPermissions=[
                        {
                            "IpProtocol": "tcp",
                            "FromPort": port,
                            "ToPort": port,
                            "IpRanges": [{"CidrIp": peer_cidr, "Description": description}],
                        }
                    ],
                )
                rules["added"].append(port)
            except ClientError as exc:
                if error_code(exc) != "InvalidPermission.Duplicate":  # added meanwhile: same rule, fine
                    raise
                rules["kept"].append(port)
    LOG.info("peering %s in %s: routes %s, rules %s", peering_id, region, routes, rules)
    return {
        "region": region,
        "vpcId": vpc_id,
        "peerCidr": peer_cidr,
        "securityGroupId": group_id,
        "routes": routes,
        "rules": rules,
    }


# -- teardown ---------------------------------------------------------------------------------------


def delete_peering(
    *, deployment: str, primary_region: str, secondary_region: str, made_by: str | None = None
) -> dict[str, Any]:
    """Delete the deployment's peering connections, found by tags in both regions. Safe to run again.

    Routes and rules go with the deployment's VPCs (both VPCs of a peering are always the deployment's:
    route and rule changes are allowed only in tagged VPCs, see template.yaml). Each live connection is
    deleted from its requester region (the only side that may delete a request still pending
    acceptance), or from the accepter side if the requester side does not see it.
    ``failed`` / ``rejected`` / ``expired`` connections cannot be deleted on AWS (they disappear on their
    own) and do not count. Returns ``{"remaining": n, "done": bool, ...}``: connections not deleted yet;
    the state machine waits and calls again until done. ``made_by``: only connections that execution made.
    """
    regions = list(dict.fromkeys([primary_region, secondary_region]))
    found: dict[str, dict[str, Any]] = {}
    for region in regions:
        with translate_errors():
            for pcx in _describe(client("ec2", region), Filters=ec2_filters(deployment, made_by=made_by)):
                if _has_tag(pcx, DEPLOYMENT_TAG, deployment):
                    found.setdefault(pcx["VpcPeeringConnectionId"], pcx)

    deleted: list[str] = []
    remaining = 0
    for pcx_id, pcx in found.items():
        requester, accepter = pcx.get("RequesterVpcInfo", {}), pcx.get("AccepterVpcInfo", {})
        code = _status(pcx)[0]
        if code in FAILED_STATES or code in GONE_STATES:
            continue
        delete_from = [r for r in dict.fromkeys([requester.get("Region"), accepter.get("Region")]) if r]
        for region in delete_from:
            ec2 = client("ec2", region)
            try:
                with translate_errors():
                    ec2.delete_vpc_peering_connection(VpcPeeringConnectionId=pcx_id)
                deleted.append(pcx_id)
                break
            except ClientError as exc:
                # NotFound: this side does not see it (any more, or yet): try the other side.
                # InvalidStateTransition: it changed state meanwhile (deleting, failed): read it below.
                if error_code(exc) not in PEERING_NOT_FOUND | {"InvalidStateTransition"}:
                    raise
        now = None
        for region in delete_from:
            with translate_errors():
                now = _describe_one(client("ec2", region), pcx_id)
            if now is not None:
                break
        if now is not None and _status(now)[0] not in FAILED_STATES | GONE_STATES:
            remaining += 1
    LOG.info("peering teardown of %s: deleted %s, remaining %d", deployment, deleted, remaining)
    return {"remaining": remaining, "deleted": deleted, "found": sorted(found), "done": remaining == 0}
