"""Shared fixtures: the emulator with the project's real state machine, the sample input, and moto with
the emulator's rules (``emulated_clock``, ``moto_world``; see the ``moto_world`` marker)."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from msk_pair.emulator import clock, extensions, mock_config, profile
from msk_pair.emulator.cfn import load_template, managed_policies
from msk_pair.emulator.clock import VirtualClock
from msk_pair.emulator.engine import Emulator
from msk_pair.emulator.inventory import inventory
from msk_pair.emulator.profile import FAST, LatencyProfile
from mskpair_core import aws

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "events" / "region-pair.json").read_text())
REGIONS = [SAMPLE["primary"]["region"], SAMPLE["secondary"]["region"]]
TEARDOWN_REQUEST = {
    "deploymentName": SAMPLE["deploymentName"],
    "mode": "teardown",
    "primary": {"region": SAMPLE["primary"]["region"]},
    "secondary": {"region": SAMPLE["secondary"]["region"]},
}
"""The teardown entry point's input for the sample deployment."""
EPOCH = 1_700_000_000.0
"""Where the emulated clock of ``emulated_clock`` and ``moto_world`` starts."""
DEFAULT_EXTENSIONS: list[ModuleType] = [ext for ext in extensions.ALL if ext is not mock_config]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "moto_world(extensions=None, profile=FAST): what the emulated_clock and moto_world fixtures set up: "
        "the emulator extensions to install, in this order (default: extensions.ALL but mock_config), and "
        "the latency profile to make active (None: leave the active one)",
    )


# -- a default run must run the suite --------------------------------------------------------------------
MIN_TESTS_RUN_BY_DEFAULT = 300
"""The default run (``make test``: no paths, ``-k``, ``-m``...) runs ~470 tests. pytest exits 5 only when it
collects none, but the deployed-stack tier (tests/integration) is always collected and skipped here, so a
broken collection would otherwise pass with a handful of skips. Fewer tests than this that actually ran
fails the run; lower it only when tests are really removed."""
_SELECTING = ("keyword", "markexpr", "lf", "stepwise", "deselect", "ignore", "ignore_glob", "collectonly")
_ran = 0


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _ran
    if report.when == "call" and not report.skipped:
        _ran += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if hasattr(config, "workerinput") or exitstatus != pytest.ExitCode.OK:
        return  # an xdist worker (the controller counts every report), or the run fails anyway
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return  # paths given: a partial run on purpose
    if any(getattr(config.option, name, None) for name in _SELECTING):
        return
    if _ran < MIN_TESTS_RUN_BY_DEFAULT:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")
            reporter.write_line(
                f"ERROR: only {_ran} tests ran in the default run, fewer than {MIN_TESTS_RUN_BY_DEFAULT} "
                "(tests/conftest.py MIN_TESTS_RUN_BY_DEFAULT): the suite is not being collected",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _world_options(request: pytest.FixtureRequest) -> tuple[list[ModuleType], LatencyProfile | None]:
    marker = request.node.get_closest_marker("moto_world")
    options = marker.kwargs if marker is not None else {}
    chosen = options.get("extensions")
    return list(DEFAULT_EXTENSIONS if chosen is None else chosen), options.get("profile", FAST)


@pytest.fixture
def sample() -> dict:
    return copy.deepcopy(SAMPLE)


@pytest.fixture
def emu():
    with Emulator(root=ROOT, profile=FAST) as emulator:
        yield emulator


def make_client_role_boundary() -> str:
    """The template's ClientRoleBoundary, made in moto as the stack would make it; returns its ARN."""
    iam = boto3.client("iam", region_name="us-east-1")
    arn, document = managed_policies(load_template(ROOT))["ClientRoleBoundary"]
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_policy(PolicyName=arn.rsplit("/", 1)[1], PolicyDocument=json.dumps(document))
    return arn


def leftovers(deployment: str = SAMPLE["deploymentName"], regions: list[str] = REGIONS) -> dict:
    """Every resource still tagged with the deployment, in both regions and IAM."""
    return inventory(deployment, regions)


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials in the environment (request it before ``moto_world`` to set them first)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def emulated_clock(request: pytest.FixtureRequest) -> Iterator[VirtualClock]:
    """A fresh emulated clock (from :data:`EPOCH`) as the current one and the marker's latency profile
    (FAST unless the ``moto_world`` marker says otherwise) as the active one; both undone afterwards."""
    _, latency = _world_options(request)
    previous = profile.active()
    vc = VirtualClock(start=EPOCH)
    clock.set_current(vc)
    if latency is not None:
        profile.set_active(latency)
    try:
        yield vc
    finally:
        profile.set_active(previous)
        clock.set_current(None)


@pytest.fixture
def moto_world(request: pytest.FixtureRequest, emulated_clock: VirtualClock) -> Iterator[VirtualClock]:
    """moto with the emulator's rules: ``emulated_clock``, ``mock_aws()``, the marker's extensions installed
    in order, and fresh library clients (``mskpair_core.aws.reset_clients``); all undone afterwards.
    Yields the emulated clock."""
    chosen, _ = _world_options(request)
    with mock_aws():
        done: list[ModuleType] = []
        try:
            for ext in chosen:
                ext.install()
                done.append(ext)
            aws.reset_clients()
            yield emulated_clock
        finally:
            for ext in reversed(done):
                ext.uninstall()
            aws.reset_clients()


@pytest.fixture
def vclock(moto_world: VirtualClock) -> VirtualClock:
    """The emulated clock of ``moto_world`` (a test file may narrow it to ``emulated_clock``)."""
    return moto_world
