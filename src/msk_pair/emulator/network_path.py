"""Emulated TCP reachability: could this EC2 instance open a TCP connection to that MSK broker on AWS?

AWS service: Amazon VPC and Amazon EC2 networking: whether an instance can open a TCP connection to
  an MSK broker.
Sources: Amazon VPC Peering Guide, "Update your route tables for a VPC peering connection" and
  "Update your security groups to reference peer security groups" ("You can't reference the
  security group of a peer VPC that's in a different Region. Instead, use the CIDR block of the
  peer VPC."); Amazon VPC User Guide, "Route priority" (longest prefix match) and "Security
  groups".

The SSM emulator (:mod:`msk_pair.emulator.ssm`) asks this module, when an invocation finishes, whether
the brokers its script connects to are reachable from the instance; if one is not, the invocation ends
``Failed`` as the script would on AWS. Without it every command succeeded whatever the network looked
like, and the workflow's verification step proved nothing about routes or security groups.

What is checked, for instance I (in region R) and broker ``host:port``, from the emulated network state
at the moment it is asked (moto's backends; nothing is cached here):

0. I is running: a terminated (or stopped) instance reaches nothing; its primary network interface is
   deleted with it (EC2 User Guide, "Elastic network interfaces").
1. The host is a broker of an emulated MSK cluster: ``b-<n>.<cluster name>.<id>.c2.kafka.<region>
   .amazonaws.com`` (the shape :mod:`msk_pair.emulator.msk` gives) names a cluster of that name and id
   in that region, the cluster is ``ACTIVE``, and broker ``n``'s network interface (the n-th one msk.py
   made for it) still exists: its subnet, private IP and security groups are the broker's end.
2. Egress: one of I's security groups allows TCP ``port`` out to the broker's IP (a CIDR containing it,
   or, in the same region, one of the broker's groups). The default "all traffic to 0.0.0.0/0" does.
3. Same VPC: the local route; nothing else to check but 2 and 5.
4. Other VPC (another region, or the same region): a VPC peering connection joins the two VPCs; the
   route table of I's subnet (its explicit association, else the VPC's main table) sends the broker's IP
   (longest prefix match) to that connection and the route is not ``blackhole``; the connection is
   ``active``; and the broker subnet's route table sends I's IP back through the same connection (TCP
   needs the return path: AWS drops the replies otherwise).
5. Ingress: one of the broker's security groups admits TCP ``port`` from I: a rule naming one of I's
   groups (same region only: AWS cannot reference a security group across regions, not even over a
   peering), or a CIDR containing I's private IP (e.g. I's VPC CIDR).

Not checked (not modelled, or never changed by this project): network ACLs (moto's defaults allow
everything and the project never edits them), DNS (MSK broker names are public records of private IPs;
the VPCs' DNS settings are not looked at), prefix-list and IPv6 rules (they never admit here), transit
gateways, VPN, NAT, the instance's OS firewall, TLS, SASL/SCRAM credentials or the secret association,
Internet access of other commands (the bootstrap's downloads), and changes during the command (the
network is read once, when the invocation finishes).

How scripts are read (:func:`probes`): only the shapes of :mod:`mskpair_core.client_machine`'s scripts,
see the comment above :func:`probes`. A script that mentions ``--bootstrap-server`` or ``/dev/tcp/`` in a
shape this module does not know is not guessed at: its invocation fails with an ``msk-pair emulator:``
message, so a change in the scripts shows up in the tests instead of silently skipping the check.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import threading
from dataclasses import asdict, dataclass
from typing import Any

from moto.ec2.models import ec2_backends
from moto.kafka.models import kafka_backends

from msk_pair.emulator import clock, msk, peering

EMULATOR = "msk-pair emulator"
"""Prefix of the lines this module adds to a failed command's stderr (AWS would not explain why)."""

_BROKER_HOST = re.compile(
    r"^b-(?P<n>\d+)\.(?P<name>[A-Za-z0-9-]+)\.(?P<id>[a-z0-9]+)\.c2\.kafka\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$"
)

