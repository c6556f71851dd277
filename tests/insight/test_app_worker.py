"""The on-demand recompute and a backtest, queued by the API after commit, run on a real
Celery worker process against the same database."""

from __future__ import annotations

import time

import pytest

from insight.models import Backtest, Recommendation
from tests.conftest import as_user
from tests.factories import vendor_world
from tests.test_e2e import worker  # noqa: F401  (the real worker fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _wait(check, log, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    pytest.fail(f"timed out; worker log:\n{log.read_text()}")


def test_recompute_and_backtest_run_on_a_worker(worker):  # noqa: F811
    proc, log = worker
    va = vendor_world("wk", customers=1)
    cw = va.customers[0]
    client = as_user(va.rep)
    res = client.post(
        "/api/v1/recommendations/recompute", {"customer": cw.customer.pk}, format="json"
    )
    assert res.status_code == 202
    _wait(lambda: Recommendation.objects.filter(customer=cw.customer).count() == 3, log)
    res = client.post(
        "/api/v1/backtests",
        {"customer": cw.customer.pk, "days": 30, "variants": [{"kind": "as_was"}]},
        format="json",
    )
    assert res.status_code == 202
    run_id = res.json()["id"]
    _wait(lambda: Backtest.objects.get(pk=run_id).status == "done", log)
    got = client.get(f"/api/v1/backtests/{run_id}").json()
    assert got["progress"] == 100
    assert len(got["result"]["variants"][0]["bins"]) == 3
    assert proc.poll() is None
