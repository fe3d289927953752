"""The Lambda layer's library (``mskpair_core``) importable from the project's own package.

The CLI and ``outputs.py`` use the layer's own constants and functions (one source of truth),
so the layer's directory goes on ``sys.path`` the way Lambda puts a layer's ``python/`` there.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def project_root() -> Path:
    """The checkout this package runs from (the directory holding template.yaml)."""
    env = os.environ.get("MSK_PAIR_ROOT")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "template.yaml").exists():
            return parent
    return Path.cwd()


def layer_path() -> Path:
    return project_root() / "layers" / "common" / "python"


def ensure_on_path() -> None:
    """Put ``layers/common/python`` on ``sys.path`` (once) so that ``import mskpair_core`` works."""
    layer = str(layer_path())
    if layer not in sys.path:
        sys.path.insert(0, layer)
