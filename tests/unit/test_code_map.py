"""ARCHITECTURE.md's code map matches the files, and the emulator's layout says which AWS service each file
models and where its rules come from: each emulator module's docstring has ``AWS service:`` and ``Sources:``
right after its summary, and the table under "The emulator" lists exactly the package's files."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EMULATOR = ROOT / "src" / "msk_pair" / "emulator"
MODULES = sorted(EMULATOR.glob("*.py"))
ARCHITECTURE = (ROOT / "ARCHITECTURE.md").read_text()


def test_the_layout_names_every_module_of_the_layer_and_every_handler_directory() -> None:
    layout = ARCHITECTURE.split("## Layout", 1)[1].split("\n## ", 1)[0]
    layer = ROOT / "layers" / "common" / "python" / "mskpair_core"
    named = set(re.findall(r"[\w.]+\.py", layout))
    missing = [p.name for p in sorted(layer.glob("*.py")) if p.name != "__init__.py" and p.name not in named]
    assert not missing, f"ARCHITECTURE.md's Layout does not name {missing}"
    section = ARCHITECTURE.split("## Where each step's code lives", 1)[1].split("\n## ", 1)[0]
    dirs = {p.parent.name for p in ROOT.glob("functions/*/app.py")}
    assert {d for d in dirs if f"`{d}/`" not in section} == set(), "the step table names each functions/ directory"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_each_module_names_the_service_it_models_and_its_sources(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text()), clean=True)
    assert doc, f"{path.name} has no module docstring"
    paragraphs = doc.split("\n\n")
    assert len(paragraphs) >= 2, path.name
    second = paragraphs[1].splitlines()
    assert second[0].startswith("AWS service: "), f"{path.name}: the paragraph after the summary names the service"
    assert any(line.startswith("Sources: ") for line in second), f"{path.name}: ... and the sources"


def test_architecture_lists_every_emulator_file_once() -> None:
    section = ARCHITECTURE.split("## The emulator", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+\.py)` \|", section, re.M)
    assert sorted(rows) == sorted(p.name for p in MODULES)
    assert len(rows) == len(set(rows))
