"""The plan: what a request would change in a deployment that already exists, before anything is touched.

A pair of MSK clusters is someone's disaster-recovery setup holding data. A run whose request
differs from what is deployed must never delete it: the first states read what exists (found by
tags, like teardown) and classify every field of the request:

- ``unchanged``: the deployed value;
- ``in-place``: a change MSK (or EC2) makes without replacing anything: more brokers per AZ
  (UpdateBrokerCount), more storage (UpdateBrokerStorage), another broker size MSK can move to
  (UpdateBrokerType), a Kafka version MSK lists as compatible (UpdateClusterKafkaVersion), another
  client instance type (the stateless client machine is relaunched);
- ``create``: a part that does not exist yet (a run that failed with RETAIN, say): made as usual;
- ``replace``: anything else (another region or VPC CIDR, fewer brokers, less storage, a smaller
  broker size, a Kafka version MSK will not upgrade to, another SCRAM user).

A request with any ``replace`` field is refused (:class:`~mskpair_core.errors.ReplacementRequired`)
naming each such field with its deployed and requested values, and nothing is touched.

The rules, with their AWS sources:
- UpdateBrokerCount (MSK API reference, clusters-clusterarn-nodes-count): msk-pair only adds brokers;
  removing them has preconditions MSK checks per broker (partitions moved away) that a workflow
  cannot guarantee.
- UpdateBrokerStorage (MSK developer guide, "Scale up Amazon MSK Standard broker storage"): "You can
  increase the amount of EBS storage per broker. You can't decrease the storage."; "Manual scaling for
  Standard brokers": the target must be greater than 100 GiB. (The six-hour cool-down between storage
  scaling events is MSK's to refuse at update time: the workflow reports it.)
- UpdateBrokerType (MSK developer guide, "Update the Amazon MSK cluster broker size"): "from M5 or T3
  to M7g, T3 to M5, or from M7g to M5"; "You can't migrate from a larger broker size to a smaller
  broker size." (catalog.broker_type_update_problem).
- UpdateClusterKafkaVersion: only to a version GetCompatibleKafkaVersions lists for the cluster.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from mskpair_core import catalog, cluster, network
from mskpair_core.aws import client, error_code, translate_errors
from mskpair_core.client_machine import IAM_REGION, client_role_name, find_clients
from mskpair_core.errors import ReplacementRequired
from mskpair_core.scram import SCRAM_USER_TAG, describe_own_secret
from mskpair_core.tags import REGIONS_TAG, tags_of

Change = Literal["unchanged", "in-place", "create", "replace"]
ROLES = ("primary", "secondary")
STORAGE_UPDATE_MIN_GIB = 100  # "must be greater than 100 GiB" (MSK developer guide, manual storage scaling)
# MSK's refusal, quoted in hashicorp/terraform-provider-aws#20327: "To update storage, you must increase it by at
# least 10 GiB."
STORAGE_UPDATE_MIN_STEP_GIB = 10


@dataclass
class Field:
    field: str  # the input field, as in the contract (``brokersPerAz``, ``primary.vpcCidr``...)
    deployed: Any
    requested: Any
    change: Change
    why: str = ""  # for in-place: how; for replace: why MSK cannot do it in place
    region: str | None = None  # the deployment's role the field was read in, for per-cluster fields


@dataclass
class Plan:
    deployment: str
    exists: bool
    fields: list[Field] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a run does that no field shows (replication)

    @property
    def replacements(self) -> list[Field]:
        return [f for f in self.fields if f.change == "replace"]

    @property
    def in_place(self) -> list[Field]:
        return [f for f in self.fields if f.change == "in-place"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "exists": self.exists,
            "fields": [asdict(f) for f in self.fields],
            "inPlace": [_label(f) for f in self.in_place],
            "replace": [_label(f) for f in self.replacements],
            "notes": list(self.notes),
        }

    def refusal(self) -> str:
        """The message of a request that needs replacements: each field, deployed and requested, and what to do."""
        parts = [
            f"{_label(f)}: deployed {_show(f.deployed)}, requested {_show(f.requested)}"
            + (f" ({f.why})" if f.why else "")
            for f in self.replacements
        ]
        return (
            f"deployment {self.deployment} exists and this request changes what cannot be changed in place: "
            + "; ".join(parts)
            + ". Nothing was changed. To go ahead, tear the deployment down first "
            f"(msk-pair teardown --deployment {self.deployment}, or start the state machine with "
            '"mode": "teardown"), then start again; or request the deployed values.'
        )


def _label(f: Field) -> str:
    return f"{f.field} ({f.region})" if f.region and not f.field.startswith(f.region) else f.field


def _show(value: Any) -> str:
    return "nothing" if value is None else repr(value) if isinstance(value, str) else str(value)


# -- what is deployed ---------------------------------------------------------------------------------


def _role_regions(deployment: str) -> list[str] | None:
    """The regions the deployment was made in, as its client role records them (IAM is global)."""
    iam = client("iam", IAM_REGION)
    try:
        with translate_errors():
            role = iam.get_role(RoleName=client_role_name(deployment))["Role"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    recorded = tags_of(role).get(REGIONS_TAG)
    return recorded.split() if recorded else None


def deployed_state(config: dict[str, Any]) -> dict[str, Any]:
    """What exists of ``config``'s deployment in the requested regions (found by tags)."""
    deployment = config["deploymentName"]
    state: dict[str, Any] = {"regions": _role_regions(deployment)}
    for role in ROLES:
        region = config[role]["region"]
        vpcs = network.find_vpcs(region, deployment, role)
        found = cluster.find_cluster(deployment=deployment, role=role, region=region)
        clients = find_clients(deployment=deployment, role=role, region=region)
        secret = describe_own_secret(deployment=deployment, region=region)
        side: dict[str, Any] = {
            "vpcCidr": vpcs[0]["CidrBlock"] if vpcs else None,
            "cluster": None,
            "clientInstanceType": clients[0]["InstanceType"] if clients else None,
            "scramUsername": tags_of(secret).get(SCRAM_USER_TAG) if secret else None,
        }
        if found is not None:
            side["cluster"] = {
                "clusterArn": found["ClusterArn"],
                "state": found["State"],
                **cluster.cluster_settings(found),
            }
        state[role] = side
    return state


