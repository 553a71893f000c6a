"""Watch: lock events (granted, released, expired, queued, left-queue, metadata-changed) as a
snapshot followed by changes, with resumable cursors.

    events.py        the event model, cursors, and how raw store changes become events
    source.py        what a store offers the hub: a snapshot, and changes after a revision
    memory_source.py the embedded store's change feed
    etcd_source.py   etcd: a range read at one revision, and an etcd watch with prev_kv
    hub.py           EventHub: one source subscription per replica fanned out to watchers
"""

from threadlock.watch.events import Kind, LockEvent
from threadlock.watch.hub import EventHub, SlowWatcher

__all__ = ["EventHub", "Kind", "LockEvent", "SlowWatcher"]
