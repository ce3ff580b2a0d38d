"""CAP-01 Django project: settings, URLs, the Celery app, WSGI/ASGI. No business logic here."""

from .celery import app as celery_app

__all__ = ["celery_app"]
