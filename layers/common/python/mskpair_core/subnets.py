"""Carve a VPC's IPv4 CIDR into the subnets msk-pair makes: one public, three for brokers."""

from __future__ import annotations

import ipaddress
import itertools

SUBNET_COUNT = 4  # 1 public (client machine) + 3 broker subnets, one per availability zone
LARGEST_SUBNET_PREFIX = 24  # subnets are never bigger than a /24
SMALLEST_SUBNET_PREFIX = 28  # AWS's smallest subnet


def subnet_prefix(vpc_prefix: int) -> int:
    """The prefix length of each of the four subnets of a VPC with this prefix length."""
    return max(vpc_prefix + 2, LARGEST_SUBNET_PREFIX)


def plan_subnets(vpc_cidr: str) -> dict:
    """Split ``vpc_cidr`` into four equal subnets: ``{"public": cidr, "brokers": [cidr, cidr, cidr]}``.

    Each subnet has prefix ``max(vpc_prefix + 2, 24)``; the first is public, the next three hold the brokers.
    Raises ``ValueError`` if ``vpc_cidr`` is not an IPv4 network address or is too small for four /28 subnets.
    """
    try:
        network = ipaddress.ip_network(vpc_cidr, strict=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{vpc_cidr!r} is not a valid network CIDR: {exc}") from None
    if network.version != 4:
        raise ValueError(f"{vpc_cidr!r} is not an IPv4 CIDR")
    new_prefix = subnet_prefix(network.prefixlen)
    if new_prefix > SMALLEST_SUBNET_PREFIX:
        raise ValueError(
            f"{vpc_cidr} is too small for {SUBNET_COUNT} subnets: each would be a /{new_prefix}, "
            f"smaller than AWS's smallest subnet (/{SMALLEST_SUBNET_PREFIX}), "
            f"use a VPC CIDR of /{SMALLEST_SUBNET_PREFIX - 2} or larger"
        )
    subnets = [str(s) for s in itertools.islice(network.subnets(new_prefix=new_prefix), SUBNET_COUNT)]
    return {"public": subnets[0], "brokers": subnets[1:]}
