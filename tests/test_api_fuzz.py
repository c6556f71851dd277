"""Schemathesis against the live schema: every operation, every kind of token.

Bounded (a fixed seed, a few dozen examples per operation) so it runs in `make test`.
The checks are the contract's: no answer is a 5xx, and every answer's status, content
type and body are the ones the schema documents.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cmi.services import api_token_create

pytestmark = pytest.mark.fuzz

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
TOKEN_KINDS = ["vendor_user", "customer_user", "scanner", "erp"]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI app closes the database connection after each request, as it should in
    production; in a test that connection holds the test's transaction. Django's own
    test client unhooks the same signal."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(world) -> dict[str, str]:
    va = world["a"]
    cw = va.customers[0]
    return {
        "vendor_user": api_token_create(user=va.admin, name="fuzz")[1],
        "customer_user": api_token_create(user=cw.manager, name="fuzz")[1],
        "scanner": cw.token,
        "erp": va.erp_key,
    }


@schema.parametrize()
@schema.given(kind=st.sampled_from(TOKEN_KINDS))
@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_answer_as_documented(case, kind, tokens):
    response = case.call(headers={"Authorization": f"Bearer {tokens[kind]}"})
    case.validate_response(response, checks=CHECKS)