def exists(state: dict[str, Any]) -> bool:
    return bool(state.get("regions")) or any(
        state[role][key] is not None for role in ROLES for key in ("vpcCidr", "cluster", "clientInstanceType")
    )


# -- the classification -------------------------------------------------------------------------------


def _compare(name: str, deployed: Any, requested: Any, region: str | None, in_place: tuple[bool, str]) -> Field:
    if deployed is None:
        return Field(name, None, requested, "create", "not made yet", region)
    if deployed == requested:
        return Field(name, deployed, requested, "unchanged", "", region)
    ok, why = in_place
    return Field(name, deployed, requested, "in-place" if ok else "replace", why, region)


def classify(config: dict[str, Any], state: dict[str, Any], compatible: dict[str, list[str]] | None = None) -> Plan:
    """The plan for ``config`` against ``state`` (:func:`deployed_state`). ``compatible``: per role, the Kafka
    versions MSK lists as upgrade targets of the deployed cluster (GetCompatibleKafkaVersions)."""
    compatible = compatible or {}
    plan = Plan(config["deploymentName"], exists(state))
    if not plan.exists:
        return plan
    requested_regions = [config[role]["region"] for role in ROLES]
    if state.get("regions") and state["regions"] != requested_regions:
        for role, deployed, requested in zip(ROLES, state["regions"], requested_regions, strict=False):
            plan.fields.append(
                _compare(f"{role}.region", deployed, requested, None, (False, "a deployment lives in its regions"))
            )
    for role in ROLES:
        side = state[role]
        plan.fields.append(
            _compare(
                f"{role}.vpcCidr",
                side["vpcCidr"],
                config[role]["vpcCidr"],
                None,
                (False, "a VPC's primary CIDR cannot change"),
            )
        )
        made = side["cluster"]
        if made is None:
            plan.fields.append(Field("cluster", None, "new", "create", "not made yet", role))
        else:
            plan.fields += _cluster_fields(config, made, role, compatible.get(role, []))
        plan.fields.append(
            _compare(
                "clientInstanceType",
                side["clientInstanceType"],
                config["clientInstanceType"],
                role,
                (True, "the client machine is relaunched with the new type (it holds no data)"),
            )
        )
        plan.fields.append(
            _compare(
                "scramUsername",
                side["scramUsername"],
                config["scramUsername"],
                role,
                (False, "the SCRAM user is the secret MSK and every client use: a new one is a new secret"),
            )
        )
    plan.notes.append(replication_note(config))
    return plan


