"""manage.py export_schemas [--check]: write (or compare) the v1 JSON Schema files."""

from argparse import ArgumentParser
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from contracts import generate_schemas


class Command(BaseCommand):
    help = "Generate schemas/v1/*.schema.json from the Pydantic contract (--check: compare only)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--check", action="store_true",
                            help="exit 1 when the committed files differ from the models")
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "schemas" / "v1"))

    def handle(self, *args: object, check: bool, out: str, **options: object) -> None:
        folder = Path(out)
        schemas = generate_schemas()
        stale = [name for name, text in schemas.items()
                 if not (folder / name).exists() or (folder / name).read_text("utf-8") != text]
        if check:
            if stale:
                raise CommandError(f"JSON Schemas in {folder} differ from the models: "
                                   f"{', '.join(stale)}. Run `manage.py export_schemas`.")
            self.stdout.write(f"{len(schemas)} schemas in {folder} match the models.")
            return
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in schemas.items():
            (folder / name).write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote {len(schemas)} schemas to {folder} ({len(stale)} changed).")
