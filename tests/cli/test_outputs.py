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


def test_mm2_properties_replicates_primary_to_secondary_without_passwords():
    text = outputs.mm2_properties(OUTPUT, username="kafka-admin")
    props = outputs.parse_properties(text)
    assert props["clusters"] == "primary, secondary"
    assert props["primary.bootstrap.servers"] == "b-1.p:9096,b-2.p:9096,b-3.p:9096"
    assert props["secondary.bootstrap.servers"] == "b-1.s:9096,b-2.s:9096,b-3.s:9096"
    assert props["primary->secondary.enabled"] == "true"
    assert props["secondary->primary.enabled"] == "false"
    assert props["topics"] == ".*"
    assert props["sync.topic.acls.enabled"] == "false"
    assert props["replication.factor"] == "3"
    assert props["config.providers"] == "file"
    assert props["config.providers.file.class"] == "org.apache.kafka.common.config.provider.FileConfigProvider"
    for role in ("primary", "secondary"):
        assert props[f"{role}.security.protocol"] == "SASL_SSL"
        assert props[f"{role}.sasl.mechanism"] == "SCRAM-SHA-512"
        jaas = props[f"{role}.sasl.jaas.config"]
        assert jaas.startswith("org.apache.kafka.common.security.scram.ScramLoginModule required")
        assert 'username="kafka-admin"' in jaas
        assert f'password="${{file:/opt/kafka/config/mm2-secrets.properties:{role}.password}}";' in jaas
    # each secret ARN is named, so the user knows what to fetch
    assert OUTPUT["primary"]["scramSecretArn"] in text and OUTPUT["secondary"]["scramSecretArn"] in text


def test_default_username_and_render_text():
    assert 'username="msk-admin"' in outputs.mm2_properties(OUTPUT)
    text = outputs.render_text(OUTPUT)
    assert "aws ssm start-session --target i-0primary --region us-east-1" in text
    assert "pcx-1 (active)" in text
    assert "connect-mirror-maker.sh" in text
    assert "mm2-secrets.properties" in text


def test_secrets_instructions_never_hold_a_value():
    lines = outputs.mm2_secrets_instructions(OUTPUT)
    assert lines[0] == "sudo sh -c 'umask 077; : > /opt/kafka/config/mm2-secrets.properties'"
    for line in lines[1:]:
        # the value goes from the AWS CLI through a pipe into root's file, never onto a command line
        assert "aws secretsmanager get-secret-value --secret-id arn:" in line
        assert line.endswith("| sudo tee -a /opt/kafka/config/mm2-secrets.properties > /dev/null")


def test_what_runs_in_a_session_manager_shell_uses_sudo_and_the_real_bootstrap_string():
    text = outputs.render_text(OUTPUT)
    assert (
        "sudo /opt/kafka/bin/kafka-topics.sh --bootstrap-server b-1.p:9096,b-2.p:9096,b-3.p:9096 "
        "--command-config /opt/kafka/config/client.properties --list"
    ) in text
    assert "$BOOTSTRAP" not in text
    assert "sudo /opt/kafka/bin/connect-mirror-maker.sh /opt/kafka/config/mm2.properties" in text
    assert "sudo tee /opt/kafka/config/mm2.properties" in text


def test_an_output_without_clusters_is_refused():
    with pytest.raises(outputs.OutputError, match="secondary"):
        outputs.mm2_properties({"deploymentName": "x", "primary": OUTPUT["primary"]})


def test_parse_properties_rejects_garbage():
    with pytest.raises(ValueError):
        outputs.parse_properties("just words")
