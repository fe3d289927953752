"""network_path: TCP reachability of MSK brokers from a client instance, and SSM commands that depend on it.

The world is built with the project's own library on moto with the emulator's extensions: two networks
(create_network), a cluster in each (ensure_cluster), the primary's client machine (client_machine), and
the peering with its routes and rules (mskpair_core.peering). Each test then takes one piece away.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from msk_pair.emulator import msk, network_path, peering, ssm, strict_ec2
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.profile import LatencyProfile
from mskpair_core import catalog, cluster
from mskpair_core import client_machine as cm
from mskpair_core import peering as pair
from mskpair_core.network import availability_zones, create_network
from mskpair_core.subnets import plan_subnets
from tests.conftest import make_client_role_boundary

DEPLOYMENT = "orders-dr"
A, B = "us-east-1", "us-west-2"
CIDR_A, CIDR_B = "10.0.0.0/16", "172.31.0.0/16"
PORT = catalog.KAFKA_SASL_SCRAM_PORT
PROFILE = LatencyProfile(
    instance_profile_propagation=10.0,
    instance_start=30.0,
    instance_terminate=30.0,
    cluster_create=300.0,
    cluster_delete=120.0,
    cluster_eni_linger=60.0,
    ssm_registration=60.0,
    ssm_command=60.0,
    peering_visible=20.0,
    peering_activate=10.0,
)
EXTENSIONS = [strict_ec2, ssm, msk, peering]
pytestmark = pytest.mark.moto_world(profile=PROFILE, extensions=EXTENSIONS)


@dataclass
class World:
    vclock: VirtualClock
    net: dict[str, dict[str, Any]]  # role -> create_network's result
    brokers: dict[str, list[str]]  # role -> host:port of its brokers
    client: str  # the primary's client instance
    client_group: str
    peering_id: str | None

    def check(self, broker: str) -> network_path.PathResult:
        return network_path.check("123456789012", A, self.client, broker)

    def reasons(self, role: str) -> list[str]:
        return [self.check(b).reason for b in self.brokers[role]]


def _ec2(region: str) -> Any:
    return boto3.client("ec2", region_name=region)


def build(vc: VirtualClock, *, peer: bool = True, accept: bool = True) -> World:
    net = {}
    for role, region, cidr in (("primary", A, CIDR_A), ("secondary", B, CIDR_B)):
        net[role] = dict(
            create_network(
                deployment=DEPLOYMENT,
                role=role,
                region=region,
                vpc_cidr=cidr,
                subnet_plan=plan_subnets(cidr),
                azs=[z.name for z in availability_zones(region)],
            )
        )
    arns = {
        role: cluster.ensure_cluster(
            deployment=DEPLOYMENT, role=role, region=n["region"], network=n, config=catalog.defaults()
        )["clusterArn"]
        for role, n in net.items()
    }
    iam = cm.ensure_client_iam(deployment=DEPLOYMENT, boundary_arn=make_client_role_boundary())
    vc.advance(PROFILE.instance_profile_propagation)
    group = cm.ensure_client_security_group(deployment=DEPLOYMENT, role="primary", network=net["primary"])
    client = cm.launch_client(
        deployment=DEPLOYMENT,
        role="primary",
        network=net["primary"],
        instance_type="t3.small",
        instance_profile_arn=iam["instanceProfileArn"],
        security_group_id=group,
        client_token="token-primary",
    )["instanceId"]
    peering_id = None
    if peer:
        peering_id = pair.request_peering(deployment=DEPLOYMENT, primary=net["primary"], secondary=net["secondary"])[
            "vpcPeeringConnectionId"
        ]
        vc.advance(PROFILE.peering_visible)
        if accept:
            pair.accept_peering(deployment=DEPLOYMENT, secondary=net["secondary"], peering_id=peering_id)
        for local, other in (("primary", "secondary"), ("secondary", "primary")):
            pair.route_and_allow(
                peering_id=peering_id, local=net[local], peer=net[other], ports=[PORT], deployment=DEPLOYMENT
            )
    vc.advance(PROFILE.cluster_create)  # clusters ACTIVE, client online, peering active (if accepted)
    brokers = {
        role: cluster.bootstrap_brokers(region=net[role]["region"], cluster_arn=arn).split(",")
        for role, arn in arns.items()
    }
    return World(vc, net, brokers, client, group, peering_id)


@pytest.fixture
def world(vclock: VirtualClock) -> World:
    return build(vclock)


def _route_table_of_public_subnet(w: World) -> str:
    return w.net["primary"]["routeTables"]["public"]


def _revoke_client_rule(w: World) -> None:
    """Take away the cluster group's rule admitting the client group on 9096 (as client_machine made it)."""
    pair_ = {"GroupId": w.client_group, "Description": "msk-pair client machine"}  # moto matches descriptions
    _ec2(A).revoke_security_group_ingress(
        GroupId=w.net["primary"]["defaultSecurityGroupId"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": PORT, "ToPort": PORT, "UserIdGroupPairs": [pair_]}],
    )


def _revoke_cidr(region: str, group_id: str, cidr: str, port: int = PORT) -> None:
    _ec2(region).revoke_security_group_ingress(
        GroupId=group_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}],
    )


