"""Shared fixtures: the emulator with the project's real state machine, and the sample input."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from msk_pair.emulator.engine import Emulator
from msk_pair.emulator.inventory import inventory
from msk_pair.emulator.profile import FAST

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = json.loads((ROOT / "events" / "region-pair.json").read_text())
REGIONS = [SAMPLE["primary"]["region"], SAMPLE["secondary"]["region"]]


@pytest.fixture
def sample() -> dict:
    return copy.deepcopy(SAMPLE)


@pytest.fixture
def emu():
    with Emulator(root=ROOT, profile=FAST) as emulator:
        yield emulator


def leftovers(deployment: str = SAMPLE["deploymentName"], regions: list[str] = REGIONS) -> dict:
    """Every resource still tagged with the deployment, in both regions and IAM."""
    return inventory(deployment, regions)
