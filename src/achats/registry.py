"""The warehouse's contract, read from its one declaration (`sql/registry.yaml`).

Everything that used to be written by hand in several places comes from here: the `COMMENT ON`
of every table, view and column, the data dictionary, the checks of types, grain and not-null,
and (in `pipelines/assets.py`) the Dagster assets of the SQL files with their dependencies.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import yaml

from achats.paths import sql_dir

LAYERS = ("sources", "reference", "staging", "resolution", "classification", "marts", "views", "history")
# Tables a SQL file's named parameters are computed from (achats.warehouse.mart_params): they are
# upstream of the file just like the tables its SQL reads.
PARAM_READS = {"reference_date": ("src_purchase_lines",),
               "home_departement": ("stg_etablissement", "res_purchase_line_supplier"),
               # read from the shipped match model, no table
               "missed_share_review": (), "missed_share_unmatched": (),
               "missed_share_uninformative": (), "missed_share_accepted": (), "accept_error_rate": ()}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""
    unit: str | None = None
    not_null: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    description: str
    columns: tuple[Column, ...]
    grain: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    sql: str | None = None
    params: tuple[str, ...] = ()
    contract: bool = False

    @property
    def is_view(self) -> bool:
        return self.layer == "views"

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass
class Registry:
    tables: dict[str, Table] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    def contract_views(self) -> list[str]:
        return [t.name for t in self.tables.values() if t.contract]

    def sql_tables(self, layer: str | None = None) -> list[Table]:
        return [t for t in self.tables.values() if t.sql and (layer is None or t.layer == layer)]


def default_unit(name: str) -> str | None:
    """The naming rule gives the unit (README, CONVENTIONS)."""
    if name.endswith("_eur"):
        return "EUR"
    if name.endswith("_share") or "_share_" in name:
        return "part (0–1)"
    if name.endswith("_count"):
        return "nombre"
    return None


def parse_registry(doc: dict) -> Registry:
    """Build the registry from the YAML document; unknown layers or grain columns are errors."""
    shared = doc.get("columns") or {}
    reg = Registry()
    for name, spec in (doc.get("tables") or {}).items():
        cols = []
        for col, attrs in (spec.get("columns") or {}).items():
            attrs = {"type": attrs} if isinstance(attrs, str) else dict(attrs)
            common = shared.get(col) or {}
            cols.append(Column(name=col, type=str(attrs["type"]).replace(" ", ""),
                               description=attrs.get("description") or common.get("description", ""),
                               unit=attrs.get("unit") or common.get("unit") or default_unit(col),
                               not_null=bool(attrs.get("not_null", False))))
        table = Table(name=name, layer=spec["layer"], description=spec.get("description", ""), columns=tuple(cols),
                      grain=tuple(spec.get("grain") or ()), upstream=tuple(spec.get("upstream") or ()),
                      sql=spec.get("sql"), params=tuple(spec.get("params") or ()),
                      contract=bool(spec.get("contract", False)))
        if table.layer not in LAYERS:
            raise ValueError(f"registry: {name}: layer inconnue « {table.layer} »")
        missing = [g for g in table.grain if g not in {c.name for c in cols}]
        if missing:
            raise ValueError(f"registry: {name}: grain sur des colonnes non déclarées {missing}")
        reg.tables[name] = table
    return reg


def registry_path() -> Path:
    return sql_dir() / "registry.yaml"


@lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int) -> Registry:
    return parse_registry(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def load_registry(path: Path | None = None) -> Registry:
    path = path or registry_path()
    return _load(str(path), path.stat().st_mtime_ns)


# --- comments -------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(table: Table, kind: str | None = None) -> list[str]:
    kind = kind or ("VIEW" if table.is_view else "TABLE")
    out = [f'COMMENT ON {kind} "{table.name}" IS {_quote(table.description)}']
    for c in table.columns:
        if c.description:
            out.append(f'COMMENT ON COLUMN "{table.name}"."{c.name}" IS {_quote(c.description)}')
    return out


# Comments asked for while a run defers them (`comments_deferred`): (relation, registry, columns
# just written and whether a view), written together by `flush_comments`. A context variable, not
# a global: the direct runner's threads run in copies of its context (they share the list), and
# two runs in one process (tests, several buyers) keep theirs apart.
_deferred: ContextVar[list[tuple[str, Registry | None, tuple[list[str], bool] | None]] | None] = \
    ContextVar("achats_deferred_comments", default=None)
_deferred_lock = threading.Lock()


@contextmanager
def comments_deferred() -> Iterator[None]:
    """Within it (and in threads run in copies of its context), `apply_comments` only notes what
    to comment; `flush_comments` writes it. Why: the ≈ 1 000 `COMMENT ON` of a run cost ≈ 0,2 ms
    each (a catalog change each, however batched), ≈ 0,2 s spread over every step of the critical
    chain; the direct runner writes them all at once beside its last step (the dashboard), on
    the core it leaves idle. What is still noted when the block ends is dropped: its caller
    flushes before."""
    token = _deferred.set([])
    try:
        yield
    finally:
        _deferred.reset(token)


@contextmanager
def comments_now() -> Iterator[None]:
    """Within it, `apply_comments` writes at once even inside a run that defers comments. Why: for
    a connection of its own (the reference snapshot, achats.reference_cache), which the run's
    `flush_comments` never reaches."""
    token = _deferred.set(None)
    try:
        yield
    finally:
        _deferred.reset(token)


def pending_comments() -> int:
    """Relations noted and not yet written (0 when comments are not deferred)."""
    with _deferred_lock:
        return len(_deferred.get() or [])


def forget_comments(names: set[str]) -> None:
    """Drop the notes of relations taken back before their comments were written."""
    with _deferred_lock:
        noted = _deferred.get()
        if noted:
            noted[:] = [n for n in noted if n[0] not in names]


def flush_comments(con: duckdb.DuckDBPyConnection) -> int:
    """Write the comments noted so far (one catalog query, one transaction); how many relations."""
    with _deferred_lock:
        noted = _deferred.get()
        if not noted:
            return 0
        todo = list(noted)
        noted.clear()
    asked = sorted({name for name, _, written in todo if written is None})
    found: dict[str, tuple[set[str], bool]] = {}
    if asked:
        rows = con.execute(
            "SELECT c.table_name, c.column_name, v.view_name IS NOT NULL FROM duckdb_columns() c "
            "LEFT JOIN duckdb_views() v ON v.view_name = c.table_name AND v.database_name = c.database_name "
            "AND v.schema_name = c.schema_name WHERE c.database_name = current_database() AND c.schema_name = 'main' "
            "AND c.table_name IN (SELECT unnest($names::VARCHAR[]))", {"names": asked}).fetchall()
        for table, column, is_view in rows:
            found.setdefault(table, (set(), bool(is_view)))[0].add(column)
    statements: list[str] = []
    for name, registry, written in todo:
        have = (set(written[0]), written[1]) if written is not None else found.get(name)
        if have is not None:
            statements += _comments_for(registry or load_registry(), name, *have)
    _execute_comments(con, statements)
    return len(todo)


def apply_comments(con: duckdb.DuckDBPyConnection, name: str, registry: Registry | None = None,
                   written: tuple[list[str], bool] | None = None) -> None:
    """Write the declared descriptions onto a table or view just written (declared columns that
    the relation lacks are left to the checks to report). One catalog query and one call for all
    the statements: a run comments ~70 relations, and each round trip costs. `written`: the
    columns of the relation the caller has just created and whether it is a view, which spares
    the catalog query (≈ 2 ms: duckdb_columns() lists every column of the warehouse). Inside
    `comments_deferred`, only noted."""
    if (registry or load_registry()).tables.get(name) is None:
        return
    noted = _deferred.get()
    if noted is not None:
        with _deferred_lock:
            noted.append((name, registry, written))
        return
    registry = registry or load_registry()
    if written is not None:
        have, is_view = set(written[0]), written[1]
    else:
        found = con.execute(
            "SELECT column_name, (SELECT count(*) > 0 FROM duckdb_views() WHERE view_name = $name AND database_name = "
            "current_database() AND schema_name = 'main') FROM duckdb_columns() WHERE table_name = $name "
            "AND database_name = current_database() AND schema_name = 'main'", {"name": name}).fetchall()
        if not found:
            return
        have = {col for col, _ in found}
        # a source table may be a view over files where they lie (SIRENE stocks): comment what it is
        is_view = found[0][1]
    _execute_comments(con, _comments_for(registry, name, have, is_view))


def _comments_for(registry: Registry, name: str, have: set[str], is_view: bool) -> list[str]:
    """The declared comments of a relation, less those of declared columns it lacks."""
    return [stmt for stmt in comment_statements(registry[name], "VIEW" if is_view else "TABLE")
            if not stmt.startswith("COMMENT ON COLUMN") or stmt.split('"."', 1)[1].split('"', 1)[0] in have]


def _execute_comments(con: duckdb.DuckDBPyConnection, todo: list[str]) -> None:
    """One transaction: each statement alone is a commit (≈ 900 in a run). Callers hold none.
    Without the optimizer: a COMMENT has no query to optimize, but DuckDB still builds its
    optimizer's rules for each statement, about half of the ≈ 0.2 ms each costs. SESSION: a bare
    SET of this option is global in DuckDB, and would turn the optimizer off for the queries other
    steps run at the same time on their cursors (the direct runner's threads)."""
    if not todo:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("SET SESSION enable_optimizer = false;\n" + ";\n".join(todo))
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.execute("RESET SESSION enable_optimizer")
    con.execute("COMMIT")


# --- checks ---------------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def contract_problems(con: duckdb.DuckDBPyConnection, table: Table) -> list[str]:
    """What the relation breaks of its declaration, in French: missing, undeclared or mistyped
    columns; rows sharing a grain key; NULLs in a not-null column. Empty when it keeps it.
    A declared view is checked in one statement (`_view_problems`), a table in two: the same
    answer either way."""
    return _view_problems(con, table) if table.is_view else _contract_problems_general(con, table)


def _view_problems(con: duckdb.DuckDBPyConnection, table: Table) -> list[str]:
    """`contract_problems` in one statement when the relation has every declared grain and
    not-null column: its grain and NULL counts beside the type of each of its columns (`typeof`
    is folded when the query is bound: no column is read for it). Why for views: each statement
    on a view binds it again (≈ 10 ms for source_file_reconciliation), the catalog query then
    the counts paid it twice; for a table, binding the `typeof` of each of its columns costs
    what the catalog query does. Anything else (absent relation, declared column missing, a
    name differing only by its case) takes the general path."""
    declared = {c.name: c for c in table.columns}
    grain = list(table.grain)
    not_null = [c for c, col in declared.items() if col.not_null]
    counts = _counts_sql(grain, not_null)
    try:
        cur = con.execute(f"SELECT {', '.join([*counts, 'typeof(any_value(COLUMNS(*)))'])} "
                          f"FROM {_quoted(table.name)}")
        row = cur.fetchone()
        names = [d[0] for d in cur.description][len(counts):]
    except duckdb.Error:
        return _contract_problems_general(con, table)
    actual = dict(zip(names, row[len(counts):], strict=True))
    if not all(c in actual for c in [*grain, *not_null]):  # bound through another case: the general path
        return _contract_problems_general(con, table)
    return _column_problems(table, actual) + _row_problems(con, table, grain, not_null, row[:len(counts)])


def _counts_sql(grain: list[str], not_null: list[str]) -> list[str]:
    """Rows less distinct grain keys, then the NULLs of each not-null column: one aggregate."""
    keys = ", ".join(_quoted(g) for g in grain)
    counts = [f"count(*) - count(DISTINCT row({keys}))"] if grain else []
    return counts + [f"count(*) FILTER (WHERE {_quoted(c)} IS NULL)" for c in not_null]


def _column_problems(table: Table, actual: dict[str, str]) -> list[str]:
    declared = {c.name: c for c in table.columns}
    out = [f"{table.name}.{c} : colonne déclarée absente" for c in declared if c not in actual]
    out += [f"{table.name}.{c} : colonne non déclarée dans sql/registry.yaml ({t})"
            for c, t in actual.items() if c not in declared]
    out += [f"{table.name}.{c} : type {actual[c]} au lieu de {col.type}"
            for c, col in declared.items() if c in actual and actual[c].replace(" ", "") != col.type]
    return out


def _row_problems(con: duckdb.DuckDBPyConnection, table: Table, grain: list[str], not_null: list[str],
                  row: tuple) -> list[str]:
    """The grain and NULL counts as French problems; only a relation with a repeated key is
    grouped to name it."""
    out = []
    if grain:
        surplus, row = row[0], row[1:]
        keys = ", ".join(_quoted(g) for g in grain)
        dupes, example = con.execute(
            f"SELECT count(*), min(({keys})::VARCHAR) FROM (SELECT {keys} FROM {_quoted(table.name)} "
            "GROUP BY ALL HAVING count(*) > 1)").fetchone() if surplus else (0, None)
        if dupes:
            out.append(f"{table.name} : {dupes} valeur(s) de la clé ({', '.join(grain)}) en plusieurs lignes, "
                       f"par exemple {example}")
    out += [f"{table.name}.{c} : {n} valeur(s) NULL dans une colonne déclarée non nulle"
            for c, n in zip(not_null, row, strict=True) if n]
    return out


def _contract_problems_general(con: duckdb.DuckDBPyConnection, table: Table) -> list[str]:
    """`contract_problems` for any relation: its columns read from the catalog first, then the
    grain and not-null counts of the declared columns it has."""
    # the relation's own columns (pragma_table_info: half the cost of filtering duckdb_columns(),
    # which lists every column of the warehouse, and the same type names)
    try:
        actual = dict(con.execute("""SELECT name, type FROM pragma_table_info('"' || current_database()
                                     || '"."main"."' || ? || '"')""", [table.name.replace('"', '""')]).fetchall())
    except duckdb.CatalogException:
        actual = {}
    if not actual:
        return [f"{table.name} : table ou vue absente de l'entrepôt"]
    # grain and not-null in one scan of the relation, over the declared columns it has
    grain = [g for g in table.grain if g in actual]
    grain = grain if grain and len(grain) == len(table.grain) else []
    not_null = [c.name for c in table.columns if c.not_null and c.name in actual]
    counts = _counts_sql(grain, not_null)
    row = con.execute(f"SELECT {', '.join(counts)} FROM {_quoted(table.name)}").fetchone() if counts else ()
    return _column_problems(table, actual) + _row_problems(con, table, grain, not_null, row)


# --- dictionary -----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def data_dictionary(registry: Registry | None = None) -> str:
    """Markdown from the declarations: the contract views first, then the internal tables."""
    registry = registry or load_registry()
    lines = ["# Dictionnaire des données de l'entrepôt `achats`", "",
             "Généré par `achats dictionary` depuis `sql/registry.yaml`, la déclaration unique de chaque table "
             "et vue (les mêmes textes sont écrits dans l'entrepôt par `COMMENT ON`, visibles dans "
             "`duckdb_columns()`). Les vues du contrat sont stables ; les tables internes peuvent changer.", ""]

    def section(table: Table) -> None:
        lines.extend([f"### `{table.name}`", "", _cell(table.description), ""])
        facts = [f"couche : {table.layer}"]
        if table.grain:
            facts.append("une ligne par : " + ", ".join(f"`{g}`" for g in table.grain))
        if table.upstream:
            facts.append("lit : " + ", ".join(f"`{u}`" for u in table.upstream))
        lines.extend(["; ".join(facts), "", "| colonne | type | unité | non nul | description |",
                      "|---|---|---|---|---|"])
        for c in table.columns:
            lines.append(f"| `{c.name}` | {c.type} | {c.unit or ''} | {'oui' if c.not_null else ''} | "
                         f"{_cell(c.description)} |")
        lines.append("")

    lines.extend(["## Vues du contrat (pour les analystes)", ""])
    for table in registry.tables.values():
        if table.contract:
            section(table)
    lines.extend(["## Tables internes", ""])
    for layer in LAYERS:
        for table in registry.tables.values():
            if not table.contract and table.layer == layer:
                section(table)
    return "\n".join(lines).rstrip("\n")