_lock = threading.Lock()
_history: list[dict[str, Any]] = []


class Unreachable(Exception):
    """Internal: why a broker cannot be reached (the message is the reason)."""


@dataclass(frozen=True)
class PathResult:
    instance_id: str
    broker: str  # host:port
    reachable: bool
    reason: str  # why not ("" when reachable)


@dataclass(frozen=True)
class Probe:
    """Where a script first connects to brokers, and to which."""

    line: int  # 0-based index of the script line that connects
    kind: str  # "kafka": a Kafka CLI tool (needs every broker); "tcp": bash /dev/tcp, broker after broker
    brokers: tuple[str, ...]


@dataclass(frozen=True)
class ScriptOutcome:
    """What the script's connections come to on the instance."""

    ok: bool
    paths: tuple[PathResult, ...]  # every broker checked, in order
    failed_line: int | None = None  # the script line that failed (set -e: the script stops there)
    stderr: str = ""
    exit_code: int = 0


class ScriptShapeError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


# -- test hooks --------------------------------------------------------------------------------


def history() -> list[dict[str, Any]]:
    """Every broker check made since :func:`reset`: instanceId, broker, reachable, reason, at (emulated)."""
    with _lock:
        return [dict(h) for h in _history]


def reset() -> None:
    with _lock:
        _history.clear()


# -- the network model --------------------------------------------------------------------------


@dataclass
class _End:
    """One end of a connection: an ENI's region, VPC, subnet, private IP and security groups."""

    what: str
    account: str
    region: str
    vpc: Any
    subnet_id: str
    ip: str
    groups: list[Any]

    @property
    def backend(self) -> Any:
        return ec2_backends[self.account][self.region]

    @property
    def group_ids(self) -> list[str]:
        return sorted(g.id for g in self.groups)


def _instance_end(account: str, region: str, instance_id: str) -> _End:
    ec2 = ec2_backends[account][region]
    instance = next((i for i in ec2.all_instances() if i.id == instance_id), None)
    if instance is None or not instance.nics:
        raise Unreachable(f"instance {instance_id} has no network interface in {region}")
    # A terminated instance reaches nothing: its primary network interface is deleted with it ("By default,
    # network interfaces that are automatically created and attached to instances ... are deleted when the
    # instance terminates", EC2 User Guide, "Elastic network interfaces"). moto keeps the terminated
    # instance, whose VPC may be gone too (a torn-down deployment's MirrorMaker 2 machine).
    if instance.state != "running":
        raise Unreachable(f"instance {instance_id} is {instance.state} in {region}")
    nic = instance.nics[0]
    return _End(
        what=instance_id,
        account=account,
        region=region,
        vpc=ec2.get_vpc(nic.subnet.vpc_id),
        subnet_id=nic.subnet.id,
        ip=nic.private_ip_address,
        groups=list(nic.group_set),
    )


def _broker_end(account: str, host: str) -> _End:
    m = _BROKER_HOST.match(host)
    if m is None:
        raise Unreachable(f"{host} is not an MSK broker name (the emulator resolves only those)")
    n, name, short_id, region = int(m["n"]), m["name"], m["id"], m["region"]
    try:
        clusters = list(kafka_backends[account][region].clusters.values())
    except KeyError:
        raise Unreachable(f"{host}: unknown region {region}") from None
    cluster = next((c for c in clusters if c.cluster_name == name and msk.short_id(c) == short_id), None)
    if cluster is None:
        raise Unreachable(f"{host} does not resolve: no MSK cluster {name} with id {short_id} in {region}")
    state = cluster.state
    if state != "ACTIVE":
        raise Unreachable(f"MSK cluster {name} in {region} is {state}, not ACTIVE")
    eni_ids = msk.broker_interface_ids(cluster)
    if not 1 <= n <= len(eni_ids):
        raise Unreachable(f"MSK cluster {name} in {region} has no broker {n}")
    ec2 = ec2_backends[account][region]
    eni = ec2.enis.get(eni_ids[n - 1])
    if eni is None:
        raise Unreachable(f"the network interface {eni_ids[n - 1]} of broker {n} of {name} is gone")
    return _End(
        what=f"broker {host}",
        account=account,
        region=region,
        vpc=ec2.get_vpc(eni.subnet.vpc_id),
        subnet_id=eni.subnet.id,
        ip=eni.private_ip_address,
        groups=list(eni.group_set),
    )


