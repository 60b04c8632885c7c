"""A prebuilt statement read straight through the DBAPI cursor on its later calls.

Its first execution goes through SQLAlchemy; what SQLAlchemy sent to the cursor (the SQL and
its parameters) and the result processors it applied to each column are kept (a ``CursorRead``).
A later call sends the same SQL and parameters to the cursor and applies the same processors to
the driver's values, so the rows are the values SQLAlchemy would have given, without its
execution context, result and row objects.

Only while nothing observes SQLAlchemy's execution: no event listener on the connection but the
connection-only guards registered here (``tools.db``'s statement timeout, fired here as
SQLAlchemy fires it), no execution option, no ``echo``, and a statement whose parameters cannot
change between calls. Anything else takes SQLAlchemy's path, as does every statement that is not
prebuilt. A database error is raised as SQLAlchemy raises it (``sa.exc.DBAPIError``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from tools.prebuilt import Statements

Processor = Callable[[Any], Any]
Values = Sequence[Any]
Row = dict[str, Any]

# ``before_cursor_execute`` listeners that read nothing but the connection (safe to fire
# without an execution context).
CONNECTION_ONLY: set[Callable[..., Any]] = set()
OBSERVING_EVENTS = ("before_execute", "after_execute", "after_cursor_execute")
OBSERVING_DIALECT_EVENTS = ("do_execute", "do_setinputsizes", "handle_error")


def connection_only(listener: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a ``before_cursor_execute`` listener as reading only its connection argument."""
    CONNECTION_ONLY.add(listener)
    return listener


@dataclass(frozen=True)
class CursorRead:
    """What SQLAlchemy sent to the cursor for one statement, and the processors it applied."""

    sql: str
    parameters: Any
    names: tuple[str, ...]
    processed: tuple[tuple[int, Processor], ...]
    labelled: Callable[[Sequence[Values]], list[Row]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labelled", _labeller(self.names, dict(self.processed)))

    def rows(self, conn: sa.Connection) -> list[Row]:
        """The statement's rows, each a dict of its labels with SQLAlchemy's values."""
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            conn.dispatch.before_cursor_execute(conn, cursor, self.sql, self.parameters, None, False)
            cursor.execute(self.sql, self.parameters)
            rows: Any = cursor.fetchall()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _as_sqlalchemy_error(conn, self, exc, cursor) from exc
        finally:
            cursor.close()
        return self.labelled(rows)


def _labeller(
    names: tuple[str, ...], processors: dict[int, Processor]
) -> Callable[[Sequence[Values]], list[Row]]:
    """One function writing a row's dict in one pass, each value through its column's processor
    (``[{N0: r[0], N1: P1(r[1]), ...} for r in rows]``)."""
    scope: dict[str, Any] = {}
    items = []
    for i, name in enumerate(names):
        scope[f"N{i}"] = name
        if i in processors:
            scope[f"P{i}"] = processors[i]
            items.append(f"N{i}: P{i}(r[{i}])")
        else:
            items.append(f"N{i}: r[{i}]")
    exec("def labelled(rows):\n    return [{" + ", ".join(items) + "} for r in rows]", scope)
    return cast(Callable[[Sequence[Values]], list[Row]], scope["labelled"])


def _as_sqlalchemy_error(
    conn: sa.Connection, read: CursorRead, exc: Any, cursor: Any
) -> sa.exc.StatementError:
    """The error SQLAlchemy raises for ``exc`` (a lost connection is invalidated, as there)."""
    disconnected = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if disconnected:
        conn.invalidate(exc)
    error: sa.exc.StatementError = sa.exc.DBAPIError.instance(
        read.sql,
        read.parameters,
        exc,
        conn.dialect.loaded_dbapi.Error,
        hide_parameters=True,
        dialect=conn.dialect,
        connection_invalidated=disconnected,
    )
    return error


def _unobserved(conn: sa.Connection) -> bool:
    dispatch, dialect = conn.dispatch, conn.dialect.dispatch
    if any(getattr(dispatch, name) for name in OBSERVING_EVENTS) or conn.get_execution_options():
        return False
    if conn.engine.echo:  # SQLAlchemy would log the statement
        return False
    if any(getattr(dialect, name) for name in OBSERVING_DIALECT_EVENTS):
        return False
    return all(listener in CONNECTION_ONLY for listener in dispatch.before_cursor_execute)


def _read_of(result: sa.CursorResult[Any]) -> CursorRead | None:
    """The ``CursorRead`` of a statement's first execution; None when a later call could send
    other parameters (a bound value computed per call) or SQLAlchemy's rows are not the
    cursor's columns one for one."""
    context = result.context
    compiled = context.compiled
    metadata: Any = result._metadata
    processors = getattr(metadata, "_processors", None)
    if (
        not isinstance(compiled, SQLCompiler)
        or any(bind.callable is not None for bind in compiled.binds.values())
        or len(context.parameters) != 1
        or getattr(metadata, "_tuplefilter", True) is not None
        or processors is None
        or len(processors) != len(result.keys())
    ):
        return None
    processed = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    return CursorRead(context.statement, context.parameters[0], tuple(result.keys()), processed)


_NO_READ = CursorRead("", None, (), ())
READS = Statements()


def read_rows(conn: sa.Connection, statement: sa.Executable, key: Hashable | None) -> list[Row]:
    """The rows of ``statement`` (dicts of their labels), the prebuilt statement of ``key``
    (None: a statement built for this call alone, which SQLAlchemy runs)."""
    if key is None or not _unobserved(conn):
        return _labelled(conn.execute(statement))
    read_key = (key, conn.dialect)
    read = READS.known(read_key)
    if read is None:
        result = conn.execute(statement)
        READS.put(read_key, _read_of(result) or _NO_READ)
        return _labelled(result)
    if read is _NO_READ:
        return _labelled(conn.execute(statement))
    return read.rows(conn)  # type: ignore[no-any-return]


def _labelled(result: sa.CursorResult[Any]) -> list[Row]:
    names = tuple(result.keys())
    return [dict(zip(names, row, strict=True)) for row in result]
