"""Settings derived from DATABASE_URL, read by a fresh process as each entry point does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRINT_DATABASE = (
    "import json, django; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; "
    "print(json.dumps({'engine': d['ENGINE'], 'options': d.get('OPTIONS', {})}))"
)


def _database_settings(url: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_CONNECT_TIMEOUT"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "cmi.settings",
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": "memory://",
        "SECRET_KEY": "test-only-key-for-a-settings-read-" + "x" * 20,
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "-c", PRINT_DATABASE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_gets_a_connect_timeout_of_three_seconds_by_default():
    """The project's PostgreSQL engine gets connect_timeout=3: a database that does not
    answer fails a request in seconds, not after the operating system's minutes."""
    got = _database_settings("postgres://cmi@127.0.0.1:5432/cmi")
    assert got["engine"] == "cmi.dbbackends.postgresql"
    assert got["options"]["connect_timeout"] == 3


def test_postgresql_connect_timeout_follows_database_connect_timeout():
    """DATABASE_CONNECT_TIMEOUT sets it; a URL's own connect_timeout wins over both."""
    assert (
        _database_settings("postgres://cmi@127.0.0.1:5432/cmi", DATABASE_CONNECT_TIMEOUT="7")[
            "options"
        ]["connect_timeout"]
        == 7
    )
    got = _database_settings("postgres://cmi@127.0.0.1:5432/cmi?connect_timeout=11")
    assert int(got["options"]["connect_timeout"]) == 11


def test_sqlite_gets_no_connect_timeout():
    """connect_timeout is a libpq option: SQLite's connection would refuse it."""
    got = _database_settings("sqlite:////tmp/hingest/settings-check.sqlite3")
    assert got["engine"] == "cmi.dbbackends.sqlite3"
    assert "connect_timeout" not in got["options"]
