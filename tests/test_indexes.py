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

# Covered indexes kept. The table Django creates for Membership.assigned_customers has an
# index on membership_id beside the (membership_id, customer_id) unique one; an
# auto-created through table's foreign keys take no db_index, and taking the table over
# with an explicit through model is not worth it for a few rows an admin edits by hand.
NOT_YET_DROPPED = {
    "cmi_membership_assigned_customers": {("membership_id",)},
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


# Each column whose own index a migration dropped, and the index that now serves it
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
    # cmi/0009, catalog/0003, edi/0004, insight/0008, notify/0003, replenishment/0009,
    # webhooks/0003 (drop_covered_indexes)
    ("cmi_customer", "vendor_id", "customer_code_unique_per_vendor"),
    ("cmi_domainevent", "vendor_id", None),
    ("cmi_settingchange", "vendor_id", None),
    ("cmi_vendorsequence", "vendor_id", "vendor_sequence_unique"),
    ("catalog_item", "vendor_id", "item_sku_unique_per_vendor"),
    ("catalog_itembarcode", "vendor_id", "item_barcode_unique_per_vendor"),
    ("catalog_crossreference", "vendor_id", "catalog_cro_vendor__3c3414_idx"),
    ("catalog_crossreference", "customer_id", "cross_reference_unique_per_customer"),
    ("edi_document", "vendor_id", "edi_documen_vendor__ff8e7c_idx"),
    ("edi_document", "order_id", "edi_documen_order_i_f5eaed_idx"),
    ("edi_invoice", "vendor_id", "invoice_number_unique_per_vendor"),
    ("edi_orderedistate", "vendor_id", "edi_ordered_vendor__1fd680_idx"),
    ("edi_shipment", "vendor_id", "shipment_once_per_order"),
    ("insight_backtest", "vendor_id", "insight_bac_vendor__a232ef_idx"),
    ("insight_demandpolicy", "vendor_id", "insight_dem_vendor__50d5c3_idx"),
    ("insight_recommendation", "vendor_id", None),
    ("insight_scorecardmonth", "vendor_id", "insight_sco_vendor__7e27ab_idx"),
    ("insight_scorecardmonth", "customer_id", "scorecard_month_once_per_customer"),
    ("insight_scorecardtarget", "vendor_id", "insight_sco_vendor__e7d783_idx"),
    ("insight_scorecardtarget", "customer_id", "scorecard_target_one_per_metric"),
    ("insight_usagedaily", "vendor_id", None),
    ("insight_usagedaily", "bin_id", "usage_daily_one_per_bin_day"),
    ("insight_usagesitedaily", "vendor_id", None),
    ("insight_usagesitedaily", "site_id", "usage_site_daily_one_per_day"),
    ("notify_subscription", "vendor_id", "notify_subs_vendor__d1f731_idx"),
    ("notify_subscription", "user_id", "subscription_unique_per_user"),
    ("notify_notification", "user_id", None),
    ("notify_digest", "vendor_id", "notify_dige_vendor__fae3f4_idx"),
    ("notify_digest", "user_id", "digest_once_a_day"),
    ("notify_emaildelivery", "vendor_id", "notify_emai_vendor__b28cf5_idx"),
    ("notify_emaildelivery", "user_id", None),
    ("notify_emaildelivery", "event_id", "email_once_per_event_and_user"),
    ("notify_watch", "vendor_id", "watch_unique"),
    ("replenishment_order", "vendor_id", None),
    ("webhooks_webhookendpoint", "vendor_id", "webhooks_we_vendor__46965c_idx"),
    ("webhooks_webhookdelivery", "vendor_id", None),
    ("webhooks_webhookattempt", "delivery_id", "webhooks_we_deliver_592104_idx"),
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
