"""mskpair_core.replication: the MirrorMaker 2 configuration, the scripts, and reading what they print."""

from __future__ import annotations

import re

import pytest

from mskpair_core import catalog
from mskpair_core import replication as rep

PRIMARY = ",".join(f"b-{n}.orders-dr-primary.abc123.c2.kafka.us-east-1.amazonaws.com:9096" for n in (1, 2, 3))
SECONDARY = ",".join(f"b-{n}.orders-dr-secondary.def456.c2.kafka.us-west-2.amazonaws.com:9096" for n in (1, 2, 3))
PRIMARY_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:AmazonMSK_orders-dr-AbCdEf"
SECONDARY_SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:AmazonMSK_orders-dr-GhIjKl"
DEFAULTS = catalog.defaults()["replication"]


def settings(**replication: object) -> dict[str, str]:
    return dict(
        rep.mm2_settings(primary_brokers=PRIMARY, secondary_brokers=SECONDARY, replication={**DEFAULTS, **replication})
    )


# -- MirrorMaker 2's configuration names, per Kafka version msk-pair installs (catalog.KAFKA_CLIENT_VERSIONS) --
# Written from Apache Kafka's source (apache/kafka; nothing of it copied here), the classes that define what
# mm2.properties may hold in dedicated mode (connect-mirror-maker.sh):
#   connect/mirror/.../MirrorMakerConfig.java          clusters, config.providers; workerConfig(): the worker
#                                                      gets the target cluster's prefixed keys and the top-level
#                                                      offset.storage*, config.storage*, status.storage* keys
#   connect/mirror/.../MirrorConnectorConfig.java      enabled (per flow "a->b."), replication.policy.class
#   connect/mirror/.../MirrorSourceConfig.java         topics, topics.exclude, refresh.topics.*, sync.topic.*,
#                                                      replication.factor, offset-syncs.topic.replication.factor
#   connect/mirror/.../MirrorCheckpointConfig.java     groups, groups.exclude, refresh.groups.*, emit.checkpoints.*,
#                                                      sync.group.offsets.*, checkpoints.topic.replication.factor
#   connect/mirror/.../MirrorHeartbeatConfig.java      emit.heartbeats.*, heartbeats.topic.replication.factor
#   connect/mirror/.../DefaultTopicFilter.java, DefaultGroupFilter.java: topics(.exclude), groups(.exclude), and
#                                                      in 3.x the deprecated aliases topics.blacklist, groups.blacklist
#   connect/runtime/.../distributed/DistributedConfig.java: offset/config/status.storage.replication.factor
#   connect/runtime/.../WorkerConfig.java              offset.flush.interval.ms; config.providers.<name>.class
#   clients/.../CommonClientConfigs.java, SaslConfigs.java, SslConfigs.java: the client keys, per cluster alias
# At these refs of the repository (the mirror this was checked against holds no tag 3.9.1, 4.0.0 or 4.1.0;
# the nearest ref is named, and none of the names used here changed between them):
#   3.8.1: tag 3.8.1-rc1 (commit 70d6ff42deb, the release candidate that is 3.8.1, gradle.properties version=3.8.1)
#   3.9.1: branch 3.9 at commit c821449fb7c (2024-10-21, version=3.9.0-SNAPSHOT)
#   4.0.0, 4.1.0: trunk at commit 1eb7644349c (2024-10-25, version=4.0.0-SNAPSHOT), where the *.blacklist
#                 aliases are already gone (removed for 4.0; 3.x still defines them, deprecated)
_MM2_3X = {
    "clusters",
    "config.providers",
    "replication.policy.class",
    "topics",
    "topics.exclude",
    "topics.blacklist",
    "config.properties.exclude",
    "config.properties.blacklist",
    "refresh.topics.enabled",
    "refresh.topics.interval.seconds",
    "sync.topic.configs.enabled",
    "sync.topic.configs.interval.seconds",
    "sync.topic.acls.enabled",
    "sync.topic.acls.interval.seconds",
    "replication.factor",
    "offset-syncs.topic.replication.factor",
    "offset-syncs.topic.location",
    "offset.lag.max",
    "groups",
    "groups.exclude",
    "groups.blacklist",
    "refresh.groups.enabled",
    "refresh.groups.interval.seconds",
    "emit.checkpoints.enabled",
    "emit.checkpoints.interval.seconds",
    "sync.group.offsets.enabled",
    "sync.group.offsets.interval.seconds",
    "checkpoints.topic.replication.factor",
    "emit.heartbeats.enabled",
    "emit.heartbeats.interval.seconds",
    "heartbeats.topic.replication.factor",
    "offset.storage.replication.factor",
    "config.storage.replication.factor",
    "status.storage.replication.factor",
}
_GONE_IN_4 = {"topics.blacklist", "groups.blacklist", "config.properties.blacklist"}
MM2_NAMES: dict[str, set[str]] = {
    "3.8.1": _MM2_3X,
    "3.9.1": _MM2_3X | {"emit.offset-syncs.enabled"},  # KIP-1031, new in 3.9
    "4.0.0": (_MM2_3X - _GONE_IN_4) | {"emit.offset-syncs.enabled", "heartbeats.replication.enabled"},
    "4.1.0": (_MM2_3X - _GONE_IN_4) | {"emit.offset-syncs.enabled", "heartbeats.replication.enabled"},
}
FLOW_NAMES = {"enabled"}  # MirrorConnectorConfig ENABLED, as "<source>-><target>.enabled"
CLIENT_NAMES = {
    "bootstrap.servers",
    "security.protocol",
    "sasl.mechanism",
    "sasl.jaas.config",
    "ssl.truststore.location",
}
WORKER_NAMES = {"offset.flush.interval.ms"}  # WorkerConfig: reaches the worker only as "<target>.<key>"
PROVIDER_CLASS = re.compile(r"config\.providers\.[a-z]+\.class")  # WorkerConfig CONFIG_PROVIDERS_CONFIG's doc


