"""The admin changelist's search reads a covering index on SQLite (orchestration/admin.py).

A ledger row is ~8 KB (the RunResult's JSON), so on SQLite a row fills a page of its own and a
substring search that reads the table reads the whole file (1.4 GB at 100,000 runs: 0.5 s per
statement). This index holds only the three searched columns (and the rowid), ~10 MB at 100,000
rows: the search scans it instead. On PostgreSQL the bulky JSON is TOASTed out of the heap and a
B-tree entry is limited to about 2.7 KB (a request text may be 2,000 characters of any script),
so the index is created on SQLite only; a trigram index is the PostgreSQL answer (README).
Django's model state does not hold it (RunRecord.Meta would create it on PostgreSQL too): a later
migration that rebuilds the table on SQLite drops it, and tests/integration/test_admin.py (the
search's query plan) then fails."""

from django.db import migrations, models

INDEX = models.Index(fields=["run_id", "product", "request_text"],
                     name="orchestration_runrecord_search")


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.add_index(apps.get_model("orchestration", "RunRecord"), INDEX)


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.remove_index(apps.get_model("orchestration", "RunRecord"), INDEX)


class Migration(migrations.Migration):

    dependencies = [
        ("orchestration", "0010_runrecord_full_started_idx"),
    ]

    operations = [migrations.RunPython(create, drop)]
