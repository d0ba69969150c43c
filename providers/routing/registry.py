"""Every model of every provider under one id, ``<provider>/<alias>``, found by id or bare alias."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from providers.core.errors import UnknownModel
from providers.core.provider import Kind, ModelSpec, Provider, Seed
from providers.core.types import ImageOptions


@dataclass(frozen=True)
class ModelEntry:
    """One selectable model of one provider."""

    id: str
    provider: Provider
    upstream: str
    kind: Kind
    options: ImageOptions | None = None
    """What an image model accepts; None for vision models."""

    @property
    def alias(self) -> str:
        return self.id.split("/", 1)[1]

    @property
    def short_id(self) -> str:
        """Eight hex digits, stable across restarts: fits in Telegram's 64-byte callback data."""
        return hashlib.sha1(self.id.encode()).hexdigest()[:8]


class Registry:
    """Lookup by full id, by unique bare alias, or by short id; case-insensitive.

    Providers are instances, or seed classes (instantiated here). ``not_offered`` names the
    providers the configuration knows but cannot run, with the reason ("FAL_KEY is not set").
    """

    def __init__(
        self,
        providers: Iterable[Provider | type[Seed]],
        not_offered: Mapping[str, str] | None = None,
    ) -> None:
        self.not_offered = dict(not_offered or {})
        self.providers: list[Provider] = [p() if isinstance(p, type) else p for p in providers]
        self.entries: list[ModelEntry] = [
            entry(p, spec) for p in self.providers for spec in p.offers()
        ]
        self._by_id = {e.id: e for e in self.entries}
        self._by_short = {e.short_id: e for e in self.entries}
        self._by_alias: dict[str, list[ModelEntry]] = {}
        for item in self.entries:
            self._by_alias.setdefault(item.alias, []).append(item)

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

    def why_not_offered(self, model_id: str) -> str | None:
        """Why ``model_id``'s provider is not offered ("OPENAI_API_KEY is not set"), if known."""
        return self.not_offered.get(model_id.strip().lower().partition("/")[0])

    def by_short_id(self, short_id: str) -> ModelEntry | None:
        return self._by_short.get(short_id)

    def of_provider(self, provider: Provider, kind: Kind | None = None) -> list[ModelEntry]:
        """The provider's entries (of ``kind``, if given) in the order it offers them."""
        return [
            e for e in self.entries if e.provider is provider and (kind is None or e.kind == kind)
        ]

    def entries_of(self, kind: Kind) -> list[ModelEntry]:
        return [e for e in self.entries if e.kind == kind]

    def default_of(self, provider: Provider, kind: Kind) -> ModelEntry | None:
        """The provider's default model of ``kind``, or None when it has none."""
        upstream = provider.default_upstream(kind)
        found = [e for e in self.of_provider(provider, kind) if e.upstream == upstream]
        return found[0] if found else None


def entry(provider: Provider, spec: ModelSpec) -> ModelEntry:
    """The registry entry for one offered model."""
    return ModelEntry(
        f"{provider.name}/{spec.alias}", provider, spec.upstream, spec.kind, spec.options
    )
