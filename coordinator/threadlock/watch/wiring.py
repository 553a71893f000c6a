"""Which Source serves a given store (kept apart from the package's __init__, which the
stores themselves import)."""

from __future__ import annotations

from threadlock.etcd.store import EtcdStore
from threadlock.memory import MemoryStore
from threadlock.store import Store
from threadlock.watch.etcd_source import EtcdSource
from threadlock.watch.hub import EventHub
from threadlock.watch.source import Source


def source_for(store: Store) -> Source:
    if isinstance(store, MemoryStore):
        return store.feed
    if isinstance(store, EtcdStore):
        return EtcdSource(store)
    raise TypeError(f"no watch source for {type(store).__name__}")


def hub_for(store: Store, **limits: int) -> EventHub:
    """The replica's EventHub over `store` (limits: history, max_watchers, buffer)."""
    return EventHub(source_for(store), **limits)
