"""manage.py show_run RUN_ID [--json]: a persisted run, replayed from Neo4j. A run that cannot be
shown (unknown, damaged: its blob missing or corrupted, Neo4j or the blob store down) is one
sentence on stderr and exit status 1."""

import json
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError
from neo4j.exceptions import DriverError, Neo4jError

from contracts import checksum
from graphstore.connection import database, get_blob_store, get_driver
from graphstore.errors import GraphStoreError
from graphstore.replay import load_run, verify_run


class Command(BaseCommand):
    help = "Read a persisted run back from Neo4j (and the blob store) and show it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("run_id")
        parser.add_argument("--json", action="store_true", help="print the RunResult as JSON")

    def handle(self, *args: object, run_id: str, json: bool, **options: object) -> None:
        try:
            run = load_run(run_id, driver=get_driver(), database=database(),
                           blob_store=get_blob_store())
            check = verify_run(run_id, driver=get_driver(), database=database())
        except GraphStoreError as exc:  # unknown run, damaged run (a missing blob), store down
            raise CommandError(str(exc)) from exc
        except (Neo4jError, DriverError) as exc:
            raise CommandError(f"Neo4j did not answer ({type(exc).__name__}: {exc}); is it "
                               "running (`make services-up`)?") from exc
        if json:
            self.stdout.write(_dumps(run.to_wire()))
            return
        meta, req = run.metadata, run.request
        out = [
            f"Run {meta.id}  status={meta.status}  started={meta.timestamp.isoformat()}  "
            f"duration={meta.total_duration:.1f} ms"
            + (f"  failed agent={meta.failed_agent}" if meta.failed_agent else ""),
            f"Request: {req.user_request!r}, {req.target_batch_size:g} {req.target_unit}",
        ]
        if run.recipe:
            out.append(f"Recipe: {run.recipe.name} ({run.recipe.id}), "
                       f"{len(run.recipe.ingredients)} ingredients")
            scaled = {s.ingredient_id: s for s in run.calculation.scaled_ingredients} \
                if run.calculation else {}
            for ing in run.recipe.ingredients:
                s = scaled.get(ing.id)
                qty = f"{s.scaled_quantity:>12.4f} {s.scaled_unit:<5}" if s else ""
                out.append(f"  {ing.name:<28} {ing.percentage:>7.2f} %  {qty}")
        if run.calculation:
            c = run.calculation.costs
            out.append(f"Cost: {c.total:.2f} {c.currency} ({c.per_unit:.4f} per "
                       f"{run.calculation.target_unit})")
        if run.validation:
            out.append(f"Validation: {'valid' if run.validation.valid else 'INVALID'} - "
                       f"{run.validation.summary}")
        if run.graph:
            out.append(f"Graph: {len(run.graph.nodes)} nodes, {len(run.graph.edges)} edges, "
                       f"{len(run.graph.cypher_commands)} cypher commands")
        out.append("Agents:")
        for e in run.agent_history:
            out.append(f"  {e.sequence:>3} {e.agent:<18} {e.status:<9} {e.duration:>8.1f} ms"
                       + (f"  {e.error}" if e.error else ""))
        state = "complete" if check.complete else "INCOMPLETE"
        if check.condensed:
            removed = ", ".join(meta.condensed.removed) if meta.condensed else "details"
            out.append(f"Condensed by retention (removed: {removed}); the graph holds "
                       f"{check.nodes} nodes / {check.relationships} relationships of the "
                       f"{check.condensed_nodes} / {check.condensed_relationships} the "
                       f"condensation kept: {state}")
        else:
            out.append(f"Commit marker: {check.marker_nodes} nodes / "
                       f"{check.marker_relationships} relationships; graph holds {check.nodes} / "
                       f"{check.relationships}: {state}")
            same = checksum(run.to_wire()) == check.checksum
            out.append(f"Checksum: {checksum(run.to_wire())} "
                       f"({'matches' if same else 'DIFFERS from'} the commit marker)")
        self.stdout.write("\n".join(out))


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
