"""Issue 16: the whole state machine with the client scripts run for real (ssm.set_run_scripts, rule 9).

The SSM commands' output in the SSM API is then what the bootstrap and the verification printed when run
(``bash -euo pipefail`` on a throwaway root per instance, see script_runner.py), not their ``echo`` lines,
and it holds no SCRAM password; nor does the execution's history.
"""

from __future__ import annotations

import json

import boto3

from msk_pair.emulator import ssm as ssm_emulator
from mskpair_core import client_machine as cm


def test_the_ssm_output_is_the_scripts_real_output_without_the_password(emu, sample):
    ssm_emulator.set_run_scripts(True)
    result = emu.run(sample)
    assert result.status == "SUCCEEDED", result.cause
    history = result.history_text()
    for role in ("primary", "secondary"):
        out = result.output[role]
        region, instance = sample[role]["region"], out["clientInstanceId"]
        secret = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=out["scramSecretArn"])
        password = json.loads(secret["SecretString"])["password"]
        ssm = boto3.client("ssm", region_name=region)
        commands = [c for c in ssm_emulator.sent_commands(region) if instance in c["instanceIds"]]
        bootstrap, verify = commands[:2]
        outputs = {}
        for name, command in (("bootstrap", bootstrap), ("verify", verify)):
            inv = ssm.get_command_invocation(CommandId=command["commandId"], InstanceId=instance)
            assert inv["Status"] == "Success", inv["StandardErrorContent"]
            outputs[name] = inv["StandardOutputContent"]
            for text in (inv["StandardOutputContent"], inv["StandardErrorContent"]):
                assert password not in text, f"the {role} password is in the {name} command's output"
        # What only a real run prints: dnf's last line, the checksum verified, Kafka's own answers.
        assert "Complete!" in outputs["bootstrap"]
        assert "msk-pair: SHA-512 of the Kafka archive verified" in outputs["bootstrap"]
        assert outputs["bootstrap"].rstrip().endswith(cm.BOOTSTRAP_MARKER)
        assert f"Created topic {cm.SMOKE_TEST_TOPIC}." in outputs["verify"]
        assert f"Topic: {cm.SMOKE_TEST_TOPIC}\tTopicId: " in outputs["verify"]
        other = "secondary" if role == "primary" else "primary"
        for broker in result.output[other]["bootstrapBrokersSaslScram"].split(","):
            assert f"msk-pair: reached {broker}" in outputs["verify"]
        assert out["smokeTestPassed"] is True
        # The machine the scripts ran on: the password only in client.properties, which is root's, 0600.
        machine = ssm_emulator.script_machine(instance)
        assert machine is not None
        props = machine.file(cm.CLIENT_PROPERTIES)
        assert (props.mode, props.user) == (0o600, "root")
        assert machine.holding(password) == [machine.realpath(cm.CLIENT_PROPERTIES)]
        assert password not in history
