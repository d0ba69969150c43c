"""Every model of every provider under one id, ``<provider>/<alias>``, found by id or bare alias."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .base import ImageProvider, Kind, Provider
from .errors import UnknownModel
from .types import ImageOptions


@dataclass(frozen=True)
class ModelEntry:
    """One selectable model."""

    id: str
    provider: type[Provider]
    upstream: str
    kind: Kind

    @property
    def alias(self) -> str:
        return self.id.split("/", 1)[1]

    @property
    def short_id(self) -> str:
        """Eight hex digits, stable across restarts: fits in Telegram's 64-byte callback data."""
        return hashlib.sha1(self.id.encode()).hexdigest()[:8]

    @property
    def options(self) -> ImageOptions | None:
        """What the model accepts, for image models."""
        provider = self.provider
        return provider.options if issubclass(provider, ImageProvider) else None


class Registry:
    """Lookup by full id, by unique bare alias, or by short id; case-insensitive."""

    def __init__(self, providers: Iterable[type[Provider]]) -> None:
        self.providers = list(providers)
        self.entries: list[ModelEntry] = [
            ModelEntry(f"{p.name}/{alias}", p, upstream, p.kind)
            for p in self.providers
            for alias, upstream in p.catalog()
        ]
        self._by_id = {e.id: e for e in self.entries}
        self._by_short = {e.short_id: e for e in self.entries}
        self._by_alias: dict[str, list[ModelEntry]] = {}
        for entry in self.entries:
            self._by_alias.setdefault(entry.alias, []).append(entry)

    def resolve(self, name: str, kind: Kind | None = None) -> ModelEntry:
        """The entry for ``name``; raises UnknownModel (with close matches) otherwise."""
        key = name.strip().lower()
        candidates = [self._by_id[key]] if key in self._by_id else self._by_alias.get(key, [])
        if kind is not None:
            candidates = [e for e in candidates if e.kind == kind]
        if len(candidates) == 1:
            return candidates[0]
        pool = [e.id for e in self.entries if kind is None or e.kind == kind]
        if candidates:
            raise UnknownModel(name, [e.id for e in candidates])
        close = difflib.get_close_matches(key, pool, n=3, cutoff=0.5)
        close += [i for i in pool if key and key in i and i not in close][: 3 - len(close)]
        raise UnknownModel(name, close)

    def by_short_id(self, short_id: str) -> ModelEntry | None:
        return self._by_short.get(short_id)

    def of_provider(self, provider: type[Provider]) -> list[ModelEntry]:
        """The provider's entries in catalog order."""
        return [e for e in self.entries if e.provider is provider]
