"""The services never import the Celery tasks (the tasks import the services)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import orchestration.services

SERVICES = Path(orchestration.services.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            prefix = "." * node.level + (node.module or "")
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_service_module_imports_the_tasks() -> None:
    """No module of orchestration/services imports orchestration.tasks, even late."""
    for path in sorted(SERVICES.glob("*.py")):
        bad = {n for n in _imports(path)
               if (n.endswith("tasks") and "orchestration" in n) or n in {"..tasks", ".tasks"}}
        assert not bad, f"{path.name} imports {bad}"


def test_importing_the_services_loads_no_task_module() -> None:
    """With Django set up, importing orchestration.services leaves orchestration.tasks
    unimported."""
    code = ("import sys, django; django.setup(); import orchestration.services; "
            "sys.exit('orchestration.tasks' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False,
                            env={"DJANGO_SETTINGS_MODULE": "cap01.settings", **os.environ})
    assert result.returncode == 0, result.stderr


def test_task_names_the_services_send_are_registered() -> None:
    """Every task name services/enqueue.py sends is a registered task of orchestration.tasks."""
    from cap01.celery import app
    from contracts.stages import STAGE_TABLE
    from orchestration import tasks  # noqa: F401  (registers them)
    from orchestration.services import enqueue

    names = {enqueue.PERSIST_TASK, enqueue.DISPATCH_TASK, enqueue.RECONCILE_TASK,
             enqueue.GC_BLOBS_TASK, enqueue.CONDENSE_TASK, *(s.task for s in STAGE_TABLE)}
    assert names <= set(app.tasks)
