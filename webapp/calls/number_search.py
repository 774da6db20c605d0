"""Finding calls by the last digits of their number, in the form each database can answer from an index.

`from_number LIKE '%43212'` can use no ordinary index, and the list's
newest-first plan then walks every call and reads each row: seconds over a
million calls. So the matching calls are picked from a narrow index first and
only they are read and ordered. PostgreSQL matches the prefix of the reversed
number, which its index on `reverse(from_number)` answers (migration 0008);
the ids are gathered into an array, so the planner cannot fall back to the
newest-first walk when it misjudges how many match. SQLite cannot reflect an
expression index (SQLAlchemy and Alembic's batch mode would lose it), so there
the digits are looked for in the index on `from_number` alone.

The list asks for at least a few digits (web/filters.py): the fewer, the more
calls end in them, and all of those are read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, bindparam, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.functions import FunctionElement


def like_literal(text: str) -> str:
    """`text` for a LIKE pattern with `\\` as its escape: its % and _ match only themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _EndsWith(FunctionElement[bool]):
    """A number column ends with given characters (compiled per database below)."""

    type = Boolean()
    name = "ends_with"
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition as it stands: never compared with 1 where booleans are integers


def ends_with(column: InstrumentedAttribute[str], ending: str) -> ColumnElement[bool]:
    """SQL true where `column` ends with `ending`, taken literally (LIKE's wildcards escaped)."""
    forward = literal("%" + like_literal(ending))
    # Written into the statement: a prepared statement's generic plan cannot see a parameter's prefix, and
    # PostgreSQL then walks every call newest first (seconds over a million) instead of using the index.
    backward: BindParameter[str] = bindparam(None, like_literal(ending[::-1]) + "%", literal_execute=True)
    return _EndsWith(column, forward, backward)


@compiles(_EndsWith)
def _scan_index(element: _EndsWith, compiler: Any, **kw: Any) -> str:
    column, forward, _backward = element.clauses
    table = column.table.name
    return (f"{table}.rowid IN (SELECT rowid FROM {table} WHERE {column.name} LIKE "
            f"{compiler.process(forward, **kw)} ESCAPE '\\')")


@compiles(_EndsWith, "postgresql")
def _reversed_prefix(element: _EndsWith, compiler: Any, **kw: Any) -> str:
    column, _forward, backward = element.clauses
    table = column.table.name
    # No ESCAPE clause: backslash is PostgreSQL's default, and an explicit one hides the prefix from the planner.
    return (f"{table}.id = ANY(ARRAY(SELECT suffixed.id FROM {table} AS suffixed "
            f"WHERE reverse(suffixed.{column.name}) LIKE {compiler.process(backward, **kw)}))")
