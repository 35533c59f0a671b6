"""Rows written together: the statements of one change that nobody reads back before the change
is done, sent to PostgreSQL in one round trip.

A filing writes nine rows into seven tables (the appeal and its history, the timeline event, the
audit record, two clocks and their history, the SMS); through the ORM that was a round trip and
a model save per statement, most of the filing's time (bench/README.md, issue #16). Here a
service builds its rows as model instances, as it would to save them, and adds them to a
`Writes`; `run()` sends every statement at once, in order, inside the caller's transaction.

- PostgreSQL: the statements joined into one `execute` (psycopg2 binds the parameters in the
  client and sends one query string; the server runs them in turn, in the open transaction).
- SQLite: one `execute` each (its driver takes one statement at a time; there is no round trip
  to save in process).

Only the last statement may return rows (a multi-statement query answers with its last result),
so `run()` keeps the one statement added with `returning=` for the end and gives back its rows.

What a model's `save()` would also do is not done: signals are not sent (simple_history's
post_save included: `history()` writes the history rows) and no instance gets a primary key.
A row another statement needs the id of is inserted first, on its own, with `insert_now()`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.db import connection, models
from django.db.models.expressions import DatabaseDefault

# Fields whose values go to the database as the instance holds them when they are of the type
# named (or None): for these Django's get_db_prep_save gives such a value back unchanged, so
# building a row skips its layers of calls (a tenth of a filing's Python, issue #16). Exact
# classes only: a subclass may prepare its values (a choices enum member is still prepared).
_PLAIN_TYPES: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
}


@functools.cache
def _plain_type(field: models.Field) -> type | None:
    """The type of value `field` sends as it is (_PLAIN_TYPES); a foreign key sends its target's
    key. None: every value is prepared by the ORM."""
    if isinstance(field, models.ForeignKey) and type(field) in (
        models.ForeignKey,
        models.OneToOneField,
    ):
        field = field.target_field
    return _PLAIN_TYPES.get(type(field))


@functools.cache
def _insertable(
    model: type[models.Model],
) -> tuple[tuple[models.Field, ...], tuple[models.Field, ...]]:
    """The model's fields an INSERT may write, and those of them an insert may leave out: the
    primary key (when the instance has none) and fields with a database default (when the
    instance holds DatabaseDefault)."""
    fields = tuple(f for f in model._meta.concrete_fields if not f.generated)
    return fields, tuple(
        f for f in fields if f.primary_key or f.db_default is not models.NOT_PROVIDED
    )


@functools.cache
def _insert_sql(
    model: type[models.Model],
    fields: tuple[models.Field, ...],
    computed: tuple[tuple[str, str], ...],
    rows: int,
    returning: tuple[str, ...],
) -> str:
    """The text of insert_statement's INSERT, the same for every insert of that shape."""
    quote = connection.ops.quote_name
    expressions = dict(computed)
    cells = [expressions.get(f.attname, "%s") for f in fields]
    row = "(" + ", ".join(cells) + ")"
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608  # nosec B608 - the model's own names
        f"({', '.join(quote(f.column) for f in fields)}) VALUES {', '.join([row] * rows)}"
    )
    if returning:
        sql += f" RETURNING {', '.join(quote(column) for column in returning)}"
    return sql


def insert_statement(
    objs: Sequence[models.Model],
    *,
    returning: tuple[str, ...] = (),
    computed: dict[str, tuple[str, list]] | None = None,
) -> tuple[str, list]:
    """INSERT … VALUES of unsaved model instances of one model, each value prepared as the ORM
    prepares it for an insert (`pre_save`: auto_now_add, normalising fields; `get_db_prep_save`).
    Fields left to a database default are left out. `computed`: fields whose value the database
    computes, each an SQL expression with its parameters, written in place of the instance's
    value."""
    model = type(objs[0])
    computed = computed or {}
    fields, optional = _insertable(model)
    left_out = [
        f
        for f in optional
        if (f.primary_key and getattr(objs[0], f.attname) is None)
        or isinstance(getattr(objs[0], f.attname), DatabaseDefault)
    ]
    if left_out:
        fields = tuple(f for f in fields if f not in left_out)
    params: list = []
    for obj in objs:
        for f in fields:
            if f.attname in computed:
                params += computed[f.attname][1]
                continue
            plain = _plain_type(f)
            if plain is not None:
                value = getattr(obj, f.attname)
                if value is None or type(value) is plain:
                    params.append(value)
                    continue
            params.append(f.get_db_prep_save(f.pre_save(obj, True), connection))
    shape = tuple((name, sql) for name, (sql, _params) in computed.items())
    return _insert_sql(model, fields, shape, len(objs), returning), params


