"""Layer build step: keep one copy of what every runtime's dependencies have in common.

``Makefile`` installs the layer's requirements once per runtime, into
``python/lib/python3.X/site-packages``, because some wheels hold code compiled for one CPython
(``pydantic_core``, ``wrapt``). Most of what pip installs is the same bytes for every version
(botocore alone is ~30 MB). Lambda puts both ``python/`` and ``python/lib/python3.X/site-packages``
of a layer on ``sys.path`` ("Layer paths for each Lambda runtime",
https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths), so an
entry that is byte-identical in every site-packages is moved once to ``python/``; anything that
differs in any version, or exists in only some, stays per version. Every runtime then imports exactly
what pip installed for it, from a layer less than half the size (the unzipped function and its layers
share one 250 MB quota, ``CodeSizeUnzipped`` in
https://docs.aws.amazon.com/lambda/latest/api/API_AccountLimit.html).

Usage: ``python3 hoist_shared.py ARTIFACTS_DIR/python 3.12 3.13 ...`` (standard library only: it runs
in ``sam build`` with whatever ``python3`` is on PATH).
"""

from __future__ import annotations

import filecmp
import shutil
import sys
from pathlib import Path


def same_tree(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are the same file bytes, or directories with the same names and contents."""
    if a.is_symlink() or b.is_symlink():
        return False
    if a.is_dir() and b.is_dir():
        names = sorted(p.name for p in a.iterdir())
        if names != sorted(p.name for p in b.iterdir()):
            return False
        return all(same_tree(a / name, b / name) for name in names)
    if a.is_file() and b.is_file():
        return filecmp.cmp(a, b, shallow=False)
    return False


def site_packages(python_dir: Path, version: str) -> Path:
    return python_dir / "lib" / f"python{version}" / "site-packages"


def hoist(python_dir: Path, versions: list[str]) -> list[str]:
    """Move every entry identical in all versions' site-packages to ``python_dir``; return their names."""
    sites = [site_packages(python_dir, v) for v in versions]
    for site in sites:
        if not site.is_dir():
            raise SystemExit(f"hoist_shared: {site} does not exist (was pip run for every version?)")
    moved = []
    for entry in sorted(sites[0].iterdir()):
        copies = [site / entry.name for site in sites[1:]]
        if not all(copy.exists() and same_tree(entry, copy) for copy in copies):
            continue
        target = python_dir / entry.name
        if target.exists():
            raise SystemExit(f"hoist_shared: {target} already exists; a dependency collides with the layer's code")
        shutil.move(str(entry), str(target))
        for copy in copies:
            if copy.is_dir():
                shutil.rmtree(copy)
            else:
                copy.unlink()
        moved.append(entry.name)
    return moved


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    python_dir, versions = Path(argv[0]), argv[1:]
    moved = hoist(python_dir, versions)
    kept = sorted(p.name for p in site_packages(python_dir, versions[0]).iterdir())
    print(f"hoist_shared: {len(moved)} entries shared by python{', python'.join(versions)}; per version: {kept}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
