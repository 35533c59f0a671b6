"""Django's PostgreSQL backend with a health check that costs no round trip (ENGINE
"core.postgresql", set in config/settings.py for every PostgreSQL database)."""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        """Whether the kept connection still works. Django's check (CONN_HEALTH_CHECKS) sends
        `SELECT 1` before the first query of every request: a round trip each, ~8 % of a
        worker's time filing under load (bench/README.md, issue #16). An idle connection has
        nothing to read from the server: when the server ends it (a restart, a failover,
        pg_terminate_backend) it sends its FATAL message and closes, and the socket turns
        readable. So a connection that is open with nothing to read is usable; one with
        something to read gets Django's round trip, which reads it and decides. A connection
        that died in silence (a network cut) fails at its first query as it would have failed
        at SELECT 1, and is replaced when the request ends."""
        conn = self.connection
        if conn is None or conn.closed:
            return False
        try:
            readable, _writable, _errors = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):  # the socket is gone
            return False
        return not readable or super().is_usable()
