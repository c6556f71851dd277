"""GET /healthz: 200 {"status": "ok", "database": true} while the database answers, 503 when not.

test_healthz_url_answers_ok needs `path("healthz", healthz)` in cmi/urls.py; the
others call the view directly.
"""

from __future__ import annotations

import json

from django.db import OperationalError

from cmi import health


class _UnreachableDatabase:
    """Stands in for django.db.connection when the server is down."""

    def cursor(self):
        raise OperationalError("connection refused")


def test_healthz_url_answers_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok", "database": True}
    assert "no-store" in response["Cache-Control"]


def test_healthz_view_runs_a_query(rf, db):
    response = health.healthz(rf.get("/healthz"))
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": True}


def test_healthz_answers_503_when_the_database_does_not(rf, monkeypatch):
    monkeypatch.setattr(health, "connection", _UnreachableDatabase())
    response = health.healthz(rf.get("/healthz"))
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "database": False}


def test_healthz_accepts_head_and_refuses_writes(rf, db):
    assert health.healthz(rf.head("/healthz")).status_code == 200
    assert health.healthz(rf.post("/healthz")).status_code == 405
