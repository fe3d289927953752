"""Install and uninstall a set of attribute patches on moto's classes (no fork, no edit of site-packages).

AWS service: none; how the extensions patch moto's classes and undo it.
Sources: none needed (no AWS behaviour here).

Every emulator extension that changes moto's behaviour holds one :class:`PatchSet`: a list of
``(owner, attribute, replacement)``. :meth:`PatchSet.install` remembers what each owner held in its
own ``__dict__`` (or that it held nothing and inherited the attribute) and the attribute the
replacement wraps, resolved through the owner's MRO at install time; :meth:`PatchSet.uninstall`
puts the owners back in reverse order. Since the wrapped attribute is resolved when the set is
installed, two sets that patch the same attribute chain in whichever order they are installed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

_MISSING = object()
"""Stands for "the owner had no attribute of that name in its own ``__dict__``"."""


def resolve(owner: type, name: str) -> Any:
    """What ``owner.name`` is now, looked up along the MRO without triggering descriptors (None if nowhere)."""
    return next((base.__dict__[name] for base in owner.__mro__ if name in base.__dict__), None)


class PatchSet:
    """A list of ``(owner, attribute, replacement)`` patches installed and uninstalled together.

    ``on_install`` runs just before the patches are applied (only when they are not applied yet),
    ``on_uninstall`` after they have been removed (on every :meth:`uninstall`, applied or not).
    Both run under ``lock`` (a fresh re-entrant lock unless one is given).
    """

    def __init__(
        self,
        patches: Iterable[tuple[type, str, Any]],
        *,
        on_install: Callable[[], None] | None = None,
        on_uninstall: Callable[[], None] | None = None,
        lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.patches = list(patches)
        self._on_install = on_install
        self._on_uninstall = on_uninstall
        self._lock = lock if lock is not None else threading.RLock()
        self._saved: dict[tuple[type, str], Any] = {}  # what install() replaced in owner.__dict__ (or _MISSING)
        self._resolved: dict[tuple[type, str], Any] = {}  # what a patch wraps (kept after uninstall: calls in flight)

    @property
    def installed(self) -> bool:
        return bool(self._saved)

    def original(self, owner: type, name: str) -> Any:
        """What the patch of ``owner.name`` wraps: the attribute before install, inherited from a base if need be."""
        return self._resolved[(owner, name)]

    def install(self) -> bool:
        """Apply every patch unless applied already. Returns whether this call applied them."""
        with self._lock:
            if self._saved:
                return False
            if self._on_install is not None:
                self._on_install()
            for owner, name, replacement in self.patches:
                self._saved[(owner, name)] = owner.__dict__.get(name, _MISSING)
                self._resolved[(owner, name)] = resolve(owner, name)
                setattr(owner, name, replacement)
            return True

    def uninstall(self) -> None:
        """Restore every patched attribute, last patched first. Idempotent."""
        with self._lock:
            for (owner, name), original in reversed(self._saved.items()):
                if original is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            self._saved.clear()
            if self._on_uninstall is not None:
                self._on_uninstall()
