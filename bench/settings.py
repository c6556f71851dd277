"""The project's settings plus one bare view (bench/bare.py): the baseline that
`make bench` serves with the same gunicorn and middleware as the scan API."""

from cmi.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
