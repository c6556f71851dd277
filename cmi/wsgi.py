import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")

application = get_wsgi_application()

# Each gunicorn worker imports this module: in the background, open its broker
# connection (its first scan does not pay for it) and put its long-lived objects out
# of the garbage collector's reach (cmi/startup.py).
from cmi.startup import web_process_start  # noqa: E402

web_process_start()
