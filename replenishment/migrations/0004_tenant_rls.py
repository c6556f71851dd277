"""Row-level security on orders (cmi/rls.py)."""

from django.db import migrations

from cmi.rls import TenantTable


class Migration(migrations.Migration):
    dependencies = [("replenishment", "0003_order_partially_shipped"), ("cmi", "0003_tenant_rls")]

    operations = [
        TenantTable("replenishment_order"),
        TenantTable("replenishment_orderline"),
        TenantTable("replenishment_orderevent"),
    ]
