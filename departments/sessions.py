"""Sessions: staff sessions end after a spell without a request (等保 level 3); the store is
Django's database sessions with one look-up fewer (config.settings.SESSION_ENGINE)."""

import time

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import DatabaseError, IntegrityError, router, transaction
from django.utils.crypto import get_random_string


class SessionStore(DatabaseSessionStore):
    """Django's database sessions, without the look-up before each new session's insert (a round
    trip on every anonymous filing, whose session keeps the receipt): the key is 32 random
    characters of 36, and the insert itself refuses a key already taken (Django's `create()`
    then draws another, tests/departments/test_sessions.py)."""

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        """Django's save, without the transaction it opens around its one statement: outside a
        transaction that statement is a transaction of its own (one round trip, where BEGIN and
        COMMIT made three: a new session on every anonymous filing, the time of the last
        request once a minute on staff pages). Inside one, Django's savepoint is kept, so that
        a taken key leaves the caller's transaction usable."""
        if self.session_key is None:
            return self.create()
        using = router.db_for_write(self.model)
        if transaction.get_connection(using).in_atomic_block:
            return super().save(must_create)
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]  # not in the stubs
        obj = self.create_model_instance(data)
        try:
            obj.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise


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