def test_every_supported_kafka_version_has_its_names():
    assert set(MM2_NAMES) == set(catalog.KAFKA_CLIENT_VERSIONS.values())


@pytest.mark.parametrize("version", sorted(MM2_NAMES))
@pytest.mark.parametrize("naming", ["prefixed", "identical"])
def test_mm2_properties_uses_only_names_that_kafka_version_accepts(version, naming):
    text = rep.mm2_properties(
        primary_brokers=PRIMARY, secondary_brokers=SECONDARY, replication={**DEFAULTS, "topicNaming": naming}
    )
    parsed = rep.parse_properties(text)
    aliases = [a.strip() for a in parsed["clusters"].split(",")]
    assert aliases == [rep.SOURCE, rep.TARGET]
    for key in parsed:
        flow = re.fullmatch(r"(\w+)->(\w+)\.(.+)", key)
        alias = key.split(".", 1)[0]
        if flow:
            assert flow[1] in aliases and flow[2] in aliases and flow[3] in FLOW_NAMES, key
        elif alias in aliases:
            name = key.split(".", 1)[1]
            assert name in CLIENT_NAMES or (name in WORKER_NAMES and alias == rep.TARGET), key
        else:
            assert key in MM2_NAMES[version] or PROVIDER_CLASS.fullmatch(key), (version, key)
        assert key not in _GONE_IN_4  # not even in 3.x, where they are deprecated


def test_mm2_properties_say_what_the_issue_asks():
    s = settings()
    assert s["primary->secondary.enabled"] == "true" and s["secondary->primary.enabled"] == "false"
    assert s["sync.group.offsets.enabled"] == s["emit.checkpoints.enabled"] == s["emit.heartbeats.enabled"] == "true"
    for key in (
        "replication.factor",
        "checkpoints.topic.replication.factor",
        "heartbeats.topic.replication.factor",
        "offset-syncs.topic.replication.factor",
        "offset.storage.replication.factor",
        "status.storage.replication.factor",
        "config.storage.replication.factor",
    ):
        assert s[key] == "3", key
    assert int(s["refresh.topics.interval.seconds"]) <= 10 and int(s["refresh.groups.interval.seconds"]) <= 10
    assert s["replication.policy.class"] == "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
    assert settings(topicNaming="identical")["replication.policy.class"].endswith(".IdentityReplicationPolicy")
    assert settings(syncGroupOffsets=False)["sync.group.offsets.enabled"] == "false"
    assert s["config.providers.file.class"] == "org.apache.kafka.common.config.provider.FileConfigProvider"
    for alias in ("primary", "secondary"):
        jaas = s[f"{alias}.sasl.jaas.config"]
        assert f'password="${{file:{rep.MM2_SECRETS}:{alias}.password}}"' in jaas
        assert s[f"{alias}.security.protocol"] == "SASL_SSL" and s[f"{alias}.sasl.mechanism"] == "SCRAM-SHA-512"


def test_the_canary_is_always_replicated_and_regexes_survive_the_properties_file():
    s = settings(topics=r"orders\..*, payments", groups="billing-.*")
    assert s["topics"] == r"orders\..*, payments, msk-pair\.canary"
    assert s["groups"] == "billing-.*, msk-pair-canary"
    # java.util.Properties drops a lone backslash: the file doubles them, parse_properties reads them back
    text = rep.mm2_properties(
        primary_brokers=PRIMARY, secondary_brokers=SECONDARY, replication={**DEFAULTS, "topics": r"orders\..*"}
    )
    assert r"topics = orders\\..*, msk-pair\\.canary" in text
    assert rep.parse_properties(text)["topics"] == r"orders\..*, msk-pair\.canary"
    assert "msk-pair-smoke-test" in s["topics.exclude"]