# -- reachability --------------------------------------------------------------------------------


def test_happy_configuration_reaches_own_and_peer_brokers(world: World) -> None:
    assert len(world.brokers["primary"]) == 3 and len(world.brokers["secondary"]) == 3
    for role in ("primary", "secondary"):
        for broker in world.brokers[role]:
            result = world.check(broker)
            assert result.reachable, result.reason
    assert [h["reachable"] for h in network_path.history()] == [True] * 6


def test_a_terminated_client_reaches_nothing_even_after_its_vpc_is_gone(world: World) -> None:
    """A torn-down deployment's MirrorMaker 2 machine once made a later check fail with InvalidVpcID.NotFound
    (a server error) instead of "unreachable": a terminated instance has no network interface."""
    _ec2(world.net["primary"]["region"]).terminate_instances(InstanceIds=[world.client])
    world.vclock.advance(PROFILE.instance_terminate)
    result = world.check(world.brokers["primary"][0])
    assert not result.reachable and f"instance {world.client} is terminated" in result.reason


def test_no_rule_for_the_client_group_on_9096(world: World) -> None:
    _revoke_client_rule(world)
    for reason in world.reasons("primary"):
        assert f"admit on TCP {PORT} neither" in reason and world.client_group in reason
    assert all(world.check(b).reachable for b in world.brokers["secondary"])  # the CIDR rule over the peering


def test_a_rule_on_another_port_does_not_count(world: World) -> None:
    # the client group is admitted on 11001/11002 too; those do not open 9096, nor 9096 opens 9098
    assert all(world.check(b.replace(":9096", ":9098")).reachable is False for b in world.brokers["primary"])