def insert_now(obj: models.Model) -> int:
    """Insert one instance now and set its primary key (the row others name): one statement,
    without the ORM's save (no signals: the caller writes its history if it keeps any)."""
    sql, params = insert_statement([obj], returning=(obj._meta.pk.column,))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (obj.pk,) = cursor.fetchone()
    mark_saved(obj)
    return obj.pk


def mark_saved(obj: models.Model) -> None:
    """The instance is now a row of the database, as after the ORM's save."""
    obj._state.adding = False
    obj._state.db = connection.alias


@functools.cache
def _history_model(model: type[models.Model]) -> type[models.Model]:
    # Once per process: simple_history builds a new manager class on every `Model.history`.
    return model.history.model  # type: ignore[attr-defined]


@functools.cache
def _history_columns(history: type[models.Model]) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(field.column) for field in history.tracked_fields)


# history_statement's default: the user simple_history would name.
_REQUEST_USER = object()


def history_statement(
    model: type[models.Model],
    *,
    where: str,
    params: list,
    reason: str,
    history_type: str,
    at: datetime,
    user=_REQUEST_USER,
) -> tuple[str, list]:
    """The simple_history rows of the `model` rows matching `where` (SQL on the model's table,
    with `params`), copied from what is stored, as simple_history writes them on save: its
    tracked fields, when, why, "+" created / "~" changed, and who: `user`, by default as
    simple_history finds it, the signed-in user of the request being served (None: no one)."""
    history = _history_model(model)
    if user is _REQUEST_USER:
        user = history.get_default_history_user(model())
    quote = connection.ops.quote_name
    names = _history_columns(history)
    stamp = connection.ops.adapt_datetimefield_value(at)
    return (
        f"INSERT INTO {quote(history._meta.db_table)} ({names}, history_date, "  # noqa: S608  # nosec B608 - the models' own names
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {names}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} WHERE {where}",
        [stamp, reason, history_type, user.pk if user is not None else None, *params],
    )


class Writes:
    """Statements to run together, in the order added (module docstring)."""

    def __init__(self) -> None:
        self._statements: list[tuple[str, list]] = []
        self._returning: tuple[str, list] | None = None
        self._then: Callable[[list[tuple]], None] | None = None

    def add(
        self,
        statement: tuple[str, list],
        *,
        returning: bool = False,
        then: Callable[[list[tuple]], None] | None = None,
    ) -> None:
        """Add one (sql, params). `returning`: the statement whose rows `run()` gives back, run
        last, one at most; `then` is called with those rows once run."""
        if returning:
            if self._returning is not None:
                raise ValueError("only one statement of a Writes may return rows")
            self._returning, self._then = statement, then
        else:
            self._statements.append(statement)

    def insert(
        self,
        objs: Sequence[models.Model],
        *,
        returning: tuple[str, ...] = (),
        then: Callable[[list[tuple]], None] | None = None,
    ) -> None:
        if objs:
            statement = insert_statement(objs, returning=returning)
            self.add(statement, returning=bool(returning), then=then)

    def run(self) -> list[tuple]:
        """Run what was added and forget it; the rows of the `returning` statement, if any."""
        statements = self._statements + ([self._returning] if self._returning else [])
        returns, then = self._returning is not None, self._then
        self._statements, self._returning, self._then = [], None, None
        if not statements:
            return []
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    ";\n".join(sql for sql, _params in statements),
                    [value for _sql, params in statements for value in params],
                )
            else:
                for sql, params in statements:
                    cursor.execute(sql, params)
            rows = cursor.fetchall() if returns else []
        if then is not None:
            then(rows)
        return rows


@contextmanager
def writing(writes: Writes | None) -> Iterator[Writes]:
    """The caller's `writes` to add to, which the caller runs; or, without them, new ones run
    when the block ends (if it ends without an error)."""
    if writes is not None:
        yield writes
        return
    own = Writes()
    yield own
    own.run()
