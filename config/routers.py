"""The database router: carries out what core.db's `replica_reads()` scope decided. Outside a
scope every read and every write goes to the primary."""

from core.db import PRIMARY, REPLICA, scoped_alias


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        # Also for a related object of a row read from the replica: outside a scope it is read
        # from the primary, not from wherever its parent came from.
        return scoped_alias() or PRIMARY

    def db_for_write(self, model, **hints):
        # A row read from the replica and then saved is written to the primary.
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # The replica is a copy of the primary: a row from one may point to a row from the other.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, **hints):
        # The replica replays the primary's WAL, migrations included; it is read-only.
        return db == PRIMARY
