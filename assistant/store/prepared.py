"""The answer's statements, run on the database driver's own cursor.

Each answer runs four statements (read the session, apply the answer, add its event, read the
transcript tail). Executed through SQLAlchemy, each costs ~70 µs of Python around the
driver's ~20 µs (execution context, result object, row mapping; measured with the 21-column
session select on SQLite, ``/tmp``-style ext4, this project's 2-core machine), which is most of
an answer's database time. A :class:`Prepared` statement is a Core statement compiled once
per dialect by SQLAlchemy, whose values go through the columns' own SQLAlchemy types (the
same text, JSON and date handling as every other statement of the store), executed on the
DBAPI connection of the SQLAlchemy :class:`~sqlalchemy.engine.Connection` given, in its
transaction. A driver error is raised as the SQLAlchemy error that SQLAlchemy would raise
(``OperationalError`` for a locked or unreachable database, …), with the engine's health told
as SQLAlchemy's ``handle_error`` would (see :mod:`.health`). Listeners of the connection's
``before_cursor_execute`` event see each statement as from SQLAlchemy (without a context).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from .health import health_of, is_unavailable


@dataclass(frozen=True)
class _Compiled:
    """A statement as one dialect runs it: ``sql`` with the dialect's paramstyle; ``names``
    its parameters in order for a positional paramstyle (None: named); ``fixed`` the values
    the statement itself holds (``revision + 1``'s 1); ``binds`` (parameter, conversion or
    None: as it is) for each parameter, in ``names``' order if positional; ``results``
    (column index, conversion) for each result column that has one."""

    sql: str
    names: tuple[str, ...] | None
    fixed: dict[str, Any]
    binds: tuple[tuple[str, Callable | None], ...]
    results: tuple[tuple[int, Callable], ...]


class Prepared:
    """A Core ``statement`` (a select, or a DML statement with or without RETURNING) run on
    the driver's cursor; ``keys``: for an INSERT without values, the columns it sets (each
    run gives them all)."""

    def __init__(self, statement: ClauseElement, keys: Sequence[str] | None = None):
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        self.columns = tuple(getattr(statement, "exported_columns", ()))
        self.column_keys = tuple(c.key for c in self.columns)
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = \
            weakref.WeakKeyDictionary()
        self._last: tuple[Dialect, _Compiled] | None = None

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=self.keys)
        if "POSTCOMPILE" in compiled.string:  # expanded at execution by SQLAlchemy only
            raise ValueError(f"not preparable (renders at execution): {compiled.string}")
        names = tuple(compiled.positiontup) if compiled.positiontup is not None else None
        fixed, processors = {}, {}
        for bind, name in compiled.bind_names.items():
            processors[name] = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if self.keys is None and not bind.required:
                fixed[name] = bind.effective_value
        binds = tuple((name, processors[name]) for name in (names or processors))
        results = tuple((i, p) for i, c in enumerate(self.columns)
                        if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)))
        return _Compiled(compiled.string, names, fixed, binds, results)

    def run(self, conn: Connection, params: dict[str, Any]) -> list[tuple]:
        """Execute with ``params`` (parameter name → value) on ``conn``'s DBAPI connection;
        the result rows, converted, as tuples in the statement's column order (none for DML
        without RETURNING).

        Raises:
            KeyError: a parameter the statement needs is missing from ``params``.
            sqlalchemy.exc.DBAPIError: the driver's error, as SQLAlchemy's subclass of it.
        """
        dialect = conn.dialect
        last = self._last  # the one dialect of a running app, without a weak lookup
        if last is not None and last[0] is dialect:
            prepared = last[1]
        else:
            prepared = self._by_dialect.get(dialect)
            if prepared is None:
                prepared = self._by_dialect[dialect] = self._compile(dialect)
            self._last = (dialect, prepared)
        values = {**prepared.fixed, **params} if prepared.fixed else params
        if prepared.names is not None:
            arguments = tuple([values[n] if p is None else p(values[n])
                               for n, p in prepared.binds])
        else:
            arguments = {n: values[n] if p is None else p(values[n]) for n, p in prepared.binds}
        dbapi_connection = conn.connection.dbapi_connection
        cursor = dbapi_connection.cursor()
        dispatch = conn.dispatch  # SQLAlchemy's statement events, for their listeners
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(conn, cursor, prepared.sql, arguments, None, False)
        try:
            cursor.execute(prepared.sql, arguments)
            rows = cursor.fetchall() if cursor.description is not None else []
        except dialect.loaded_dbapi.Error as error:
            raise _wrapped(conn, prepared.sql, arguments, error, cursor) from error
        finally:
            cursor.close()
        if not prepared.results:
            return [tuple(row) for row in rows]
        converted_rows = []
        for row in rows:
            row = list(row)
            for i, process in prepared.results:
                row[i] = process(row[i])
            converted_rows.append(tuple(row))
        return converted_rows


def _wrapped(conn: Connection, sql: str, arguments, error: Exception, cursor) -> DBAPIError:
    """``error`` from the driver as SQLAlchemy raises it; a lost connection is invalidated
    (the pool replaces it) and the engine's health told of an unavailable database."""
    dialect = conn.dialect
    lost = dialect.is_disconnect(error, conn.connection.dbapi_connection, cursor)
    wrapped = DBAPIError.instance(sql, arguments, error, dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=dialect)
    if lost:
        conn.invalidate(wrapped)
    if lost or is_unavailable(wrapped):
        health_of(conn.engine).failed(wrapped)
    return wrapped