def replication_note(config: dict[str, Any]) -> str:
    """What a run on an existing deployment does to MirrorMaker 2. Its configuration lives on the secondary
    client (mskpair_core.replication), not in a field the plan reads, so the plan says what the run will do."""
    if (config.get("replication") or {}).get("engine", "mm2") == "mm2":
        return (
            "replication: MirrorMaker 2's configuration is rendered again on the secondary client; the service "
            "restarts only if it differs from the running one (the same replication block changes nothing)"
        )
    return (
        "replication: engine none requested; a MirrorMaker 2 this deployment already runs keeps running "
        "(stop it on the secondary client: systemctl disable --now msk-pair-mm2, over SSM) until the teardown"
    )


def _cluster_fields(config: dict[str, Any], made: dict[str, Any], role: str, compatible: list[str]) -> list[Field]:
    out = []
    version, wanted = made["kafkaVersion"], config["kafkaVersion"]
    upgrade = (wanted in compatible, f"MSK lists {', '.join(compatible) or 'no version'} as compatible upgrades")
    if wanted in compatible:
        upgrade = (True, "UpdateClusterKafkaVersion")
    out.append(_compare("kafkaVersion", version, wanted, role, upgrade))
    current_type, wanted_type = made["brokerInstanceType"], config["brokerInstanceType"]
    problem = catalog.broker_type_update_problem(current_type, wanted_type)
    out.append(
        _compare(
            "brokerInstanceType", current_type, wanted_type, role, (problem is None, problem or "UpdateBrokerType")
        )
    )
    count, wanted_count = made["brokersPerAz"], config["brokersPerAz"]
    more = wanted_count > count
    out.append(
        _compare(
            "brokersPerAz",
            count,
            wanted_count,
            role,
            (more, "UpdateBrokerCount" if more else "msk-pair adds brokers in place, it does not remove them"),
        )
    )
    storage, wanted_storage = made["brokerStorageGiB"], config["brokerStorageGiB"]
    if wanted_storage >= storage + STORAGE_UPDATE_MIN_STEP_GIB and wanted_storage > STORAGE_UPDATE_MIN_GIB:
        grow = (True, "UpdateBrokerStorage")
    elif storage < wanted_storage < storage + STORAGE_UPDATE_MIN_STEP_GIB:
        grow = (False, f"MSK scales storage up by at least {STORAGE_UPDATE_MIN_STEP_GIB} GiB")
    elif wanted_storage < storage:
        grow = (False, "MSK cannot decrease broker storage")
    else:
        grow = (False, f"MSK scales storage up only to more than {STORAGE_UPDATE_MIN_GIB} GiB")
    out.append(_compare("brokerStorageGiB", storage, wanted_storage, role, grow))
    return out


def make_plan(config: dict[str, Any]) -> Plan:
    """Read what is deployed and classify the request (AWS calls: Describe/List only; nothing is changed)."""
    state = deployed_state(config)
    compatible: dict[str, list[str]] = {}
    for role in ROLES:
        made = state[role]["cluster"]
        if made is not None and made["kafkaVersion"] != config["kafkaVersion"]:
            compatible[role] = cluster.compatible_versions(
                region=config[role]["region"], cluster_arn=made["clusterArn"]
            )
    return classify(config, state, compatible)


def refuse_replacements(plan: Plan) -> None:
    if plan.replacements:
        raise ReplacementRequired(plan.refusal())


def plan_changes(config: dict[str, Any]) -> dict[str, Any]:
    """Plan changes, the second state: the plan of :func:`make_plan` as a dict (``{"exists", ...}``), or
    ``ReplacementRequired`` naming each field that would need one, before anything is made or deleted."""
    plan = make_plan(config)
    refuse_replacements(plan)
    return plan.to_dict()
