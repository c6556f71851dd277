"""The baseline of one event per POST: a Django view doing one INSERT and nothing else
(no authentication, no lookup, no ledger), behind the same gunicorn and middleware."""

from __future__ import annotations

import json

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

TABLE = "bench_bare"
DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, tenant integer NOT NULL, "
    "event_id uuid NOT NULL, code varchar(32) NOT NULL, kind varchar(16) NOT NULL, "
    "quantity integer NOT NULL, occurred_at timestamptz NOT NULL, "
    "UNIQUE (tenant, event_id)); "
    f"GRANT ALL ON {TABLE} TO PUBLIC; GRANT ALL ON SEQUENCE {TABLE}_id_seq TO PUBLIC"
)


@csrf_exempt
def insert_one(request):
    event = json.loads(request.body)["scans"][0]
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {TABLE} (tenant, event_id, code, kind, quantity, occurred_at) "
            "VALUES (1, %s, %s, %s, %s, %s)",
            [event["event_id"], event["code"], event["kind"], event["quantity"],
             event["occurred_at"]],
        )  # fmt: skip
    return JsonResponse({"accepted": 1})