def _rule_allows(rule: Any, port: int, peer_ip: str, peer_group_ids: list[str], same_region: bool) -> bool:
    """Whether one moto SecurityGroupRule lets TCP ``port`` from/to ``peer_ip`` (or one of its groups)."""
    if rule.ip_protocol == "tcp":
        if rule.from_port is None or not rule.from_port <= port <= rule.to_port:
            return False
    elif rule.ip_protocol != "-1":
        return False
    cidr = (rule.ip_range or {}).get("CidrIp")
    if cidr:
        return ipaddress.ip_address(peer_ip) in ipaddress.ip_network(cidr, strict=False)
    group_id = (rule.source_group or {}).get("GroupId")
    return bool(group_id) and same_region and group_id in peer_group_ids


def _check_egress(src: _End, dst: _End, port: int) -> None:
    same_region = src.region == dst.region
    rules = [r for g in src.groups for r in g.egress_rules]
    if not any(_rule_allows(r, port, dst.ip, dst.group_ids, same_region) for r in rules):
        raise Unreachable(f"the security groups {src.group_ids} of {src.what} allow no TCP {port} out to {dst.ip}")


def _check_ingress(src: _End, dst: _End, port: int) -> None:
    same_region = src.region == dst.region
    rules = [r for g in dst.groups for r in g.ingress_rules]
    if not any(_rule_allows(r, port, src.ip, src.group_ids, same_region) for r in rules):
        sources = f"{src.ip} (no CIDR rule contains it)"
        if same_region:
            sources += f" nor the groups {src.group_ids}"
        raise Unreachable(f"the security groups {dst.group_ids} of {dst.what} admit on TCP {port} neither {sources}")


def _connections(src: _End, dst: _End) -> list[Any]:
    """Every peering connection (any state) between the two VPCs."""
    pair = {src.vpc.id, dst.vpc.id}
    found = {}
    for end in (src, dst):
        for pcx in list(end.backend.vpc_pcxs.values()):
            if {pcx.vpc.id, pcx.peer_vpc.id} == pair:
                found[pcx.id] = pcx
    return list(found.values())


def _route_table(end: _End) -> Any:
    tables = [t for t in list(end.backend.route_tables.values()) if t.vpc_id == end.vpc.id]
    for table in tables:
        if any(a.get("SubnetId") == end.subnet_id for a in table.associations):
            return table
    main = next((t for t in tables if t.main_association_id is not None), None)
    if main is None:
        raise Unreachable(f"{end.vpc.id} has no route table for {end.subnet_id}")
    return main


def _target(route: Any) -> str:
    for attr in ("vpc_pcx", "gateway", "nat_gateway", "transit_gateway", "interface", "instance", "egress_only_igw"):
        value = getattr(route, attr, None)
        if value is not None:
            return value.id
    return "local" if route.local else "nowhere"


def _check_route(end: _End, dest_ip: str, pcx_ids: set[str], what: str) -> Any:
    """The route ``end``'s subnet uses for ``dest_ip``: it must go to one of ``pcx_ids`` and not be blackhole."""
    table = _route_table(end)
    ip = ipaddress.ip_address(dest_ip)
    candidates = [
        (ipaddress.ip_network(r.destination_cidr_block, strict=False), r)
        for r in table.routes
        if r.destination_cidr_block
    ]
    matching = [(net, r) for net, r in candidates if ip in net]
    where = f"route table {table.id} of {end.subnet_id} ({end.region})"
    if not matching:
        raise Unreachable(f"{what}: the {where} has no route to {dest_ip}")
    net, route = max(matching, key=lambda nr: nr[0].prefixlen)
    if route.vpc_pcx is None or route.vpc_pcx.id not in pcx_ids:
        raise Unreachable(f"{what}: the {where} sends {dest_ip} ({net}) to {_target(route)}, not over the peering")
    if route.state != "active":
        raise Unreachable(
            f"{what}: the route {net} -> {route.vpc_pcx.id} in the {where} is {route.state} "
            f"(the connection is {peering.status_of(route.vpc_pcx)})"
        )
    return route


