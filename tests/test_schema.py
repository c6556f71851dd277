"""The committed OpenAPI schema is the code's schema: CI fails when they drift."""

from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_matches_the_code(tmp_path):
    fresh = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(fresh), "--validate", "--fail-on-warn")
    committed = (ROOT / "openapi.yaml").read_text()
    assert fresh.read_text() == committed, "openapi.yaml is stale: run `make schema` and commit it"


def test_schema_and_docs_are_served(client):
    resp = client.get("/api/schema/")
    assert resp.status_code == 200 and b"/api/v1/scans" in resp.content
    assert client.get("/api/docs/").status_code == 200
