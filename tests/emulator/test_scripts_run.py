"""The client machines' scripts, run for real (issue 16): what they print, the files they leave, no password out.

Each script that ``AWS-RunShellScript`` runs on a client machine (``client_machine``'s bootstrap and
verification, ``replication``'s MirrorMaker 2 start, canary, check and stop) runs here with the real
``bash -euo pipefail`` in a throwaway root (``msk_pair.emulator.script_runner``), with stand-ins for dnf,
curl, aws, users and owners, systemd, the network and Apache Kafka's tools (``script_shims``). The tests
assert on what the machine's user would see in the SSM command's output, on the files left (modes and
owners as README's "Security choices" and "What it makes" promise: ``client.properties`` readable by root
only, MirrorMaker 2's secrets file by the service user only, ``mm2.properties`` without a password), and
that each SCRAM password (a distinctive random value per run) is in no output, no command line and no
file but the one meant to hold it.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from msk_pair.emulator import script_shims, ssm
from msk_pair.emulator.script_runner import Machine, Run, UnmappedPath, World, map_paths
from mskpair_core import catalog
from mskpair_core import client_machine as cm
from mskpair_core import replication as rep

ACCOUNT = "123456789012"
PRIMARY_REGION, SECONDARY_REGION = "us-east-1", "us-west-2"
PRIMARY_SECRET = f"arn:aws:secretsmanager:{PRIMARY_REGION}:{ACCOUNT}:secret:AmazonMSK_orders-dr-AbCdEf"
SECONDARY_SECRET = f"arn:aws:secretsmanager:{SECONDARY_REGION}:{ACCOUNT}:secret:AmazonMSK_orders-dr-GhIjKl"
PRIMARY = ",".join(f"b-{n}.orders-dr-primary.abc123.c2.kafka.{PRIMARY_REGION}.amazonaws.com:9096" for n in (1, 2, 3))
SECONDARY = ",".join(
    f"b-{n}.orders-dr-secondary.def456.c2.kafka.{SECONDARY_REGION}.amazonaws.com:9096" for n in (1, 2, 3)
)
USERNAME = "msk-admin"
EXECUTION = "exec-2024-01-01"
REPLICATION = catalog.defaults()["replication"]
SERVICE_USER = rep.SERVICE_USER
MM2_FILES = (rep.MM2_SECRETS, rep.MM2_PROPERTIES, rep.UNIT_PATH)


def _password() -> str:
    # Secrets Manager's GetRandomPassword without punctuation (scram.ensure_secret): letters and digits.
    return "Pw" + secrets.token_hex(14)


ALLOWED = (cm.CLIENT_PROPERTIES, rep.MM2_SECRETS)
"""The only files meant to hold a password: the client's Kafka configuration and MirrorMaker 2's secrets."""


@dataclass
class Pair:
    world: World
    primary: Machine
    secondary: Machine
    passwords: dict[str, str]  # secret ARN -> its password

    def run(self, machine: Machine, script: str, *, ok: bool = True) -> Run:
        """Run a script; first of all no password is out, then (``ok``) it exited 0."""
        run = machine.run(script)
        assert_no_password_out(self, run, machine)
        if ok:
            journal = "\n".join(machine.service(rep.SERVICE).get("journal", []))
            assert run.exit_code == 0, (
                f"exit {run.exit_code}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}\n--- journal\n{journal}"
            )
        return run


@pytest.fixture
def pair() -> Iterator[Pair]:
    world = World(kafka_versions=catalog.KAFKA_CLIENT_VERSIONS.values())
    passwords = {PRIMARY_SECRET: _password(), SECONDARY_SECRET: _password()}
    for arn, password in passwords.items():
        world.add_secret(arn, username=USERNAME, password=password)
    world.add_cluster(PRIMARY, secrets=[PRIMARY_SECRET])
    world.add_cluster(SECONDARY, secrets=[SECONDARY_SECRET])
    try:
        yield Pair(world, world.machine("primary"), world.machine("secondary"), passwords)
    finally:
        world.close()


def bootstrap(
    pair: Pair, machine: Machine, *, role: str = "primary", kafka_version: str = "3.8.x", ok: bool = True
) -> Run:
    region, secret = (PRIMARY_REGION, PRIMARY_SECRET) if role == "primary" else (SECONDARY_REGION, SECONDARY_SECRET)
    script = cm.bootstrap_script(
        kafka_version=kafka_version,
        region=region,
        secret_arn=secret,
        cluster_arn=f"arn:aws:kafka:{region}:{ACCOUNT}:cluster/orders-dr-{role}/abc-1",
    )
    return pair.run(machine, script, ok=ok)


def start(pair: Pair, machine: Machine, replication: dict | None = None, *, ok: bool = True) -> Run:
    script = rep.start_script(
        deployment="orders-dr",
        primary_brokers=PRIMARY,
        secondary_brokers=SECONDARY,
        primary_secret_arn=PRIMARY_SECRET,
        primary_region=PRIMARY_REGION,
        secondary_secret_arn=SECONDARY_SECRET,
        secondary_region=SECONDARY_REGION,
        replication=replication or REPLICATION,
    )
    return pair.run(machine, script, ok=ok)


def assert_no_password_out(pair: Pair, run: Run, machine: Machine, *, allowed: tuple[str, ...] = ALLOWED) -> None:
    """No password in what the script printed or any command line it ran (ps, audit logs), nor in any file on
    the machine but ``allowed`` (its symbolic links resolved)."""
    allowed_real = {machine.realpath(p) for p in allowed}
    for arn, password in pair.passwords.items():
        assert password not in run.stdout, f"the password of {arn} is in the command's stdout (SSM output)"
        assert password not in run.stderr, f"the password of {arn} is in the command's stderr (SSM output)"
        for call in run.calls:
            assert password not in call.command_line, f"the password of {arn} is on a command line: {call.tool}"
        leaked = [line for line in machine.command_lines() if password in line]
        assert not leaked, f"the password of {arn} is on a command line (visible in ps): {leaked[0][:60]}..."
        where = set(machine.holding(password))
        assert where <= allowed_real, f"the password of {arn} is in {sorted(where - allowed_real)}"


def lines(text: str) -> list[str]:
    return text.splitlines()


# -- the bootstrap --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("msk_version", "client_version"), sorted(catalog.KAFKA_CLIENT_VERSIONS.items()))
def test_bootstrap_installs_kafka_and_writes_client_properties_for_root_only(
    pair: Pair, msk_version: str, client_version: str
) -> None:
    m = pair.primary
    run = bootstrap(pair, m, kafka_version=msk_version)

    # What the user sees in the SSM command's output, in order, and nothing on stderr.
    out = lines(run.stdout)
    expected = [
        "msk-pair: installing Amazon Corretto 17",
        f"msk-pair: downloading Apache Kafka {client_version}",
        "msk-pair: SHA-512 of the Kafka archive verified",
        f"msk-pair: wrote {cm.CLIENT_PROPERTIES}",
        cm.BOOTSTRAP_MARKER,
    ]
    assert [line for line in out if line in expected] == expected
    assert out[-1] == cm.BOOTSTRAP_MARKER
    assert run.stderr == ""

    # What it called: the packages, the release and its checksum from archive.apache.org, the secret.
    [dnf] = run.tools("dnf")
    assert dnf.argv[:3] == ("install", "-y", "java-17-amazon-corretto-headless")
    url = f"{cm.KAFKA_ARCHIVE_URL}/{client_version}/kafka_{cm.SCALA_VERSION}-{client_version}.tgz"
    assert [c.argv[-1] for c in run.tools("curl")] == [url, url + ".sha512"]
    assert all("--fail" in c.argv for c in run.tools("curl"))
    [aws] = run.tools("aws")
    assert aws.argv == (
        "secretsmanager",
        "get-secret-value",
        "--secret-id",
        PRIMARY_SECRET,
        "--region",
        PRIMARY_REGION,
        "--query",
        "SecretString",
        "--output",
        "text",
    )

    # The files: Kafka under /opt/kafka, client.properties root's and 0600, the truststore the JDK's CAs.
    link = m.file(cm.KAFKA_HOME)
    assert link is not None and link.kind == "link"
    assert link.target == f"/opt/kafka_{cm.SCALA_VERSION}-{client_version}"
    props = m.file(cm.CLIENT_PROPERTIES)
    assert props is not None and props.kind == "file"
    assert (props.mode, props.user, props.group) == (0o600, "root", "root"), (
        f"{cm.CLIENT_PROPERTIES} is {oct(props.mode)} {props.user}:{props.group}: README says readable by root only"
    )
    parsed = script_shims.parse_properties(props.text)
    assert set(parsed) == {
        "security.protocol",
        "sasl.mechanism",
        "sasl.jaas.config",
        "ssl.truststore.location",
        "ssl.truststore.password",
    }
    assert parsed["security.protocol"] == "SASL_SSL"
    assert parsed["sasl.mechanism"] == "SCRAM-SHA-512"
    assert parsed["ssl.truststore.location"] == cm.TRUSTSTORE
    [(module, flag, options)] = script_shims.parse_jaas(parsed["sasl.jaas.config"])
    assert (module, flag) == (script_shims.SCRAM_MODULE, "required")
    assert options == {"username": USERNAME, "password": pair.passwords[PRIMARY_SECRET]}
    truststore = m.file(cm.TRUSTSTORE)
    assert truststore is not None, cm.TRUSTSTORE
    assert truststore.mode == 0o644, f"{cm.TRUSTSTORE} is {oct(truststore.mode)}: MirrorMaker 2's user cannot read it"
    cacerts = m.file(f"{script_shims.JDK}/lib/security/cacerts")
    assert cacerts is not None and truststore.data == cacerts.data
    env = m.file(cm.ENV_FILE)
    assert env is not None and env.mode == 0o644 and env.user == "root"
    assert lines(env.text) == [
        f"export KAFKA_HOME={cm.KAFKA_HOME}",
        f'export PATH="$PATH:{cm.KAFKA_HOME}/bin"',
        f'export MSK_CLUSTER_ARN="arn:aws:kafka:{PRIMARY_REGION}:{ACCOUNT}:cluster/orders-dr-primary/abc-1"',
        f"export MSK_CLIENT_PROPERTIES={cm.CLIENT_PROPERTIES}",
        f'export AWS_DEFAULT_REGION="{PRIMARY_REGION}"',
    ]
    assert [p for p in m.files() if p.startswith("/tmp/") or p.endswith((".tmp", ".partial"))] == []


def test_bootstrap_twice_downloads_nothing_and_keeps_the_file_root_only(pair: Pair) -> None:
    m = pair.primary
    bootstrap(pair, m)
    first = m.file(cm.CLIENT_PROPERTIES)
    again = bootstrap(pair, m)
    assert again.tools("curl") == []
    assert "msk-pair: downloading" not in again.stdout
    assert lines(again.stdout)[-1] == cm.BOOTSTRAP_MARKER
    assert m.file(cm.CLIENT_PROPERTIES) == first


def test_bootstrap_refuses_an_archive_whose_sha512_does_not_match(pair: Pair) -> None:
    m = pair.primary
    version = catalog.KAFKA_CLIENT_VERSIONS["3.8.x"]
    pair.world.serve(f"{cm.KAFKA_ARCHIVE_URL}/{version}/kafka_{cm.SCALA_VERSION}-{version}.tgz", b"not the release")
    run = bootstrap(pair, m, ok=False)
    assert run.exit_code == 1
    assert re.search(
        r"^msk-pair: SHA-512 mismatch for kafka_2\.13-3\.8\.1\.tgz: expected [0-9a-f]{128}, got", run.stderr
    )
    assert cm.BOOTSTRAP_MARKER not in run.stdout
    assert run.tools("aws") == []  # the secret is not even read
    assert m.file(cm.KAFKA_HOME) is None and m.file(cm.CLIENT_PROPERTIES) is None
    assert [p for p in m.files() if p.startswith(("/opt/", "/tmp/"))] == []


def test_bootstrap_that_cannot_read_the_secret_fails_clearly_and_writes_no_properties(pair: Pair) -> None:
    m = pair.primary
    denied = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/msk-pair-orders-dr-client/i-0abc is not authorized to "
        f"perform: secretsmanager:GetSecretValue on resource: {PRIMARY_SECRET}"
    )
    pair.world.add_secret(PRIMARY_SECRET, error=("AccessDeniedException", denied))
    run = bootstrap(pair, m, ok=False)
    assert run.exit_code == 1
    assert lines(run.stderr)[-1] == (
        "msk-pair: cannot read the SCRAM secret: An error occurred (AccessDeniedException) when calling the "
        f"GetSecretValue operation: {denied}"
    )
    assert cm.BOOTSTRAP_MARKER not in run.stdout
    assert m.file(cm.CLIENT_PROPERTIES) is None and m.file(cm.CLIENT_PROPERTIES + ".tmp") is None


@pytest.mark.parametrize("secret", ['{"username": "msk-admin", "pass": "%s"}', "username=msk-admin password=%s"])
def test_a_malformed_secret_fails_the_bootstrap_without_printing_it(pair: Pair, secret: str) -> None:
    m = pair.primary
    password = pair.passwords[PRIMARY_SECRET]
    pair.world.add_secret(PRIMARY_SECRET, secret_string=secret % password)
    run = bootstrap(pair, m, ok=False)
    assert run.exit_code == 1
    assert lines(run.stderr)[-1] == "msk-pair: the SCRAM secret is not JSON with username and password"
    assert m.file(cm.CLIENT_PROPERTIES) is None
    assert_no_password_out(pair, run, m)


def test_properties_survive_a_password_that_needs_escaping(pair: Pair) -> None:
    """Secrets Manager may hold any password (a secret made outside msk-pair is kept): quotes, backslashes,
    '=' and ':' must reach Kafka's SCRAM login unchanged through client.properties and MirrorMaker 2's
    secrets file (java.util.Properties, then the JAAS syntax)."""
    tricky = 'a"b\\c=d:e f$' + secrets.token_hex(4)
    for arn in (PRIMARY_SECRET, SECONDARY_SECRET):
        pair.world.add_secret(arn, username=USERNAME, password=tricky)
    m = pair.secondary
    bootstrap(pair, m, role="secondary")
    [(_m, _f, options)] = script_shims.parse_jaas(
        script_shims.parse_properties(m.file(cm.CLIENT_PROPERTIES).text)["sasl.jaas.config"]
    )
    assert options["password"] == tricky
    smoke = pair.run(m, cm.smoke_test_script(bootstrap_brokers=SECONDARY))  # the tool signs in with it
    assert cm.smoke_test_passed(smoke.stdout)
    start(pair, m)
    assert m.service(rep.SERVICE)["state"] == "active"  # MirrorMaker 2 signs in to both clusters with it


# -- the verification: smoke test and cross-region check ------------------------------------------------


def test_verify_prints_the_smoke_test_and_every_peer_broker_it_reached(pair: Pair) -> None:
    m = pair.primary
    bootstrap(pair, m)
    run = pair.run(m, cm.verify_script(bootstrap_brokers=PRIMARY, peer_bootstrap_brokers=SECONDARY))
    out = lines(run.stdout)
    assert out[0] == f"Created topic {cm.SMOKE_TEST_TOPIC}."
    assert out[1].startswith(f"Topic: {cm.SMOKE_TEST_TOPIC}\t") and "PartitionCount: 3\tReplicationFactor: 3" in out[1]
    listed = out[out.index("msk-pair: topics on the cluster:") + 1 : out.index(cm.SMOKE_TEST_MARKER)]
    assert cm.SMOKE_TEST_TOPIC in listed
    peers = SECONDARY.split(",")
    assert out[out.index(cm.SMOKE_TEST_MARKER) + 1 :] == [f"msk-pair: reached {b}" for b in peers] + [
        cm.CROSS_REGION_MARKER
    ]
    assert run.stderr == ""
    # What the state machine reads from that output.
    assert cm.smoke_test_passed(run.stdout) and cm.CROSS_REGION_MARKER in run.stdout
    for call in run.tools("kafka-topics.sh"):
        assert call.argv[:4] == ("--bootstrap-server", PRIMARY, "--command-config", cm.CLIENT_PROPERTIES)
    assert [c.argv[1] for c in run.tools("bash")] == [f"exec 3<>/dev/tcp/{b.replace(':', '/')}" for b in peers]
    assert [c.argv[2] for c in run.tools("openssl")] == peers
    assert pair.world.kafka(PRIMARY)["topics"][cm.SMOKE_TEST_TOPIC]["partitions"] == 3


def test_verify_on_a_cluster_with_many_topics_keeps_its_markers_within_what_ssm_returns(pair: Pair) -> None:
    """SSM returns the first 24,000 characters of a command's stdout (GetCommandInvocation): the markers the
    state machine reads come last, so the topic list before them must not fill that (a deployment that
    existed may have thousands of topics)."""
    m = pair.primary
    bootstrap(pair, m)
    pair.world.add_topics(PRIMARY, [f"orders.events.customer-updates.v{n:04d}" for n in range(1500)])
    run = pair.run(m, cm.verify_script(bootstrap_brokers=PRIMARY, peer_bootstrap_brokers=SECONDARY))
    returned = run.stdout[: ssm.STDOUT_CHARS]
    assert cm.smoke_test_passed(returned), f"the smoke test's marker is past SSM's {ssm.STDOUT_CHARS} characters"
    assert cm.CROSS_REGION_MARKER in returned
    listed = lines(returned)
    assert cm.SMOKE_TEST_TOPIC in listed[listed.index("msk-pair: topics on the cluster:") :]
    assert re.search(r"^msk-pair: \d+ more topics not listed$", returned, re.MULTILINE)


def test_verify_stops_at_the_first_peer_broker_it_cannot_reach(pair: Pair) -> None:
    m = pair.primary
    bootstrap(pair, m)
    unreachable = SECONDARY.split(",")[1]
    pair.world.set_unreachable([unreachable])
    run = pair.run(m, cm.verify_script(bootstrap_brokers=PRIMARY, peer_bootstrap_brokers=SECONDARY), ok=False)
    assert run.exit_code == 1
    assert lines(run.stderr)[-1] == f"cannot reach {unreachable}"
    assert cm.smoke_test_passed(run.stdout) and cm.CROSS_REGION_MARKER not in run.stdout
    status = {"status": "Failed", "responseCode": 1, "error": run.stderr, "output": run.stdout}
    with pytest.raises(cm.ResourceFailed, match=re.escape(f"cannot reach {unreachable}")):
        cm.raise_if_failed(status, "primary client verify")


def test_smoke_test_with_a_secret_the_cluster_does_not_know_fails_to_sign_in(pair: Pair) -> None:
    m = pair.primary
    bootstrap(pair, m)
    pair.world.add_cluster(PRIMARY, secrets=[SECONDARY_SECRET])  # not associated with the primary's secret
    run = pair.run(m, cm.smoke_test_script(bootstrap_brokers=PRIMARY), ok=False)
    assert run.exit_code == 1
    assert script_shims.SCRAM_FAILURE in run.stderr
    assert not cm.smoke_test_passed(run.stdout)


# -- MirrorMaker 2 on the secondary client --------------------------------------------------------------


def test_mm2_start_writes_its_files_for_the_service_user_only_and_starts_it(pair: Pair) -> None:
    m = pair.secondary
    bootstrap(pair, m, role="secondary")
    run = start(pair, m)

    assert lines(run.stdout) == [
        f"Created topic {rep.replicated_name(rep.CANARY_TOPIC, 'prefixed')}.",
        f"msk-pair: {rep.SERVICE} (re)started",
        "active",
        rep.MARKER_STARTED,
    ]
    # systemctl enable says what it linked; no warning (a unit changed on disk without daemon-reload).
    assert lines(run.stderr) == [
        f"Created symlink /etc/systemd/system/multi-user.target.wants/{rep.SERVICE}.service → {rep.UNIT_PATH}."
    ]

    # The service user: a system account without a shell.
    user = m.users()[SERVICE_USER]
    assert user["uid"] < 1000
    [useradd] = run.tools("useradd")
    assert useradd.argv == ("--system", "--no-create-home", "--shell", "/sbin/nologin", SERVICE_USER)

    # The files, as README says: the secrets readable by the service user only, mm2.properties by root and
    # the service's group, no password in it, nothing left half-written.
    expected = {
        rep.MM2_DIR: (0o750, "root", SERVICE_USER),
        rep.MM2_SECRETS: (0o400, SERVICE_USER, SERVICE_USER),
        rep.MM2_PROPERTIES: (0o640, "root", SERVICE_USER),
        rep.UNIT_PATH: (0o644, "root", "root"),
    }
    for path, want in expected.items():
        f = m.file(path)
        assert f is not None, path
        assert (f.mode, f.user, f.group) == want, f"{path}: {oct(f.mode)} {f.user}:{f.group}"
    assert not [p for p in m.files() if p.endswith(".new")]
    for path in (rep.MM2_SECRETS, rep.MM2_PROPERTIES, cm.TRUSTSTORE):
        assert m.can_read(SERVICE_USER, path), f"{SERVICE_USER} cannot read {path}"
    for path in (rep.MM2_SECRETS, rep.MM2_PROPERTIES, cm.CLIENT_PROPERTIES):
        assert not m.can_read("ec2-user", path), f"any user can read {path}"
    assert not m.can_read("nobody", rep.MM2_SECRETS)

    # The secrets file: each cluster's user and password, nothing else.
    secrets_file = script_shims.parse_properties(m.file(rep.MM2_SECRETS).text)
    assert secrets_file == {
        f"{rep.SOURCE}.username": USERNAME,
        f"{rep.SOURCE}.password": pair.passwords[PRIMARY_SECRET],
        f"{rep.TARGET}.username": USERNAME,
        f"{rep.TARGET}.password": pair.passwords[SECONDARY_SECRET],
    }

    # mm2.properties on the machine is the rendering, key for key (the here-document expanded nothing), with
    # the names README lists.
    on_machine = script_shims.parse_properties(m.file(rep.MM2_PROPERTIES).text)
    rendered = dict(rep.mm2_settings(primary_brokers=PRIMARY, secondary_brokers=SECONDARY, replication=REPLICATION))
    assert on_machine == rendered
    assert on_machine["topics.exclude"] == r".*[\-\.]internal, .*\.replica, __.*, msk-pair-smoke-test"
    assert on_machine["groups.exclude"] == "console-consumer-.*, connect-.*, __.*"
    assert on_machine["replication.policy.class"] == rep.POLICIES["prefixed"]
    for key in ("sync.group.offsets.enabled", "emit.checkpoints.enabled", "emit.heartbeats.enabled"):
        assert on_machine[key] == "true", key
    assert on_machine["refresh.topics.interval.seconds"] == on_machine["refresh.groups.interval.seconds"] == "10"
    for key in [k for k in on_machine if k.endswith("replication.factor")]:
        assert on_machine[key] == "3", key
    assert not [k for k in on_machine if k.endswith(".blacklist")]
    for alias in (rep.SOURCE, rep.TARGET):
        assert on_machine[f"{alias}.security.protocol"] == "SASL_SSL"
        assert on_machine[f"{alias}.sasl.mechanism"] == "SCRAM-SHA-512"
        assert f"${{file:{rep.MM2_SECRETS}:{alias}.password}}" in on_machine[f"{alias}.sasl.jaas.config"]

    # The unit, and the service as systemd runs it: as its user, signed in to both clusters.
    unit = m.file(rep.UNIT_PATH).text
    heap_mb = 3_964_656 * rep.HEAP_PERCENT // 100 // 1024
    for line in (
        f"User={SERVICE_USER}",
        f"ExecStart={cm.KAFKA_HOME}/bin/connect-mirror-maker.sh {rep.MM2_PROPERTIES}",
        "Restart=on-failure",
        "WantedBy=multi-user.target",
        f'Environment="KAFKA_HEAP_OPTS=-Xms{rep.HEAP_MIN_MB}m -Xmx{heap_mb}m"',
    ):
        assert line in lines(unit), line
    service = m.service(rep.SERVICE)
    assert service["loaded"] == unit and service["enabled"] and service["state"] == "active"
    assert service["starts"] == 1
    assert service["journal"][:2] == [
        f"{script_shims.EMU}: MirrorMaker 2 signed in to {alias} as {SERVICE_USER}"
        for alias in (rep.SOURCE, rep.TARGET)
    ]
    canary = pair.world.kafka(SECONDARY)["topics"][rep.replicated_name(rep.CANARY_TOPIC, "prefixed")]
    assert canary["configs"] == {"message.timestamp.type": "LogAppendTime"}


def test_mm2_start_again_changes_nothing_and_a_new_replication_block_restarts(pair: Pair) -> None:
    m = pair.secondary
    bootstrap(pair, m, role="secondary")
    start(pair, m)
    files = {p: m.file(p) for p in MM2_FILES}

    again = start(pair, m)
    assert lines(again.stdout) == [
        f"msk-pair: {rep.SERVICE} running, configuration unchanged: nothing to do",
        "active",
        rep.MARKER_STARTED,
    ]
    assert again.stderr == ""
    assert {p: m.file(p) for p in MM2_FILES} == files
    assert m.service(rep.SERVICE)["starts"] == 1
    assert again.tools("useradd") == []

    changed = start(pair, m, {**REPLICATION, "topics": "orders\\..*", "topicNaming": "identical"})
    assert lines(changed.stdout)[-3:] == [f"msk-pair: {rep.SERVICE} (re)started", "active", rep.MARKER_STARTED]
    assert m.service(rep.SERVICE)["starts"] == 2
    props = script_shims.parse_properties(m.file(rep.MM2_PROPERTIES).text)
    assert props["topics"] == r"orders\..*, msk-pair\.canary"
    assert props["replication.policy.class"] == rep.POLICIES["identical"]
    for path, before in files.items():  # rewritten in place: modes and owners kept
        after = m.file(path)
        assert (after.mode, after.user, after.group) == (before.mode, before.user, before.group), path


def test_mm2_start_that_cannot_read_the_primary_secret_fails_before_writing_anything(pair: Pair) -> None:
    m = pair.secondary
    bootstrap(pair, m, role="secondary")
    denied = "Secrets Manager can't find the specified secret."
    pair.world.add_secret(PRIMARY_SECRET, error=("ResourceNotFoundException", denied))
    run = start(pair, m, ok=False)
    assert run.exit_code == 1
    assert lines(run.stderr)[-1] == (
        f"msk-pair: cannot read the {rep.SOURCE} SCRAM secret: An error occurred (ResourceNotFoundException) "
        f"when calling the GetSecretValue operation: {denied}"
    )
    assert m.file(rep.MM2_SECRETS) is None and m.file(rep.MM2_SECRETS + ".new") is None
    assert m.file(rep.UNIT_PATH) is None and m.service(rep.SERVICE) == {}


def test_stop_disables_the_service_and_is_safe_without_it(pair: Pair) -> None:
    m = pair.secondary
    bootstrap(pair, m, role="secondary")
    nothing = pair.run(m, rep.stop_script())  # no unit yet
    assert lines(nothing.stdout) == [rep.MARKER_STOPPED] and nothing.tools("systemctl") == []
    start(pair, m)
    run = pair.run(m, rep.stop_script())
    assert lines(run.stdout) == [rep.MARKER_STOPPED]
    assert lines(run.stderr) == [f'Removed "/etc/systemd/system/multi-user.target.wants/{rep.SERVICE}.service".']
    service = m.service(rep.SERVICE)
    assert service["state"] == "inactive" and not service["enabled"]


# -- the canary and the replication check ----------------------------------------------------------------


def test_canary_and_check_print_what_the_report_is_made_of(pair: Pair) -> None:
    p, s = pair.primary, pair.secondary
    bootstrap(pair, p)
    bootstrap(pair, s, role="secondary")
    start(pair, s)
    canary = pair.run(p, rep.canary_script(bootstrap_brokers=PRIMARY, execution=EXECUTION))
    assert lines(canary.stdout)[-1] == rep.MARKER_CANARY and canary.stderr == ""
    [producer] = canary.tools("kafka-console-producer.sh")
    assert producer.stdin == "".join(f"{EXECUTION} {n}\n" for n in range(1, rep.CANARY_RECORDS + 1))
    sent = rep.canary_result(canary.stdout, EXECUTION)
    assert sorted(sent["createTimes"], key=int) == [str(n) for n in range(1, rep.CANARY_RECORDS + 1)]
    assert sent["primaryOffset"] == rep.CANARY_RECORDS
    assert rep.CANARY_TOPIC in sent["topics"]

    # What MirrorMaker 2 would have done by now: the records on the replicated topic, the group's offset.
    replicated = rep.replicated_name(rep.CANARY_TOPIC, "prefixed")
    records = pair.world.kafka(PRIMARY)["topics"][rep.CANARY_TOPIC]["records"]
    pair.world.add_records(
        SECONDARY, replicated, [r["value"] for r in records], create_ms=records[0]["ts"], append_delay_ms=850
    )
    pair.world.commit(SECONDARY, rep.CANARY_GROUP, replicated, rep.CANARY_RECORDS)
    check = pair.run(
        s, rep.check_script(bootstrap_brokers=SECONDARY, peer_bootstrap_brokers=PRIMARY, execution=EXECUTION)
    )
    assert lines(check.stdout)[-1] == rep.MARKER_CHECK and check.stderr == ""
    seen = rep.check_result(check.stdout, EXECUTION, "prefixed")
    assert seen["seen"] == rep.CANARY_RECORDS and seen["secondaryOffset"] == rep.CANARY_RECORDS
    report = rep.report(
        deployment="orders-dr",
        replication=REPLICATION,
        canary=sent,
        check=seen,
        instance_id="i-0abc",
        clusters={
            rep.SOURCE: {"region": PRIMARY_REGION, "bootstrapBrokers": PRIMARY},
            rep.TARGET: {"region": SECONDARY_REGION, "bootstrapBrokers": SECONDARY},
        },
    )
    assert report["check"]["seen"] == rep.CANARY_RECORDS and report["check"]["p50Ms"] is not None
    assert replicated in seen["topics"]
    assert json.dumps(report).count(pair.passwords[PRIMARY_SECRET]) == 0


def test_canary_and_check_with_long_topic_names_keep_their_records_within_what_is_read_back(pair: Pair) -> None:
    """Kafka allows 249-character topic names; 200 of them (the count limit alone) are ~50,000 characters,
    past the 24,000 SSM returns and the last 20,000 command_status keeps: the records after the list would be
    cut off and the check would see 0 of 10 (found by running the scripts, issue 16.2). The list is also
    bounded by characters."""
    p, s = pair.primary, pair.secondary
    bootstrap(pair, p)
    bootstrap(pair, s, role="secondary")
    start(pair, s)
    long_names = [f"{'orders.customer-profile-updates.' * 7}{n:04d}"[:249] for n in range(300)]
    pair.world.add_topics(PRIMARY, long_names)
    canary = pair.run(p, rep.canary_script(bootstrap_brokers=PRIMARY, execution=EXECUTION))
    listed = [line for line in lines(canary.stdout) if line.startswith(rep.TOPIC_PREFIX)]
    assert 0 < len(listed) < rep.TOPICS_LISTED and sum(len(x) + 1 for x in listed) <= rep.TOPICS_LISTED_CHARS * 1.1
    returned = canary.stdout[: ssm.STDOUT_CHARS][-rep.OUTPUT_CHARS :]
    assert rep.canary_result(returned, EXECUTION)["primaryOffset"] == rep.CANARY_RECORDS
    assert returned.rstrip().endswith(rep.MARKER_CANARY)


# -- the runner itself -----------------------------------------------------------------------------------


def test_paths_are_mapped_into_the_root_or_refused() -> None:
    script = "#!/bin/bash\necho x > /etc/a\ncat /opt/b:/var/c '/home/d' >/dev/null\nX=/proc/meminfo\nsed 's/^/msk/'"
    mapped = map_paths(script, "/R")
    assert mapped.splitlines() == [
        "#!/bin/bash",
        "echo x > /R/etc/a",
        "cat /R/opt/b:/R/var/c '/R/home/d' >/dev/null",
        "X=/R/proc/meminfo",
        "sed 's/^/msk/'",
    ]
    for unsafe in ("/usr/bin/rm -rf /x", "cp a /boot/b", "echo > /proc/sys/x", "ls /etcetera /lib"):
        with pytest.raises(UnmappedPath):
            map_paths(unsafe, "/R")
    assert (
        map_paths("useradd --shell /sbin/nologin u 2>/dev/null", "/R") == "useradd --shell /sbin/nologin u 2>/dev/null"
    )


def test_a_script_writes_only_inside_its_root_and_the_default_paths_are_the_machines(pair: Pair) -> None:
    m = pair.primary
    run = pair.run(m, "#!/bin/bash\nmkdir -p /etc/msk-pair\necho hello > /etc/msk-pair/x\ncat /etc/msk-pair/x\nid -u\n")
    assert run.stdout == "hello\n0\n"
    assert m.file("/etc/msk-pair/x").text == "hello\n"
    assert str(m.root) not in run.stdout