def _check_peering(src: _End, dst: _End) -> None:
    connections = _connections(src, dst)
    if not connections:
        raise Unreachable(
            f"no VPC peering connection between {src.vpc.id} ({src.region}) and {dst.vpc.id} ({dst.region})"
        )
    ids = {p.id for p in connections}
    route = _check_route(src, dst.ip, ids, "no path there")
    pcx = route.vpc_pcx
    status = peering.status_of(pcx)
    if status != "active":
        raise Unreachable(f"the VPC peering connection {pcx.id} is {status}, not active")
    _check_route(dst, src.ip, {pcx.id}, "no path back")


def check(account: str, region: str, instance_id: str, broker: str) -> PathResult:
    """Whether ``instance_id`` (in ``region``) can open a TCP connection to ``broker`` (``host:port``)."""
    host, _, port_text = broker.rpartition(":")
    try:
        if not port_text.isdigit():
            raise Unreachable(f"{broker} is not host:port")
        port = int(port_text)
        src = _instance_end(account, region, instance_id)
        dst = _broker_end(account, host)
        _check_egress(src, dst, port)
        if src.vpc.id != dst.vpc.id:
            _check_peering(src, dst)
        _check_ingress(src, dst, port)
        result = PathResult(instance_id, broker, True, "")
    except Unreachable as exc:
        result = PathResult(instance_id, broker, False, str(exc))
    with _lock:
        _history.append({**_camel(asdict(result)), "at": clock.now()})
    return result


def _camel(d: dict[str, Any]) -> dict[str, Any]:
    return {"instanceId" if k == "instance_id" else k: v for k, v in d.items()}


# -- the scripts --------------------------------------------------------------------------------
#
# The shapes read here are those of mskpair_core.client_machine (verify_script is the two together):
#
#   smoke_test_script:          BOOTSTRAP='b-1...:9096,b-2...:9096,b-3...:9096'
#                               TOPICS="timeout 300 /opt/kafka/bin/kafka-topics.sh --bootstrap-server $BOOTSTRAP ..."
#                               $TOPICS --create ...                  <- first line that connects ("kafka")
#   cross_region_check_script:  for broker in $(echo 'b-1...:9096,...' | tr ',' ' '); do    ("tcp")
#                                 ... "exec 3<>/dev/tcp/$host/$port" || { echo "cannot reach $broker" >&2; exit 1; }
#
# - ``--bootstrap-server X`` on any line: X is a literal list or ``$VAR``/``${VAR}`` of a simple assignment
#   ``VAR=<one shell word>`` made earlier. If the line is itself an assignment (a command kept in a
#   variable, like TOPICS), it connects where that variable is first run (a later line starting ``$TOPICS``).
# - ``for broker in $(echo <one shell word> | tr ',' ' '); do`` followed (before ``done``) by ``/dev/tcp/``.
# - ``/dev/tcp/`` outside such a loop, or a ``--bootstrap-server`` that does not resolve to a list of
#   host:port: ScriptShapeError (the invocation fails, see the module docstring).

_ASSIGN = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_BOOTSTRAP_ARG = re.compile(r"""--bootstrap-server[ =]("[^"]*"|'[^']*'|[^\s"']+)""")
_VARIABLE = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_FOR_BROKER = re.compile(r"""^for broker in \$\(echo (.+?) \| tr ',' ' '\); do$""")
_BROKER_LIST = re.compile(r"^[A-Za-z0-9.\-]+:\d+(,[A-Za-z0-9.\-]+:\d+)*$")


