"""Which database a read goes to: the primary ("default") or its streaming replica ("replica",
configured when DATABASE_REPLICA_URL is set; config/settings.py).

Reads go to the replica only where the code asks for it, inside `replica_reads()`: the boards,
rates, league tables, exports and read-only API lists, whose queries run through selectors of
three apps. The choice is made once, where the request or task knows what it is doing, rather
than by a router guessing for every query of the site (which would send the read that follows
a write inside the same view to a replica that has not seen it), and rather than by passing an
alias through every selector and every related-object lookup (`appeal.category` would still
read from the primary). config.routers.ReplicaRouter only carries out what the scope decided.

A read stays on the primary, even inside the scope:
- inside a transaction on the primary (`atomic`): what it reads may be about to be written,
  and it must see the transaction's own writes;
- while the request is pinned to the primary: a request that writes (any unsafe method), and
  for DATABASE_REPLICA_PIN_SECONDS after it the same browser or user
  (config.middleware.PrimaryPinMiddleware), so a user never misses their own write however far
  the replica lags, up to those seconds;
- in a task that must see a given write (`replica_reads(after=position)`): the replica only
  once it has replayed the primary's WAL that far.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connections

PRIMARY = "default"
REPLICA = "replica"

# The alias the current `replica_reads()` scope chose, or None outside any scope.
_scope: ContextVar[str | None] = ContextVar("db_read_scope", default=None)
# Whether the current request must read from the primary: a callable, asked lazily (the user
# of a token-authenticated API request is known only once the view has run authentication).
_pinned: ContextVar[Callable[[], bool] | None] = ContextVar("db_pinned", default=None)


def replica_configured() -> bool:
    return REPLICA in connections.settings


def reading() -> str:
    """The alias for a read here and now that may be a moment stale: the replica if configured
    and neither a transaction on the primary nor a pin says otherwise."""
    if not replica_configured() or connections[PRIMARY].in_atomic_block:
        return PRIMARY
    pinned = _pinned.get()
    if pinned is not None and pinned():
        return PRIMARY
    return REPLICA


def scoped_alias() -> str | None:
    """The alias a read inside `replica_reads()` goes to, or None outside any scope. Asked per
    query, so a transaction opened inside the scope reads from the primary."""
    chosen = _scope.get()
    if chosen is None or chosen == PRIMARY:
        return chosen
    return reading()


@contextmanager
def replica_reads(*, after: str = "", wait: float = 5.0) -> Iterator[str]:
    """Reads inside go to the replica when `reading()` allows it. With `after` (a WAL position
    from `wal_position()`), only once the replica has replayed that far, waiting up to `wait`
    seconds; otherwise they stay on the primary. Also a decorator. Yields the alias chosen."""
    alias = reading()
    if alias == REPLICA and after and not _replayed(after, wait=wait):
        alias = PRIMARY
    token = _scope.set(alias)
    try:
        yield alias
    finally:
        _scope.reset(token)


@contextmanager
def pinned_to_primary(pinned: Callable[[], bool]) -> Iterator[None]:
    """Within, `reading()` answers the primary whenever `pinned()` is true (asked at most once:
    a request's pin does not change while it runs)."""
    answer: dict[str, bool] = {}

    def once() -> bool:
        if "pinned" not in answer:
            # While asking (which may read the session's user), read from the primary.
            answer["pinned"] = True
            answer["pinned"] = pinned()
        return answer["pinned"]

    token = _pinned.set(once)
    try:
        yield
    finally:
        _pinned.reset(token)


def wal_position() -> str:
    """The primary's current WAL position (PostgreSQL with a replica configured), else "".
    Every transaction committed before this call is at or before it."""
    if not replica_configured() or connections[PRIMARY].vendor != "postgresql":
        return ""
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        return cursor.fetchone()[0]


def _replayed(position: str, *, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        with connections[REPLICA].cursor() as cursor:
            # NULL (false) when the replica is not replaying at all, e.g. once promoted.
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
            if cursor.fetchone()[0]:
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


class ReplicaListMixin:
    """For a read-only list API (a DRF ListAPIView): the list, its count and its serialisation
    read inside `replica_reads()`."""

    def list(self, request, *args, **kwargs):
        with replica_reads():
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
