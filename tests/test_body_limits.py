"""A body over DATA_UPLOAD_MAX_MEMORY_SIZE is answered 413 in the API's JSON error shape
(code `body_too_large`) on every /api/ endpoint, whatever parser the view uses."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from stocking.models import ScanEvent
from tests.conftest import as_user, bearer

LIMIT = 2000


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT


def _big_json() -> bytes:
    return b'{"pad": "' + b"x" * (LIMIT * 2) + b'"}'


@pytest.mark.parametrize(
    ("url", "who", "content_type"),
    [
        ("/api/v1/auth/token", None, "application/json"),
        ("/api/v1/auth/token", None, "application/x-www-form-urlencoded"),
        ("/api/v1/items/", "admin", "application/json"),
        ("/api/v1/items/", "admin", "application/x-www-form-urlencoded"),
        ("/api/v1/sites/", "admin", "application/json"),
        ("/api/v1/scans", "device", "application/json"),
    ],
)
def test_oversized_body_is_a_json_413(world, small_limit, url, who, content_type):
    va = world["a"]
    client = {
        None: APIClient(),
        "admin": as_user(va.admin),
        "device": bearer(va.customers[0].token),
    }[who]
    resp = client.post(url, _big_json(), content_type=content_type)
    assert resp.status_code == 413, (resp.status_code, resp.content[:200])
    assert resp["Content-Type"].startswith("application/json")
    assert resp.json()["error"]["code"] == "body_too_large"
    assert ScanEvent.objects.count() == 0


def test_a_body_within_the_limit_is_read(world, small_limit):
    resp = as_user(world["a"].admin).post(
        "/api/v1/sites/", b'{"customer": 1}', content_type="application/json"
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] != "body_too_large"


def test_the_edi_inbox_keeps_its_own_larger_limit(world, small_limit):
    """An interchange may be larger than a form post; the inbox reads up to its own
    limit and answers over-limit bodies itself (and below it, reads the X12)."""
    from edi.api.inbox import MAX_BYTES

    client = bearer(world["a"].erp_key)
    resp = client.post("/api/v1/edi/inbox", b"x" * (LIMIT * 2), content_type="application/edi-x12")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "not_x12"
    resp = client.post(
        "/api/v1/edi/inbox", b"x" * (MAX_BYTES + 1), content_type="application/edi-x12"
    )
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "body_too_large"


def test_a_form_body_django_refuses_is_json_under_api(world, settings):
    """Too many form fields: Django refuses the body before the view answers; under
    /api/ that refusal is the JSON error shape too, and HTML elsewhere."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{i}=1" for i in range(20))
    resp = APIClient().post(
        "/api/v1/auth/token", body, content_type="application/x-www-form-urlencoded"
    )
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "too_many_fields"
