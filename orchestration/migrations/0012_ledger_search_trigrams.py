"""A substring index of the admin search's three columns (orchestration/admin.py, selectors).

SQLite: an FTS5 table with the `trigram` tokenizer (SQLite >= 3.34) over lower(run_id),
lower(product), lower(request_text), rowid = the ledger row's id, kept in step by three
triggers (insert; delete; an update that changes one of the three). SQLite's lower() and LIKE
fold ASCII letters only, so the table holds the texts folded as LIKE folds them and the
tokenizer is case-sensitive: a phrase of the folded word matches exactly the rows that
`icontains` (LIKE '%word%') matches, for words of 3 characters or more (a trigram phrase is a
substring; shorter words have no trigram and are matched by LIKE over migration 0011's index).
An SQLite without FTS5 or the trigram tokenizer gets nothing here and keeps the LIKE scan.

PostgreSQL: pg_trgm GIN indexes on UPPER(column::text), the expression Django's `icontains`
compares (UPPER(x::text) LIKE UPPER('%word%')), so the planner answers the plain search from
them. Creating the extension may need rights the database user lacks: then nothing is created
and the search stays a scan (a warning says so; a DBA may run CREATE EXTENSION pg_trgm and
this migration again).

Django's model state knows none of this. A later migration that rebuilds the ledger's table on
SQLite (Django copies it to a new table) drops the triggers: selectors.ledger_trigrams_ready
then answers False (the admin falls back to the scan) and tests/integration/test_admin.py
fails.
"""

import warnings

from django.db import DatabaseError, migrations, transaction

TABLE = "orchestration_runrecord"
FTS = "orchestration_runrecord_fts"
COLUMNS = ("run_id", "product", "request_text")
_NEW = ", ".join(f"lower(new.{c})" for c in COLUMNS)
_CHANGED = " OR ".join(f"old.{c} IS NOT new.{c}" for c in ("id", *COLUMNS))

SQLITE_CREATE = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5({', '.join(COLUMNS)}, "
    "tokenize = 'trigram case_sensitive 1', columnsize = 0)",
    f"INSERT INTO {FTS} (rowid, {', '.join(COLUMNS)}) "
    f"SELECT id, {', '.join(f'lower({c})' for c in COLUMNS)} FROM {TABLE}",
    f"CREATE TRIGGER {FTS}_insert AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO {FTS} (rowid, {', '.join(COLUMNS)}) VALUES (new.id, {_NEW}); END",
    f"CREATE TRIGGER {FTS}_delete AFTER DELETE ON {TABLE} BEGIN "
    f"DELETE FROM {FTS} WHERE rowid = old.id; END",
    f"CREATE TRIGGER {FTS}_update AFTER UPDATE OF id, {', '.join(COLUMNS)} ON {TABLE} "
    f"WHEN {_CHANGED} BEGIN "
    f"DELETE FROM {FTS} WHERE rowid = old.id; "
    f"INSERT INTO {FTS} (rowid, {', '.join(COLUMNS)}) VALUES (new.id, {_NEW}); END",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {FTS}_{name}" for name in ("insert", "delete", "update")
               ] + [f"DROP TABLE IF EXISTS {FTS}"]



PG_INDEXES = {f"{TABLE}_{c}_trgm": c for c in COLUMNS}


def _pg_create(schema_editor, name: str, column: str) -> None:  # type: ignore[no-untyped-def]
    """gin (UPPER(column::text) gin_trgm_ops), through the backend's own CREATE INDEX template
    (Django's GinIndex + OpClass would need django.contrib.postgres installed)."""
    qn = schema_editor.quote_name
    schema_editor.execute(schema_editor.sql_create_index % {
        "name": qn(name), "table": qn(TABLE), "using": " USING gin",
        "columns": f"UPPER({qn(column)}::text) gin_trgm_ops", "include": "", "extra": "",
        "condition": ""})


def _sqlite_has_trigrams(cursor) -> bool:  # type: ignore[no-untyped-def]
    try:
        with transaction.atomic():
            cursor.execute("CREATE VIRTUAL TABLE temp.cap01_trigram_probe "
                           "USING fts5(x, tokenize = 'trigram case_sensitive 1')")
            cursor.execute("DROP TABLE temp.cap01_trigram_probe")
        return True
    except DatabaseError:
        return False


def _pg_has_trigrams(cursor) -> bool:  # type: ignore[no-untyped-def]
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if cursor.fetchone():
        return True
    try:
        with transaction.atomic():  # a savepoint: a refused CREATE EXTENSION leaves it usable
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except DatabaseError as exc:
        warnings.warn(f"pg_trgm could not be created ({exc}); the admin search stays a scan "
                      "of the ledger. Run CREATE EXTENSION pg_trgm as a superuser, then "
                      "`manage.py migrate orchestration 0011` and `manage.py migrate`.", stacklevel=1)
        return False


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite" and _sqlite_has_trigrams(cursor):
            for sql in SQLITE_CREATE:
                cursor.execute(sql)
        elif vendor == "postgresql" and _pg_has_trigrams(cursor):
            for name, column in PG_INDEXES.items():
                _pg_create(schema_editor, name, column)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for sql in SQLITE_DROP:
                cursor.execute(sql)
    elif vendor == "postgresql":
        for name in PG_INDEXES:  # DROP INDEX IF EXISTS: none were made without pg_trgm
            schema_editor.execute(schema_editor.sql_delete_index % {
                "table": schema_editor.quote_name(TABLE), "name": schema_editor.quote_name(name)})


class Migration(migrations.Migration):

    dependencies = [
        ("orchestration", "0011_ledger_search_index"),
    ]

    operations = [migrations.RunPython(create, drop)]
