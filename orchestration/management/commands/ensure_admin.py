"""manage.py ensure_admin: create (or keep) the staff superuser for the admin and the API.

Credentials come from CAP01_ADMIN_USER / CAP01_ADMIN_PASSWORD; without a password one is
generated once, kept in a git-ignored file, and printed so that the person who ran `make run`
can log in. Prints an API token for that user as well.
"""

import os
import secrets
from argparse import ArgumentParser
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Create the admin user if missing; print its credentials and API token."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args: object, quiet: bool, **options: object) -> None:
        username = os.environ.get("CAP01_ADMIN_USER", "admin")
        password = os.environ.get("CAP01_ADMIN_PASSWORD")
        source = "CAP01_ADMIN_PASSWORD"
        if not password:
            stored = Path(settings.SERVICES_DIR) / "admin-password"
            if not stored.exists():
                stored.parent.mkdir(parents=True, exist_ok=True)
                stored.write_text(secrets.token_urlsafe(12))
                stored.chmod(0o600)
            password, source = stored.read_text().strip(), str(stored)
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True})
        if created or not user.check_password(password):
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        if not quiet:
            self.stdout.write(f"Admin user: {username}  password: {password}  (from {source})")
            self.stdout.write(f"API token:  {token.key}")
