"""Small tables read by every filing and rarely written (the deadline policies, the escalation
steps, the categories' tree), kept per process instead of read on each request.

A `Snapshot` holds what its loader returned, under a version stamp kept in Django's cache.
Whoever writes its rows calls `changed()` (`follow()` connects it to the models' save and
delete signals), which bumps the stamp: every process sees a new stamp within `CHECK_SECONDS` (the
stamp is read at most that often) with a shared cache (Redis, CACHE_URL), and reloads (one
query). With a per-process cache (locmem, the embedded default) another process's change is seen
once the copy is `MAX_AGE_SECONDS` old. The process that made the change sees it at once.

A change inside a transaction bumps the stamp now and again after commit (another process
may reload between the two and keep the old rows under the new stamp). Until that commit, the
changing process does not keep what it loads: it sees its own uncommitted rows, which a
rollback would take back; a process whose change rolled back keeps nothing until its next
committed change, at the cost of one query per use. (sla.calendar keeps the working-day
calendar the same way, with parts loaded apart.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

CHECK_SECONDS = 1.0
MAX_AGE_SECONDS = 300

_all: list[Snapshot] = []


@dataclass
class _Held(Generic[T]):
    version: object
    loaded_at: float
    checked_at: float
    value: T


class Snapshot(Generic[T]):
    def __init__(self, name: str, load: Callable[[], T]):
        self.key = f"snapshot:{name}:version"
        self._load = load
        self._held: _Held[T] | None = None
        self._uncommitted = False  # this process changed the rows in a transaction not committed
        _all.append(self)

    def get(self) -> T:
        now = time.monotonic()
        held = self._held
        if held is not None and now - held.loaded_at <= MAX_AGE_SECONDS:
            if now - held.checked_at < CHECK_SECONDS:
                return held.value
            if cache.get(self.key) == held.version:
                held.checked_at = now
                return held.value
        if self._uncommitted:
            return self._load()
        # Replacing the reference is atomic; two threads racing here both load the same rows.
        version = cache.get(self.key)
        held = _Held(version=version, loaded_at=now, checked_at=now, value=self._load())
        self._held = held
        return held.value

    def follow(self, *models) -> None:
        """Call `changed()` whenever a row of these models is saved or deleted (an app's
        `ready()`). QuerySet.update() sends no signal: its caller calls `changed()` itself."""
        for model in models:
            uid = f"{self.key}:{model._meta.label}"
            post_save.connect(self.changed, sender=model, dispatch_uid=f"{uid}:save")
            post_delete.connect(self.changed, sender=model, dispatch_uid=f"{uid}:delete")

    def changed(self, **_signal) -> None:
        """Tell every process the rows changed (a signal receiver, or called directly)."""
        self._bump()
        if transaction.get_connection().in_atomic_block:
            self._uncommitted = True
            transaction.on_commit(self._committed)

    def forget(self) -> None:
        """Drop this process's copy (tests start each from the database)."""
        self._held, self._uncommitted = None, False

    def _committed(self) -> None:
        self._uncommitted = False
        self._bump()

    def _bump(self) -> None:
        self._held = None
        cache.set(self.key, uuid.uuid4().hex, timeout=None)


def snapshots_forget() -> None:
    """Drop every snapshot this process holds (each test starts from its own database)."""
    for snapshot in _all:
        snapshot.forget()
