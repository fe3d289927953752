"""How long emulated AWS takes: the latency profile.

AWS service: none; how long emulated AWS operations take, in emulated seconds.
Sources: none for the values: they are magnitudes, not rules (the workflow polls every wait, so
  nothing depends on an exact duration).

Every duration the emulator models is a field here, in emulated seconds. The
defaults are AWS-like; tests and the benchmark load other values from a JSON
file (``--profile FILE``) or pass overrides. Time is emulated (see clock.py),
so a 40-minute cluster costs no real time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LatencyProfile:
    # IAM: a new instance profile is not usable by EC2 for a while.
    instance_profile_propagation: float = 10.0
    # EC2 instances.
    instance_start: float = 60.0
    instance_terminate: float = 60.0
    # MSK.
    cluster_create: float = 40 * 60.0
    cluster_delete: float = 15 * 60.0
    # An in-place update (UpdateBrokerCount, UpdateBrokerStorage, UpdateBrokerType,
    # UpdateClusterKafkaVersion): how long the cluster is UPDATING. MSK rolls brokers one at a
    # time, so real updates take tens of minutes; one figure stands for all four here.
    cluster_update: float = 25 * 60.0
    # Network interfaces of a deleted cluster linger after it is gone.
    cluster_eni_linger: float = 5 * 60.0
    # SSM.
    ssm_registration: float = 2 * 60.0
    ssm_command: float = 3 * 60.0
    # VPC peering: how long before the accepter region sees the request, and
    # how long from acceptance to active.
    peering_visible: float = 30.0
    peering_activate: float = 10.0
    # MirrorMaker 2 (emulator/kafka.py): from systemctl start to replicating (JVM, connectors, first
    # metadata), and how long a record takes from the source log to the target log once replicating.
    mm2_start: float = 30.0
    mm2_replication_delay: float = 1.0

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> LatencyProfile:
        values: dict[str, Any] = {}
        if path:
            raw = json.loads(Path(path).read_text())
            known = {f.name for f in fields(cls)}
            unknown = set(raw) - known - {"_comment"}
            if unknown:
                raise ValueError(f"unknown latency profile fields: {sorted(unknown)}")
            values.update({k: float(v) for k, v in raw.items() if k in known})
        values.update(overrides)
        return replace(cls(), **values)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


FAST = LatencyProfile(
    instance_profile_propagation=10.0,
    instance_start=30.0,
    instance_terminate=30.0,
    cluster_create=5 * 60.0,
    cluster_delete=2 * 60.0,
    cluster_update=3 * 60.0,
    cluster_eni_linger=60.0,
    ssm_registration=60.0,
    ssm_command=60.0,
    peering_visible=20.0,
    peering_activate=10.0,
    mm2_start=10.0,
    mm2_replication_delay=1.0,
)
"""What the test suite uses: short emulated durations mean fewer Wait polls per run."""

_active = LatencyProfile()


def active() -> LatencyProfile:
    return _active


def set_active(profile: LatencyProfile) -> None:
    global _active
    _active = profile
