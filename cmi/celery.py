"""The Celery application: `celery -A cmi worker` and `celery -A cmi beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")

app = Celery("cmi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
