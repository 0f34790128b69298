"""Small DuckDB helpers shared by every layer."""

from __future__ import annotations

from typing import Any

import duckdb


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> tuple | None:
    """The first row, with the result fully consumed (DuckDB 2 refuses new work on a half-read result)."""
    rows = con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    return rows[0] if rows else None


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> Any:
    row = first_row(con, sql, params)
    return row[0] if row else None


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table (or view) of that name exists: optional inputs and earlier layers may be absent."""
    return bool(scalar(con, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[dict]:
    """Every row as a dict keyed by column name."""
    cur = con.execute(sql, params if params is not None else [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
