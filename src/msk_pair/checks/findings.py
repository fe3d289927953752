"""A finding of an independent checker, and the allow-list that explains known ones.

A finding prints as one line, ``<location>: <check>: <detail>``. The allow-list
(``checks/allowlist.txt``) has one entry per line, ``<pattern> # <reason>``: the
pattern matches a whole finding line, case-insensitively, ``*`` standing for any
text (nothing else is special). An entry without a reason is an error, and so is an entry that
matches no finding: the list explains today's findings, never yesterday's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Finding:
    location: str  # what was checked: a policy statement, a state machine, a script line
    check: str  # the tool and its rule, e.g. "parliament.RESOURCE_MISMATCH", "shellcheck.SC2086"
    detail: str

    def line(self) -> str:
        return f"{self.location}: {self.check}: {self.detail}"


@dataclass
class Entry:
    pattern: str
    reason: str
    lineno: int
    regex: re.Pattern[str] = field(repr=False)
    used: bool = False


class AllowListError(ValueError):
    pass


def parse_allowlist(text: str) -> list[Entry]:
    entries = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, sep, reason = line.partition(" # ")
        pattern, reason = pattern.strip(), reason.strip()
        if not sep or not reason or not pattern:
            raise AllowListError(f"allow-list line {lineno}: expected '<pattern> # <reason>', got {raw!r}")
        regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL | re.IGNORECASE)
        entries.append(Entry(pattern=pattern, reason=reason, lineno=lineno, regex=regex))
    return entries


def load_allowlist(path: Path) -> list[Entry]:
    return parse_allowlist(path.read_text()) if path.exists() else []


@dataclass
class Verdict:
    failing: list[Finding]  # findings no entry explains
    allowed: list[tuple[Finding, Entry]]
    unused: list[Entry]  # entries that explain nothing (only when every checker ran)

    @property
    def ok(self) -> bool:
        return not self.failing and not self.unused


def judge(findings: Iterable[Finding], entries: list[Entry], *, report_unused: bool = True) -> Verdict:
    failing, allowed = [], []
    for finding in sorted(set(findings)):
        entry = next((e for e in entries if e.regex.fullmatch(finding.line())), None)
        if entry is None:
            failing.append(finding)
        else:
            entry.used = True
            allowed.append((finding, entry))
    unused = [e for e in entries if not e.used] if report_unused else []
    return Verdict(failing=failing, allowed=allowed, unused=unused)
