"""Every user mistake is one line naming what to fix, exit 2, never a traceback (issue 14's list, walked).

Most run `main()` in this process (cheap); what depends on a real terminal or process is in
test_cli_local.py. The real-AWS code paths are served by an emulator server through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.conftest import SAMPLE_FILE, one_line_error

pytestmark = pytest.mark.xdist_group("cli-mistakes")  # one emulator server for the module, not one per worker
SAMPLE = json.loads(SAMPLE_FILE.read_text())


def _write(tmp_path, name: str, content: str | bytes | dict) -> str:
    path = tmp_path / name
    if isinstance(content, dict):
        content = json.dumps(content)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


def _usage_error(result, command: str) -> str:
    """An argparse error: exit 2, the subcommand's own usage, the error naming the option."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"usage: msk-pair {command} "), result.stderr
    return result.stderr


def test_the_list_of_mistakes_from_issue_14(main_in_process, tmp_path):
    cli = main_in_process
    # --profile FILE that does not exist (run's old name for --latency-profile)
    line = one_line_error(cli("run", "--local", str(SAMPLE_FILE), "--latency-profile", "nope.json"))
    assert line == "msk-pair: cannot read --latency-profile file nope.json: No such file or directory"
    old_name = cli("run", "--local", str(SAMPLE_FILE), "--profile", "nope.json")
    assert old_name.returncode == 2 and "--profile is deprecated here, use --latency-profile" in old_name.stderr
    # a latency profile with an unknown field
    bad_profile = _write(tmp_path, "profile.json", {"cluster_creat": 60})
    line = one_line_error(cli("run", "--local", str(SAMPLE_FILE), "--latency-profile", bad_profile))
    assert "unknown field 'cluster_creat' (did you mean 'cluster_create'?)" in line
    negative = _write(tmp_path, "negative.json", {"cluster_create": -5})
    assert "cluster_create must be a number of seconds >= 0" in one_line_error(
        cli("emulator", "serve", "--latency-profile", negative)
    )
    # --pace -1 is --pace's problem
    assert "argument --pace: must be >= 0" in _usage_error(
        cli("run", "--local", str(SAMPLE_FILE), "--pace", "-1"), "run"
    )
    assert "argument --pace: must be >= 0" in _usage_error(cli("emulator", "serve", "--pace", "-1"), "emulator serve")
    # --fail with a typo in the function or the role is refused, naming what exists
    line = one_line_error(cli("run", "--local", str(SAMPLE_FILE), "--fail", "NetworkCreate:secondary"))
    assert "no function 'NetworkCreate' in the state machine (did you mean NetworkCreateFunction?)" in line
    assert "InputValidateFunction" in line  # the valid ones are listed
    # the verb-first name of before the noun-first renaming (issue 15) points to the new one
    line = one_line_error(cli("run", "--local", str(SAMPLE_FILE), "--fail", "CreateNetworkFunction:secondary"))
    assert "(did you mean NetworkCreateFunction?)" in line
    line = one_line_error(cli("run", "--local", str(SAMPLE_FILE), "--fail", "NetworkCreateFunction:secondery"))
    assert "NetworkCreateFunction has no role 'secondery'; its roles are primary, secondary" in line
    line = one_line_error(cli("emulator", "serve", "--fail", "InputValidateFunction:primary"))
    assert "InputValidateFunction runs once, for no region" in line
    # start --profile prod: the AWS CLI habit gets a hint, and start's own usage
    err = _usage_error(cli("start", str(SAMPLE_FILE), "--profile", "prod"), "start")
    assert "--aws-profile NAME (or AWS_PROFILE=NAME)" in err
    # a subcommand's unknown option shows that subcommand's usage
    assert "unrecognized arguments: --bogus" in _usage_error(cli("status", "x", "--bogus"), "status")
    assert "unrecognized arguments: --bogus" in _usage_error(cli("emulator", "serve", "--bogus"), "emulator serve")
    # status needs something to look at
    assert "give an EXECUTION_ARN, a deployment NAME, or --deployment NAME" in one_line_error(cli("status"))


