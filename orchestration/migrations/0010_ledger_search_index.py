"""The admin changelist's search reads a covering index on SQLite (orchestration/admin.py).

A ledger row is ~8 KB (the RunResult's JSON), so on SQLite a row fills a page of its own and a
substring search that reads the table reads the whole file (1.4 GB at 100,000 runs: 0.5 s per
statement). This index holds only the three searched columns (and the rowid), ~10 MB at 100,000
rows: the search scans it instead. On PostgreSQL the bulky JSON is TOASTed out of the heap and a
B-tree entry is limited to about 2.7 KB (a request text may be 2,000 characters of any script),
so the index is created on SQLite only; a trigram index is the PostgreSQL answer (README)."""

from django.db import migrations

INDEX = "orchestration_runrecord_search"
CREATE = (f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "orchestration_runrecord" '
          '("run_id", "product", "request_text")')


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):

    dependencies = [
        ("orchestration", "0009_analytics_rollups"),
    ]

    operations = [migrations.RunPython(create, drop)]
