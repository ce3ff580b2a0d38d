"""The Celery application. Tasks live in orchestration/tasks.py; configuration in settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cap01.settings")

app = Celery("cap01")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
