"""Indexes (PostgreSQL): none is covered by another, and what was dropped as covered
is still found through an index.

Every index is written on every insert and on every update that is not HOT: an index
whose columns are a leading prefix of another index's on the same table serves no
lookup the longer one does not, and costs the writes. Django adds one per foreign key
unless told `db_index=False`; a composite index starting with the same column (or a
unique constraint) already serves that key.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="introspects pg_index"),
]

PROJECT_APPS = (
    "cmi",
    "catalog",
    "stocking",
    "replenishment",
    "edi",
    "insight",
    "notify",
    "webhooks",
)

# Covered indexes still there in apps whose migrations this change does not touch
# (each app's owner drops its own); a table leaves this list when they are dropped.
# The ingest's tables (stocking) and order lines are clean.
NOT_YET_DROPPED = {
    "catalog_crossreference": {("customer_id",), ("vendor_id",)},
    "catalog_item": {("vendor_id",)},
    "catalog_itembarcode": {("vendor_id",)},
    "cmi_customer": {("vendor_id",)},
    "cmi_domainevent": {("vendor_id",)},
    "cmi_membership_assigned_customers": {("membership_id",)},
    "cmi_settingchange": {("vendor_id",)},
    "cmi_vendorsequence": {("vendor_id",)},
    "edi_document": {("order_id",), ("vendor_id",)},
    "edi_invoice": {("vendor_id",)},
    "edi_orderedistate": {("vendor_id",)},
    "edi_shipment": {("vendor_id",)},
    "insight_backtest": {("vendor_id",)},
    "insight_demandpolicy": {("vendor_id",)},
    "insight_recommendation": {("vendor_id",)},
    "insight_scorecardmonth": {("customer_id",), ("vendor_id",)},
    "insight_scorecardtarget": {("customer_id",), ("vendor_id",)},
    "insight_usagedaily": {("bin_id",), ("vendor_id",)},
    "insight_usagesitedaily": {("site_id",), ("vendor_id",)},
    "notify_digest": {("user_id",), ("vendor_id",)},
    "notify_emaildelivery": {("event_id",), ("user_id",), ("vendor_id",)},
    "notify_notification": {("user_id",)},
    "notify_subscription": {("user_id",), ("vendor_id",)},
    "notify_watch": {("vendor_id",)},
    "replenishment_order": {("vendor_id",)},
    "webhooks_webhookattempt": {("delivery_id",)},
    "webhooks_webhookdelivery": {("vendor_id",)},
    "webhooks_webhookendpoint": {("vendor_id",)},
}

# Plain btree indexes with default operator classes (a varchar_pattern_ops index
# serves LIKE, which the plain one does not), no predicate, no expression.
INDEXES = """
SELECT t.relname, i.relname, x.indisunique,
       array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
             ORDER BY k.n)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_am m ON m.oid = i.relam
WHERE t.relname = ANY(%s) AND m.amname = 'btree'
  AND x.indpred IS NULL AND x.indexprs IS NULL
  AND NOT EXISTS (SELECT 1 FROM unnest(x.indclass) c(oid)
                  JOIN pg_opclass o ON o.oid = c.oid WHERE NOT o.opcdefault)
"""


def _project_tables() -> list[str]:
    tables = set()
    for label in PROJECT_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables.add(model._meta.db_table)
    return sorted(tables)


def _covered() -> dict[str, set[tuple[str, ...]]]:
    """{table: {columns of each non-unique index that another index's columns start with}}."""
    with connection.cursor() as cursor:
        cursor.execute(INDEXES, [_project_tables()])
        rows = cursor.fetchall()
    by_table: dict[str, list[tuple[str, bool, tuple[str, ...]]]] = {}
    for table, name, unique, columns in rows:
        by_table.setdefault(table, []).append((name, unique, tuple(columns)))
    found: dict[str, set[tuple[str, ...]]] = {}
    for table, indexes in by_table.items():
        for name, unique, columns in indexes:
            if unique:
                continue
            for other, _, longer in indexes:
                if other != name and longer[: len(columns)] == columns:
                    found.setdefault(table, set()).add(columns)
    return found


def test_no_index_is_a_leading_prefix_of_another_on_the_same_table():
    """A non-unique index whose columns begin another index's (same table, neither
    partial) is only extra writes: the longer index serves every lookup it would."""
    covered = _covered()
    new = {
        table: columns - NOT_YET_DROPPED.get(table, set())
        for table, columns in covered.items()
        if columns - NOT_YET_DROPPED.get(table, set())
    }
    assert new == {}, f"covered indexes (drop them, db_index=False on a foreign key): {new}"


def test_the_list_of_covered_indexes_left_to_other_apps_is_current():
    """An entry of NOT_YET_DROPPED whose index is gone leaves the list (so the list
    cannot hide a new covered index on the same columns later)."""
    covered = _covered()
    stale = {
        table: columns - covered.get(table, set())
        for table, columns in NOT_YET_DROPPED.items()
        if columns - covered.get(table, set())
    }
    assert stale == {}


# Each column whose own index stocking/0012 (or replenishment/0008) dropped, and the index
# that now serves it
# (None: any of several composite indexes starting with it).
DROPPED = [
    ("stocking_site", "vendor_id", "stocking_si_vendor__bd52a7_idx"),
    ("stocking_site", "customer_id", "site_code_unique_per_customer"),
    ("stocking_location", "vendor_id", None),
    ("stocking_location", "customer_id", "location_code_unique_per_customer"),
    ("stocking_scannerdevice", "vendor_id", "stocking_sc_vendor__ff86ba_idx"),
    ("stocking_bin", "vendor_id", None),
    ("stocking_bin", "location_id", "bin_unique_per_location_item"),
    ("stocking_scanevent", "vendor_id", None),
    ("stocking_scanevent", "bin_id", "stocking_sc_bin_id_c5b0f0_idx"),
    ("stocking_ledgerentry", "bin_id", "stocking_le_bin_id_a4f23e_idx"),
    ("stocking_binlevelchange", "bin_id", "stocking_bi_bin_id_40942b_idx"),
    ("stocking_rfidreader", "vendor_id", "stocking_rf_vendor__be3d47_idx"),
    ("stocking_rfidcard", "vendor_id", None),
    ("stocking_rfidtag", "vendor_id", None),
    ("stocking_rfidunknowntag", "vendor_id", None),
    ("stocking_rfidcycle", "reader_id", None),
    ("stocking_rfidtagmovement", "ledger_entry_id", "stocking_rf_ledger__5cb615_idx"),
    ("stocking_rfidtagmovement", "tag_id", "stocking_rf_tag_id_0bedb8_idx"),
    # not covered but made partial: only rows with a user have an entry
    ("stocking_scanevent", "user_id", "scan_event_user"),
    ("stocking_ledgerentry", "user_id", "ledger_user"),
    ("replenishment_orderevent", "user_id", "order_event_user"),
]


@pytest.mark.parametrize(("table", "column", "index"), DROPPED)
def test_a_column_whose_own_index_was_dropped_is_still_looked_up_by_an_index(table, column, index):
    """`WHERE column = …` (what a filter, a join or a foreign key's delete check sends)
    is planned as an index scan, not a scan of the table (sequential scans disabled so
    the empty test table does not make the planner prefer one)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT 1 FROM {table} WHERE {column} = 1")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan, plan
    if index is not None:
        assert index in plan, plan