def test_replicated_names_follow_the_policy():
    assert rep.replicated_name("orders", "prefixed") == "primary.orders"
    assert rep.replicated_name("orders", "identical") == "orders"
    found = rep.replicated_topics(
        ["orders", "msk-pair.canary", "msk-pair-smoke-test", "__consumer_offsets", "other"],
        ["primary.orders", "primary.msk-pair.canary", "primary.heartbeats", "primary.checkpoints.internal"],
        {**DEFAULTS, "topics": "orders"},
    )
    assert found == {"orders": "primary.orders", "msk-pair.canary": "primary.msk-pair.canary"}


def _start(**replication: object) -> str:
    return rep.start_script(
        deployment="orders-dr",
        primary_brokers=PRIMARY,
        secondary_brokers=SECONDARY,
        primary_secret_arn=PRIMARY_SECRET,
        primary_region="us-east-1",
        secondary_secret_arn=SECONDARY_SECRET,
        secondary_region="us-west-2",
        replication={**DEFAULTS, **replication},
    )


def test_start_script_renders_config_on_the_machine_without_a_password():
    script = _start()
    # both secrets are read on the machine, the primary's in its own region (across regions)
    assert f"PRIMARY_SECRET_ARN={PRIMARY_SECRET}" in script and "PRIMARY_REGION=us-east-1" in script
    assert f"SECONDARY_SECRET_ARN={SECONDARY_SECRET}" in script and "SECONDARY_REGION=us-west-2" in script
    assert "get-secret-value" in script
    props = rep.parse_properties(
        rep.mm2_properties(primary_brokers=PRIMARY, secondary_brokers=SECONDARY, replication=DEFAULTS)
    )
    for key, value in props.items():  # every password is a FileConfigProvider reference, never a value
        assert "password" not in re.sub(r'password="\$\{file:[^}]+\}"', "", value), key
    # the secrets file: written with umask 077, then the service user's only, read-only
    assert f"chown {rep.SERVICE_USER}:{rep.SERVICE_USER} {rep.MM2_SECRETS}" in script
    assert f"chmod 0400 {rep.MM2_SECRETS}" in script
    assert script.index("umask 077") < script.index(f"python3 - {rep.MM2_SECRETS}.new")
    # the unit: restart on failure, started at boot, heap from the machine's memory, its own user and log dir
    for line in (
        "Restart=on-failure",
        "WantedBy=multi-user.target",
        f"User={rep.SERVICE_USER}",
        f"LogsDirectory={rep.SERVICE}",
        f"ExecStart=/opt/kafka/bin/connect-mirror-maker.sh {rep.MM2_PROPERTIES}",
        'Environment="KAFKA_HEAP_OPTS=-Xms256m -Xmx${HEAP_MB}m"',
    ):
        assert line in script, line
    assert f"systemctl enable {rep.SERVICE}" in script
    # restart only when a file changed or the service is not running: a re-run changes nothing
    assert f'if [ "$CHANGED" = 1 ] || ! systemctl is-active --quiet {rep.SERVICE}; then' in script
    assert "message.timestamp.type=LogAppendTime" in script and "REPLICATED_CANARY=primary.msk-pair.canary" in script
    assert "REPLICATED_CANARY=msk-pair.canary" in _start(topicNaming="identical")


def test_canary_and_check_scripts():
    canary = rep.canary_script(bootstrap_brokers=PRIMARY, execution="run-42")
    assert f'seq -f "$CANARY_ID %g" 1 {rep.CANARY_RECORDS}' in canary and "CANARY_ID=run-42" in canary
    assert f"--group {rep.CANARY_GROUP}" in canary and f"--max-messages {rep.CANARY_RECORDS}" in canary
    check = rep.check_script(bootstrap_brokers=SECONDARY, peer_bootstrap_brokers=PRIMARY, execution="run-42")
    assert "TOPIC=primary.msk-pair.canary" in check and f"DEADLINE=$((SECONDS + {rep.CANARY_TIMEOUT_SECONDS}))" in check
    assert "--describe --group msk-pair-canary" in check
    no_sync = rep.check_script(
        bootstrap_brokers=SECONDARY, peer_bootstrap_brokers=PRIMARY, execution="run-42", sync_group_offsets=False
    )
    assert "kafka-consumer-groups.sh" not in no_sync
    # any execution name gives a safe tag (Step Functions allows dots, non-ASCII letters...)
    assert "CANARY_ID=run_42__rm_-rf__" in rep.canary_script(bootstrap_brokers=PRIMARY, execution="run 42; rm -rf /")
    assert rep.canary_id("déploiement.1") == "d_ploiement.1"
    with pytest.raises(ValueError):
        rep.canary_id("")
    with pytest.raises(ValueError):
        rep.check_script(bootstrap_brokers="not brokers", peer_bootstrap_brokers=PRIMARY, execution="x")


