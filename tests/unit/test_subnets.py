"""plan_subnets: four equal subnets carved from the VPC CIDR."""

from __future__ import annotations

import ipaddress

import pytest

from mskpair_core.subnets import plan_subnets


@pytest.mark.parametrize(
    ("vpc_cidr", "public", "brokers"),
    [
        ("10.0.0.0/16", "10.0.0.0/24", ["10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"]),
        ("172.31.0.0/16", "172.31.0.0/24", ["172.31.1.0/24", "172.31.2.0/24", "172.31.3.0/24"]),
        ("10.1.0.0/20", "10.1.0.0/24", ["10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"]),
        ("10.1.0.0/22", "10.1.0.0/24", ["10.1.1.0/24", "10.1.2.0/24", "10.1.3.0/24"]),
        ("192.168.0.0/23", "192.168.0.0/25", ["192.168.0.128/25", "192.168.1.0/25", "192.168.1.128/25"]),
        ("10.0.0.0/24", "10.0.0.0/26", ["10.0.0.64/26", "10.0.0.128/26", "10.0.0.192/26"]),
        ("10.0.0.0/25", "10.0.0.0/27", ["10.0.0.32/27", "10.0.0.64/27", "10.0.0.96/27"]),
        ("10.0.0.0/26", "10.0.0.0/28", ["10.0.0.16/28", "10.0.0.32/28", "10.0.0.48/28"]),
    ],
)
def test_plan_subnets(vpc_cidr: str, public: str, brokers: list[str]) -> None:
    assert plan_subnets(vpc_cidr) == {"public": public, "brokers": brokers}


@pytest.mark.parametrize("prefix", range(16, 27))
def test_subnets_are_disjoint_equal_and_inside_the_vpc(prefix: int) -> None:
    vpc = ipaddress.ip_network(f"10.0.0.0/{prefix}")
    plan = plan_subnets(str(vpc))
    subnets = [ipaddress.ip_network(c) for c in [plan["public"], *plan["brokers"]]]
    assert len({s.prefixlen for s in subnets}) == 1
    assert subnets[0].prefixlen == max(prefix + 2, 24)
    assert all(s.subnet_of(vpc) for s in subnets)
    assert all(not a.overlaps(b) for i, a in enumerate(subnets) for b in subnets[i + 1 :])


@pytest.mark.parametrize("vpc_cidr", ["10.0.0.0/27", "10.0.0.0/28", "10.0.0.0/32"])
def test_too_small(vpc_cidr: str) -> None:
    with pytest.raises(ValueError, match="too small"):
        plan_subnets(vpc_cidr)


@pytest.mark.parametrize("vpc_cidr", ["10.0.0.1/16", "nonsense", "10.0.0.0/33", "", "fd00::/48"])
def test_invalid(vpc_cidr: str) -> None:
    with pytest.raises(ValueError):
        plan_subnets(vpc_cidr)
