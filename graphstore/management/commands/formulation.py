"""manage.py formulation ID --uses RUN_ID | --status active|retired: declare what retention keeps.

An active formulation keeps the recipe (and, unless --recipe-only, the calculation) of the runs
it uses through retention: (:Formulation)-[:USES_RECIPE]->(:RecipeVersion),
(:Formulation)-[:USES_CALCULATION]->(:CalculationResult).
"""

from argparse import ArgumentParser
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from graphstore.connection import database, get_driver
from graphstore.errors import GraphStoreError
from graphstore.retention import formulation_link, formulation_status_set


class Command(BaseCommand):
    help = ("Link a formulation to the recipe and calculation of a run (--uses RUN_ID), or "
            "change its status (--status). Active formulations keep what they use through "
            "retention.")

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("formulation_id")
        parser.add_argument("--uses", metavar="RUN_ID", help="the run whose recipe it uses")
        parser.add_argument("--status", choices=["active", "retired"])
        parser.add_argument("--recipe-only", action="store_true",
                            help="keep the recipe but not the run's calculation")

    def handle(self, *args: object, formulation_id: str, uses: str | None, status: str | None,
               recipe_only: bool, **options: object) -> None:
        if not uses and not status:
            raise CommandError("Give --uses RUN_ID (to link) or --status (to change it).")
        now = datetime.now(UTC)
        try:
            if uses:
                formulation_link(driver=get_driver(), database=database(),
                                 formulation_id=formulation_id, run_id=uses, now=now,
                                 status=status or "active", with_calculation=not recipe_only)
                self.stdout.write(f"Formulation {formulation_id} ({status or 'active'}) uses the "
                                  f"recipe{'' if recipe_only else ' and calculation'} of {uses}.")
            else:
                formulation_status_set(driver=get_driver(), database=database(),
                                       formulation_id=formulation_id, status=str(status), now=now)
                self.stdout.write(f"Formulation {formulation_id} is now {status}.")
        except GraphStoreError as exc:
            raise CommandError(str(exc)) from exc