def _word(text: str) -> str | None:
    """The value of one shell word (quotes removed), or None if ``text`` is not exactly one word."""
    try:
        words = shlex.split(text, comments=False, posix=True)
    except ValueError:
        return None
    return words[0] if len(words) == 1 else None


def _brokers(value: str | None, line: int, variables: dict[str, str]) -> tuple[str, ...]:
    word = _word(value or "")
    ref = _VARIABLE.match(word or "")
    if ref:
        word = variables.get(ref[1])
    if word is None or not _BROKER_LIST.match(word):
        raise ScriptShapeError(line, f"cannot tell which brokers line {line + 1} connects to: {value!r}")
    return tuple(word.split(","))


def probes(script: str) -> list[Probe]:
    """Where ``script`` connects to brokers, in script order (see the comment above for the shapes)."""
    lines = [line.strip() for line in script.splitlines()]
    variables: dict[str, str] = {}
    found: list[Probe] = []
    in_tcp_loop = False
    for i, line in enumerate(lines):
        assign = _ASSIGN.match(line)
        if assign:
            value = _word(assign[2])
            if value is not None:
                variables[assign[1]] = value
        if "--bootstrap-server" in line:
            m = _BOOTSTRAP_ARG.search(line)
            brokers = _brokers(m[1] if m else None, i, variables)
            runs_at: int | None = i
            if assign:  # a command kept in a variable connects where the variable is run
                name = assign[1]
                runs_at = next((j for j in range(i + 1, len(lines)) if re.match(rf"^\$\{{?{name}\b", lines[j])), None)
            if runs_at is not None:
                found.append(Probe(runs_at, "kafka", brokers))
        loop = _FOR_BROKER.match(line)
        if loop:
            rest = lines[i + 1 :]
            body = rest[: next((k for k, text in enumerate(rest) if text.startswith("done")), len(rest))]
            if any("/dev/tcp/" in text for text in body):
                found.append(Probe(i, "tcp", _brokers(loop[1], i, variables)))
                in_tcp_loop = True
        elif line.startswith("done"):
            in_tcp_loop = False
        elif "/dev/tcp/" in line and not in_tcp_loop:
            raise ScriptShapeError(i, f"cannot tell which brokers line {i + 1} connects to (/dev/tcp outside a loop)")
    return sorted(found, key=lambda p: p.line)


def run_script(account: str, region: str, instance_id: str, script: str) -> ScriptOutcome | None:
    """The outcome of ``script``'s broker connections from ``instance_id``; None if it makes none.

    The script is ``set -e``: the first probe that fails ends it. A "kafka" probe (a Kafka CLI tool)
    needs every broker (the tool talks to each partition's leader) and times out; a "tcp" probe stops at
    the first broker it cannot reach and prints ``cannot reach <broker>``, as the script does.
    """
    try:
        found = probes(script)
    except ScriptShapeError as exc:
        return ScriptOutcome(False, (), exc.line, f"{EMULATOR}: {exc}\n", 1)
    if not found:
        return None
    paths: list[PathResult] = []
    for probe in found:
        for broker in probe.brokers:
            result = check(account, region, instance_id, broker)
            paths.append(result)
            if result.reachable:
                continue
            if probe.kind == "tcp":
                stderr = f"cannot reach {broker}\n{EMULATOR}: {broker} from {instance_id}: {result.reason}\n"
                return ScriptOutcome(False, tuple(paths), probe.line, stderr, 1)
        failed = [p for p in paths[-len(probe.brokers) :] if not p.reachable]
        if failed:
            lines = ["Error while executing topic command : Timed out waiting for a node assignment."]
            lines += [f"{EMULATOR}: cannot reach {p.broker} from {instance_id}: {p.reason}" for p in failed]
            return ScriptOutcome(False, tuple(paths), probe.line, "\n".join(lines) + "\n", 1)
    return ScriptOutcome(True, tuple(paths))
