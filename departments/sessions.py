"""Sessions: staff sessions end after a spell without a request (等保 level 3); the store is
Django's database sessions with one look-up fewer (config.settings.SESSION_ENGINE)."""

import time

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, connections, router, transaction
from django.utils.crypto import get_random_string

from core.writes import Writes, insert_statement


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, each write one statement: no look-up before a new session's
    insert (a round trip on every anonymous filing, whose session keeps the receipt), no
    transaction or savepoint around it. The key is 32 random characters of 36, and the insert
    itself passes over a key already taken (ON CONFLICT DO NOTHING: Django's `create()` then
    draws another), which leaves a caller's transaction usable without a savepoint
    (tests/departments/test_sessions.py)."""

    _written: tuple[str, bytes] | None = None  # the key and data of the last committed save

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        """Django's save in one statement: outside a transaction it is a transaction of its own
        (one round trip, where BEGIN and COMMIT made three: a new session on every anonymous
        filing, the time of the last request once a minute on staff pages); inside one, no
        savepoint (two round trips more).

        A save that would write what this store's last committed save wrote writes nothing: a
        view that saved the session in its own transaction (the filing form keeps its receipt
        with the appeal) is not followed by a second write from the session middleware."""
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]  # not in the stubs
        written = (self.session_key, self.serializer().dumps(data))
        if not must_create and written == self._written:
            return
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        if must_create:
            if not self._insert(obj, using):
                raise CreateError
        else:
            try:
                obj.save(force_update=True, using=using)
            except DatabaseError:  # the row is gone: Django's own save says the same
                raise UpdateError from None
        if transaction.get_connection(using).in_atomic_block:
            # Only once it commits: a rolled-back save must not stop the next one.
            transaction.on_commit(lambda: setattr(self, "_written", written), using=using)
        else:
            self._written = written

    def save_with(self, writes: Writes) -> None:
        """Save in the caller's transaction, a new session's row added to `writes`
        (core.writes), which the caller runs before it commits: the filing form's receipt goes
        with the filing's own rows, in their round trip. A session that has a row already is
        saved at once (save()): its update must find the row, or the receipt would be lost
        unnoticed. The new key is not checked first: 32 random characters of 36 are never
        drawn twice, and if they were the insert would fail and undo the transaction with it."""
        if self.session_key is not None:
            self.save()
            return
        self._session_key = self._get_new_session_key()
        data = self._get_session(no_load=True)  # type: ignore[attr-defined]  # not in the stubs
        writes.add(insert_statement([self.create_model_instance(data)]))
        self.modified = True  # the session middleware sends the cookie; it finds nothing to write
        written = (self.session_key, self.serializer().dumps(data))
        transaction.on_commit(lambda: setattr(self, "_written", written))

    def _insert(self, obj, using: str) -> bool:
        """The session's row, unless its key is taken; whether it was inserted."""
        sql, params = insert_statement([obj])  # on the default database, where writes go
        with connections[using].cursor() as cursor:
            cursor.execute(f"{sql} ON CONFLICT (session_key) DO NOTHING", params)
            return cursor.rowcount == 1


class IdleSessionMiddleware:
    """Signs a session out after SESSION_IDLE_SECONDS without a request (等保: 登录连接超时自动退出).

    The time of the last request is kept in the session and written at most once a minute, so
    a user working all day does not cost a session write per click; login notes it first
    (`on_logged_in`, connected in departments.apps)."""

    KEY = "_last_seen"
    WRITE_EVERY = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        now = int(time.time())
        last_seen = session.get(self.KEY)
        if last_seen is not None and now - last_seen > settings.SESSION_IDLE_SECONDS:
            session.flush()  # the user, tracking grants and all: a new, empty session
        elif not session.is_empty() and (last_seen is None or now - last_seen >= self.WRITE_EVERY):
            session[self.KEY] = now
        return self.get_response(request)

    @classmethod
    def on_logged_in(cls, sender, request, user, **kwargs) -> None:
        if request is not None and hasattr(request, "session"):
            request.session[cls.KEY] = int(time.time())