def test_no_egress_from_the_client_group(world: World) -> None:
    _ec2(A).revoke_security_group_egress(
        GroupId=world.client_group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    assert all("allow no TCP 9096 out" in r for r in world.reasons("primary") + world.reasons("secondary"))


def test_no_peering(vclock: VirtualClock) -> None:
    w = build(vclock, peer=False)
    assert all(w.check(b).reachable for b in w.brokers["primary"])
    for reason in w.reasons("secondary"):
        assert reason.startswith("no VPC peering connection between")


def test_peering_not_active(vclock: VirtualClock) -> None:
    w = build(vclock, accept=False)  # requested and routed, never accepted
    for reason in w.reasons("secondary"):
        assert f"{w.peering_id} is pending-acceptance, not active" in reason


def test_no_route_to_the_peer_falls_to_the_internet_gateway(world: World) -> None:
    _ec2(A).delete_route(RouteTableId=_route_table_of_public_subnet(world), DestinationCidrBlock=CIDR_B)
    for reason in world.reasons("secondary"):
        assert reason.startswith("no path there:") and "(0.0.0.0/0) to igw-" in reason
    assert all(world.check(b).reachable for b in world.brokers["primary"])


def test_no_route_at_all(world: World) -> None:
    # the VPC's main table (brokers) has no default route: a client there has no route to the peer
    _ec2(A).delete_route(RouteTableId=world.net["primary"]["routeTables"]["main"], DestinationCidrBlock=CIDR_B)
    ec2 = _ec2(A)
    main = world.net["primary"]["routeTables"]["main"]
    public = _route_table_of_public_subnet(world)
    table = ec2.describe_route_tables(RouteTableIds=[public])["RouteTables"][0]
    ec2.disassociate_route_table(AssociationId=next(a["RouteTableAssociationId"] for a in table["Associations"]))
    for reason in world.reasons("secondary"):
        assert f"route table {main}" in reason and "has no route to 172.31." in reason


def test_blackhole_route_after_the_peering_is_deleted(world: World) -> None:
    _ec2(A).delete_vpc_peering_connection(VpcPeeringConnectionId=world.peering_id)
    for reason in world.reasons("secondary"):
        assert f"-> {world.peering_id}" in reason and "is blackhole (the connection is deleted)" in reason


def test_no_return_route(world: World) -> None:
    _ec2(B).delete_route(RouteTableId=world.net["secondary"]["routeTables"]["main"], DestinationCidrBlock=CIDR_A)
    for reason in world.reasons("secondary"):
        assert reason.startswith("no path back:") and "has no route to 10.0." in reason


def test_peer_group_missing_the_cidr_rule(world: World) -> None:
    _revoke_cidr(B, world.net["secondary"]["defaultSecurityGroupId"], CIDR_A)
    for reason in world.reasons("secondary"):
        assert f"admit on TCP {PORT} neither 10.0." in reason and "no CIDR rule contains it" in reason


def test_a_cluster_that_is_not_active_or_unknown(world: World) -> None:
    arn = boto3.client("kafka", region_name=B).list_clusters_v2()["ClusterInfoList"][0]["ClusterArn"]
    boto3.client("kafka", region_name=B).delete_cluster(ClusterArn=arn)
    assert all("is DELETING, not ACTIVE" in r for r in world.reasons("secondary"))
    unknown = world.brokers["primary"][0].replace("orders-dr-primary", "someone-else")
    assert "does not resolve" in world.check(unknown).reason


# -- scripts ------------------------------------------------------------------------------------


OWN = "b-1.x.abc.c2.kafka.us-east-1.amazonaws.com:9096,b-2.x.abc.c2.kafka.us-east-1.amazonaws.com:9096"
PEER = "b-1.y.def.c2.kafka.us-west-2.amazonaws.com:9096"


def test_probes_of_the_verify_script() -> None:
    script = cm.verify_script(bootstrap_brokers=OWN, peer_bootstrap_brokers=PEER)
    lines = script.splitlines()
    kafka, *more_kafka, tcp = network_path.probes(script)
    assert kafka.kind == "kafka" and kafka.brokers == tuple(OWN.split(","))
    assert lines[kafka.line].startswith("$TOPICS --create")  # the first line that runs kafka-topics.sh
    assert all(p.kind == "kafka" and p.line > kafka.line for p in more_kafka)
    assert tcp.kind == "tcp" and tcp.brokers == (PEER,) and lines[tcp.line].startswith("for broker in")


def test_scripts_without_broker_connections_have_no_probes() -> None:
    assert network_path.probes('echo "done"\nkafka-topics.sh --list') == []
    bootstrap = cm.bootstrap_script(kafka_version="3.8.x", region=A, secret_arn="arn:s", cluster_arn="arn:c")
    assert network_path.probes(bootstrap) == []


@pytest.mark.parametrize(
    "script",
    [
        "kafka-topics.sh --bootstrap-server $NOWHERE --list",
        "kafka-topics.sh --bootstrap-server 'not a list' --list",
        "timeout 10 bash -c 'exec 3<>/dev/tcp/b-1.x/9096'",
    ],
)
def test_unknown_shapes_are_not_guessed(script: str) -> None:
    with pytest.raises(network_path.ScriptShapeError):
        network_path.probes(script)
    outcome = network_path.run_script("123456789012", A, "i-0", script)
    assert outcome is not None and not outcome.ok and "msk-pair emulator: cannot tell which brokers" in outcome.stderr


# -- through SSM ---------------------------------------------------------------------------------


def _verify(w: World) -> dict[str, Any]:
    script = cm.verify_script(
        bootstrap_brokers=",".join(w.brokers["primary"]), peer_bootstrap_brokers=",".join(w.brokers["secondary"])
    )
    command_id = cm.send_command(region=A, instance_id=w.client, script=script, comment="verify")
    w.vclock.advance(PROFILE.ssm_command)
    return cm.command_status(region=A, command_id=command_id, instance_id=w.client)


def test_verify_command_succeeds_on_the_happy_network(world: World) -> None:
    status = _verify(world)
    assert status["status"] == "Success", status
    assert cm.SMOKE_TEST_MARKER in status["output"] and cm.CROSS_REGION_MARKER in status["output"]


def test_verify_command_fails_on_the_peer_and_keeps_the_smoke_test_output(world: World) -> None:
    _ec2(B).delete_route(RouteTableId=world.net["secondary"]["routeTables"]["main"], DestinationCidrBlock=CIDR_A)
    status = _verify(world)
    assert status["status"] == "Failed" and status["responseCode"] == 1
    first = world.brokers["secondary"][0]
    assert status["error"].splitlines()[0] == f"cannot reach {first}"  # what the script prints, then why
    assert "no path back" in status["error"]
    assert cm.SMOKE_TEST_MARKER in status["output"] and cm.CROSS_REGION_MARKER not in status["output"]
    listed = boto3.client("ssm", region_name=A).list_commands(InstanceId=world.client)["Commands"][0]
    assert listed["Status"] == "Failed" and listed["ErrorCount"] == 1
    with pytest.raises(Exception, match="cannot reach"):
        cm.raise_if_failed(status, "primary client verify")


def test_verify_command_fails_at_the_smoke_test(world: World) -> None:
    _revoke_client_rule(world)
    status = _verify(world)
    assert status["status"] == "Failed"
    assert "Timed out waiting for a node assignment" in status["error"]
    for broker in world.brokers["primary"]:
        assert f"cannot reach {broker}" in status["error"]
    assert cm.SMOKE_TEST_MARKER not in status["output"]
    checked = {h["broker"] for h in network_path.history()}
    assert checked == set(world.brokers["primary"])  # set -e: the cross-region part never ran


def test_the_verdict_is_taken_when_first_read_done_and_kept(world: World) -> None:
    script = cm.smoke_test_script(bootstrap_brokers=",".join(world.brokers["primary"]))
    command_id = cm.send_command(region=A, instance_id=world.client, script=script, comment="smoke")
    _revoke_client_rule(world)
    world.vclock.advance(PROFILE.ssm_command / 2)
    assert cm.command_status(region=A, command_id=command_id, instance_id=world.client)["status"] == "InProgress"
    assert network_path.history() == []  # not judged while running
    world.vclock.advance(PROFILE.ssm_command)
    assert cm.command_status(region=A, command_id=command_id, instance_id=world.client)["status"] == "Failed"
    cm.ensure_client_security_group(deployment=DEPLOYMENT, role="primary", network=world.net["primary"])  # fixed
    assert cm.command_status(region=A, command_id=command_id, instance_id=world.client)["status"] == "Failed"


def test_set_check_network_off(world: World) -> None:
    ssm.set_check_network(False)
    _ec2(A).delete_vpc_peering_connection(VpcPeeringConnectionId=world.peering_id)
    assert _verify(world)["status"] == "Success"
    assert network_path.history() == []
