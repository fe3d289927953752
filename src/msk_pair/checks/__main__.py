"""``python -m msk_pair.checks [iam] [asl] [shell] [--verbose]``: run the checkers, judge the findings.

Prints every finding no allow-list entry explains, and every entry that explains nothing; exits 1 if
there is any. With no checker named, all run (unused entries are only reported then).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from msk_pair.checks import asl, iam, shell
from msk_pair.checks.findings import AllowListError, Finding, judge, load_allowlist

CHECKERS: dict[str, Callable[..., list[Finding]]] = {"iam": iam.check, "asl": asl.check, "shell": shell.check}
ALLOWLIST = Path("checks") / "allowlist.txt"


def main(argv: list[str] | None = None) -> int:
    from msk_pair.emulator.engine import project_root

    parser = argparse.ArgumentParser(prog="python -m msk_pair.checks", description=__doc__)
    parser.add_argument("checkers", nargs="*", choices=[*CHECKERS, []], help="default: all")
    parser.add_argument("--verbose", "-v", action="store_true", help="also list allowed findings and notes")
    args = parser.parse_args(argv)
    root = project_root()
    names = args.checkers or list(CHECKERS)

    try:
        entries = load_allowlist(root / ALLOWLIST)
    except AllowListError as err:
        print(f"{ALLOWLIST}: {err}", file=sys.stderr)
        return 2
    findings: list[Finding] = []
    notes: list[str] = []
    for name in names:
        started = time.monotonic()
        found = CHECKERS[name](root, notes)
        findings += found
        print(f"check {name}: {len(set(found))} finding(s) in {time.monotonic() - started:.1f} s")
    verdict = judge(findings, entries, report_unused=set(names) == set(CHECKERS))

    if args.verbose:
        for note in notes:
            print(f"  note: {note}")
        for finding, entry in verdict.allowed:
            print(f"  allowed (allow-list line {entry.lineno}): {finding.line()}")
    for finding in verdict.failing:
        print(finding.line())
    for entry in verdict.unused:
        print(f"{ALLOWLIST}:{entry.lineno}: entry matches no finding (remove it): {entry.pattern}")
    print(
        f"checks: {len(verdict.failing)} unexplained finding(s), {len(verdict.allowed)} allow-listed, "
        f"{len(verdict.unused)} unused allow-list entr{'y' if len(verdict.unused) == 1 else 'ies'}"
    )
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