def test_input_files(main_in_process, tmp_path):
    cli = main_in_process
    # a UTF-8 byte order mark (Windows editors) is accepted
    bom = _write(tmp_path, "bom.json", b"\xef\xbb\xbf" + SAMPLE_FILE.read_bytes())
    ok = cli("validate", bom)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["deploymentName"] == SAMPLE["deploymentName"]
    # not UTF-8 at all
    latin = _write(tmp_path, "latin.json", '{"deploymentName": "caf\u00e9"}'.encode("latin-1"))
    assert "is not UTF-8 text" in one_line_error(cli("validate", latin))
    assert "must be a JSON object" in one_line_error(cli("validate", _write(tmp_path, "list.json", "[1]")))
    assert "it is a directory" in one_line_error(cli("validate", str(tmp_path)))


def test_near_misses_get_a_did_you_mean(main_in_process, tmp_path):
    cli = main_in_process
    request = dict(SAMPLE, brokerCount=3, primary={"region": "useast1", "vpcCidr": "10.0.0.0/16"})
    line = one_line_error(cli("validate", _write(tmp_path, "typos.json", request)))
    assert "brokerCount: is not a known field (did you mean 'brokersPerAz'?)" in line
    request = dict(SAMPLE, primary={"region": "useast1", "vpcCidr": "10.0.0.0/16"})
    line = one_line_error(cli("validate", _write(tmp_path, "region.json", request)))
    assert (
        "primary.region: 'useast1' is not an AWS region where Amazon MSK is available (did you mean 'us-east-1'?)"
        in line
    )
    request = dict(SAMPLE, secondary={"region": "eu-west", "vpcCIDR": "10.1.0.0/16"})
    line = one_line_error(cli("validate", _write(tmp_path, "nested.json", request)))
    assert "secondary.vpcCIDR: is not a known field (did you mean 'vpcCidr'?)" in line


def test_several_problems_are_reported_together(main_in_process, tmp_path):
    request = dict(
        SAMPLE,
        primary={"region": "useast1", "vpcCidr": "10.0.0.0/8"},
        secondary={"region": "us-west-2", "vpcCidr": "10.0.0.0/33"},
        kafkaVersion="2.0.0",
    )
    line = one_line_error(main_in_process("validate", _write(tmp_path, "many.json", request)))
    for field in ("primary.region", "primary.vpcCidr", "secondary.vpcCidr", "kafkaVersion"):
        assert f"{field}: " in line


def test_version(main_in_process):
    result = main_in_process("--version")
    assert result.returncode == 0 and re.fullmatch(r"msk-pair \d+\.\d+\.\d+\n", result.stdout)


# -- the region, as the AWS CLI v2 finds it, then samconfig.toml -------------------------------------
@pytest.fixture
def aws_endpoint(server, monkeypatch):
    """The real-AWS code path (credentials, region, the stack's output), served by the emulator."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return server


def _no_stack_region(result) -> tuple[str, str]:
    line = one_line_error(result)
    found = re.search(r"no CloudFormation stack 'msk-pair' in ([a-z0-9-]+) \(region from ([^)]+)\)", line)
    assert found, line
    return found.group(1), found.group(2)


def test_the_region_comes_from_where_the_aws_cli_looks(main_in_process, aws_endpoint, monkeypatch, tmp_path):
    cli = main_in_process
    monkeypatch.chdir(tmp_path)  # no samconfig.toml here: the project's says us-east-1
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert _no_stack_region(cli("list")) == ("eu-west-1", "AWS_REGION")
    assert _no_stack_region(cli("list", "--region", "ap-south-1")) == ("ap-south-1", "--region")
    monkeypatch.delenv("AWS_REGION")
    assert _no_stack_region(cli("list")) == ("eu-central-1", "AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    config = tmp_path / "config"
    config.write_text("[default]\nregion = sa-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert _no_stack_region(cli("list")) == ("sa-east-1", "the AWS profile")


def test_without_any_region_samconfig_toml_says_where_the_stack_is(
    main_in_process, aws_endpoint, monkeypatch, tmp_path
):
    cli = main_in_process
    monkeypatch.chdir(tmp_path)
    assert _no_stack_region(cli("list")) == ("us-east-1", "samconfig.toml")  # the project's samconfig.toml
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.global.parameters]\nstack_name = "kafka-pair"\n'
        '[default.deploy.parameters]\nregion = "ca-central-1"\n'
    )
    line = one_line_error(cli("list"))
    assert "no CloudFormation stack 'kafka-pair' in ca-central-1 (region from samconfig.toml)" in line