# Kafka's output formats: DefaultMessageFormatter (print.timestamp, print.offset: tab-separated) and
# ConsumerGroupCommand's --describe table (each row printed after a newline).
CANARY_OUTPUT = (
    "msk-pair topic: msk-pair.canary\nmsk-pair topic: orders\n"
    + "".join(f"msk-pair canary sent: CreateTime:{1000 + n}\tOffset:{n - 1}\trun-42 {n}\n" for n in range(1, 11))
    + "msk-pair canary sent: CreateTime:5\tOffset:20\tanother-run 1\n"
    + "msk-pair group: \n"
    + "msk-pair group: GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG\n"
    + "msk-pair group: msk-pair-canary msk-pair.canary 0          10              10              0\n"
)
CHECK_OUTPUT = (
    "msk-pair topic: primary.msk-pair.canary\nmsk-pair topic: primary.orders\n"
    + "".join(
        f"msk-pair canary seen: LogAppendTime:{2000 + n * 10}\tOffset:{n - 1}\trun-42 {n}\n" for n in range(1, 11)
    )
    + "msk-pair group: msk-pair-canary primary.msk-pair.canary 0          10              10              0\n"
)


def test_reading_what_the_scripts_printed():
    canary = rep.canary_result(CANARY_OUTPUT, "run-42")
    assert canary["primaryOffset"] == 10 and canary["topics"] == ["msk-pair.canary", "orders"]
    assert canary["createTimes"] == {str(n): 1000 + n for n in range(1, 11)}  # another run's record is not ours
    check = rep.check_result(CHECK_OUTPUT, "run-42", "prefixed")
    assert check["seen"] == 10 and check["secondaryOffset"] == 10
    report = rep.report(
        deployment="orders-dr",
        replication=DEFAULTS,
        canary=canary,
        check=check,
        instance_id="i-0123",
        clusters={
            "primary": {"region": "us-east-1", "bootstrapBrokers": PRIMARY},
            "secondary": {"region": "us-west-2", "bootstrapBrokers": SECONDARY},
        },
    )
    assert report["check"] == {"sent": 10, "seen": 10, "p50Ms": 1045.0, "p99Ms": 1090.0}  # 1000+9n ms: nearest rank
    assert report["offsetSync"] == {"group": "msk-pair-canary", "primaryOffset": 10, "secondaryOffset": 10}
    assert report["replicatedTopics"] == {"msk-pair.canary": "primary.msk-pair.canary", "orders": "primary.orders"}
    assert "systemctl status msk-pair-mm2" in report["service"]["statusCommand"]
    assert "--instance-ids i-0123" in report["service"]["statusCommand"]
    assert "no active member" in report["consumerGroupFailover"]
    scrape = report["prometheusScrapeConfig"]
    assert scrape.count("11001") == 6 and scrape.count("11002") == 6 and "job_name: msk-pair-orders-dr-jmx" in scrape


def test_report_fails_without_every_canary_record_or_the_offset():
    canary = rep.canary_result(CANARY_OUTPUT, "run-42")
    clusters = {r: {"region": "us-east-1", "bootstrapBrokers": PRIMARY} for r in ("primary", "secondary")}
    partial = rep.check_result("\n".join(CHECK_OUTPUT.splitlines()[:5]), "run-42", "prefixed")
    with pytest.raises(rep.ReplicationFailed, match="3 of 10 records"):
        rep.report(
            deployment="d", replication=DEFAULTS, canary=canary, check=partial, instance_id="i", clusters=clusters
        )
    no_offset = {**rep.check_result(CHECK_OUTPUT, "run-42", "prefixed"), "secondaryOffset": None}
    with pytest.raises(rep.ReplicationFailed, match="offset sync"):
        rep.report(
            deployment="d", replication=DEFAULTS, canary=canary, check=no_offset, instance_id="i", clusters=clusters
        )
    unsynced = rep.report(
        deployment="d",
        replication={**DEFAULTS, "syncGroupOffsets": False},
        canary=canary,
        check=no_offset,
        instance_id="i",
        clusters=clusters,
    )
    assert unsynced["offsetSync"] is None


def test_percentile_is_nearest_rank():
    assert rep.percentile([], 50) is None
    assert rep.percentile([5.0], 99) == 5.0
    assert rep.percentile([float(n) for n in range(1, 101)], 50) == 50.0
    assert rep.percentile([float(n) for n in range(1, 101)], 99) == 99.0
