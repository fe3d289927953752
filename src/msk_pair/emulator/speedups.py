"""Memoise two things moto recomputes on every request (pure functions of the class).

moto's request dispatch rebuilds each backend's URL table and lists a response
class's methods with ``inspect.getmembers`` for every single call: a third of a
workflow run's real time here. Both depend only on the class, so they are cached
while the emulator runs. Behaviour is unchanged.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core import base_backend, responses, utils

_saved: dict[str, Any] = {}


def install() -> None:
    if _saved:
        return
    _saved["method_names"] = responses.method_names_from_class
    _saved["urls"] = base_backend.BaseBackend.urls
    cached_names = functools.lru_cache(maxsize=None)(utils.method_names_from_class)
    responses.method_names_from_class = cached_names
    original_urls = base_backend.BaseBackend.urls.fget
    cache: dict[tuple[type, tuple[str, ...]], Any] = {}

    def urls(self: Any) -> Any:
        key = (type(self), tuple(self.url_bases))
        found = cache.get(key)
        if found is None:
            found = cache[key] = original_urls(self)
        return found

    base_backend.BaseBackend.urls = property(urls)  # type: ignore[assignment]


def uninstall() -> None:
    if not _saved:
        return
    responses.method_names_from_class = _saved.pop("method_names")
    base_backend.BaseBackend.urls = _saved.pop("urls")  # type: ignore[assignment]
