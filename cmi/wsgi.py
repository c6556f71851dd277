import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmi.settings")

application = get_wsgi_application()

# Each gunicorn worker imports this module: its long-lived objects out of the
# collector's reach before it serves (cmi/startup.py).
from cmi.startup import objects_freeze  # noqa: E402

objects_freeze(load_urls=True)

# Each gunicorn worker imports this module: open its broker connection now, in the
# background, so that its first scan does not pay for it.
from cmi.broker import warm_in_background  # noqa: E402

warm_in_background()
