"""Upgrading a graph written before the validation issue lists existed: the backfill gives old
ValidationReports their lists, and validation analytics answer as for a freshly written graph."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command

from graphstore import analytics
from graphstore.codecs import ISSUE_LISTS
from graphstore.connection import database, get_writer
from graphstore.migrate import backfill_issue_lists
from tests.integration.test_analytics import EVERY, SINCE, UNTIL, seed_runs

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LISTS = ", ".join(f"v.{name}" for names in ISSUE_LISTS.values() for name in names)


def _report(driver):  # type: ignore[no-untyped-def]
    return analytics.validation_report(analytics.Window(SINCE, UNTIL), scope=EVERY,
                                       kind="errors", limit=20, driver=driver,
                                       database=database())


def test_backfill_restores_the_issue_lists_of_an_old_graph(graph):
    """Lists removed (as an old writer left them) come back from the JSON: same figures, and a
    second pass changes nothing."""
    writer = get_writer()
    for run in seed_runs():
        writer.write(run)
    fresh = _report(graph)
    graph.execute_query(f"MATCH (v:ValidationReport) REMOVE {LISTS}",  # an old graph
                        database_=settings.NEO4J_DATABASE)
    assert _report(graph).issues == []
    # the six runs that got as far as validation, four per batch
    assert backfill_issue_lists(driver=graph, database=database(), batch_size=4) == 6
    assert _report(graph) == fresh
    assert backfill_issue_lists(driver=graph, database=database()) == 0
    call_command("upgrade_graph")
