"""The CLI driven as a user would: subprocesses against `msk-pair emulator serve` on a free port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FILE = ROOT / "events" / "region-pair.json"


def clean_env(**extra: str) -> dict[str, str]:
    """The user's environment without AWS settings (so nothing can reach a real account)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MSK_PAIR_"))}
    env.update(
        {
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
        }
    )
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "msk_pair.cli", *args],
        cwd=ROOT,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def server():
    """An emulator server (FAST profile, pace 0) for this module; yields its URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "msk_pair.cli", "emulator", "serve", "--port", "0"],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        if "listening on " not in first:
            proc.kill()
            raise RuntimeError(f"emulator server did not start: {first!r} {proc.stderr.read()}")
        yield first.rsplit("listening on ", 1)[1].strip()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def local(server):
    """Run the CLI with --local against the module's server."""

    def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run_cli(*args, "--local", "--endpoint-url", server, timeout=timeout)

    return cli
