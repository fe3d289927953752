"""outputs.py: what a Kafka user gets from a finished deployment."""

from __future__ import annotations

import pytest

from msk_pair import outputs

OUTPUT = {
    "deploymentName": "orders-dr",
    "primary": {
        "region": "us-east-1",
        "clusterArn": "arn:aws:kafka:us-east-1:1:cluster/p/x",
        "bootstrapBrokersSaslScram": "b-1.p:9096,b-2.p:9096,b-3.p:9096",
        "scramSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:AmazonMSK_orders-dr-aaaaaa",
        "clientInstanceId": "i-0primary",
    },
    "secondary": {
        "region": "us-west-2",
        "clusterArn": "arn:aws:kafka:us-west-2:1:cluster/s/y",
        "bootstrapBrokersSaslScram": "b-1.s:9096,b-2.s:9096,b-3.s:9096",
        "scramSecretArn": "arn:aws:secretsmanager:us-west-2:1:secret:AmazonMSK_orders-dr-bbbbbb",
        "clientInstanceId": "i-0secondary",
    },
    "peering": {"vpcPeeringConnectionId": "pcx-1", "status": "active"},
}


def test_region_outputs():
    r = outputs.region_outputs(OUTPUT, "secondary")
    assert r["shellCommand"] == "aws ssm start-session --target i-0secondary --region us-west-2"
    assert r["bootstrapBrokersSaslScram"] == "b-1.s:9096,b-2.s:9096,b-3.s:9096"
    assert r["clientProperties"] == "/opt/kafka/config/client.properties"


def test_the_layer_is_the_one_source_of_the_client_paths():
    from mskpair_core import catalog, client_machine

    assert outputs.CLIENT_PROPERTIES is client_machine.CLIENT_PROPERTIES
    assert outputs.KAFKA_HOME is client_machine.KAFKA_HOME
    assert outputs.DEFAULT_SCRAM_USERNAME is catalog.DEFAULT_SCRAM_USERNAME


REPLICATION = {
    "engine": "mm2",
    "direction": "primary -> secondary",
    "topicNaming": "prefixed",
    "replicatedTopics": {"msk-pair.canary": "primary.msk-pair.canary"},
    "replicatedName": "primary.<topic>",
    "service": {
        "name": "msk-pair-mm2",
        "instanceId": "i-0secondary",
        "region": "us-west-2",
        "statusCommand": "aws ssm send-command --region us-west-2 --instance-ids i-0secondary ...",
        "configPath": "/etc/msk-pair/mm2/mm2.properties",
    },
    "check": {"sent": 10, "seen": 10, "p50Ms": 1200.0, "p99Ms": 1900.0},
    "offsetSync": {"group": "msk-pair-canary", "primaryOffset": 10, "secondaryOffset": 10},
    "consumerGroupFailover": "MirrorMaker 2 writes a consumer group's translated offsets ...",
    "prometheusScrapeConfig": "scrape_configs:\n  - job_name: msk-pair-orders-dr-jmx\n",
}


def test_mm2_properties_is_the_rendering_the_service_runs():
    from mskpair_core import replication as rep

    text = outputs.mm2_properties(OUTPUT, {"topics": "orders"})
    assert text == rep.mm2_properties(
        primary_brokers=OUTPUT["primary"]["bootstrapBrokersSaslScram"],
        secondary_brokers=OUTPUT["secondary"]["bootstrapBrokersSaslScram"],
        replication={**outputs.defaults()["replication"], "topics": "orders"},
        deployment="orders-dr",
    )
    props = outputs.parse_properties(text)
    assert props["primary->secondary.enabled"] == "true" and props["secondary->primary.enabled"] == "false"
    for role in ("primary", "secondary"):
        assert (
            f'password="${{file:/etc/msk-pair/mm2/secrets.properties:{role}.password}}";'
            in props[f"{role}.sasl.jaas.config"]
        )


def test_render_text_shows_the_service_and_its_proof():
    text = outputs.render_text({**OUTPUT, "replication": REPLICATION})
    assert "aws ssm start-session --target i-0primary --region us-east-1" in text
    assert "pcx-1 (active)" in text
    assert "the service msk-pair-mm2 on the secondary client i-0secondary (us-west-2)" in text
    assert "10 of 10 records replicated, p50 1200.0 ms, p99 1900.0 ms" in text
    assert "group msk-pair-canary at 10 on the primary, 10 on the secondary" in text
    assert "msk-pair.canary -> primary.msk-pair.canary" in text
    assert REPLICATION["service"]["statusCommand"] in text
    assert "(user msk-admin)" in text


def test_render_text_without_replication_says_how_to_get_it():
    text = outputs.render_text(OUTPUT, mm2_file="mm2.properties")
    assert "not running (replication.engine none)" in text and "--mm2 FILE (here: mm2.properties)" in text


def test_prometheus_config_comes_from_the_output_or_the_bootstrap_strings():
    assert outputs.prometheus_config({**OUTPUT, "replication": REPLICATION}) == REPLICATION["prometheusScrapeConfig"]
    scrape = outputs.prometheus_config(OUTPUT)
    assert '"b-1.p:11001"' in scrape and '"b-3.s:11002"' in scrape


def test_what_runs_in_a_session_manager_shell_uses_sudo_and_the_real_bootstrap_string():
    text = outputs.render_text(OUTPUT)
    assert (
        "sudo /opt/kafka/bin/kafka-topics.sh --bootstrap-server b-1.p:9096,b-2.p:9096,b-3.p:9096 "
        "--command-config /opt/kafka/config/client.properties --list"
    ) in text
    assert "$BOOTSTRAP" not in text


def test_an_output_without_clusters_is_refused():
    with pytest.raises(outputs.OutputError, match="secondary"):
        outputs.mm2_properties({"deploymentName": "x", "primary": OUTPUT["primary"]})


def test_parse_properties_rejects_garbage():
    with pytest.raises(ValueError):
        outputs.parse_properties("just words")
