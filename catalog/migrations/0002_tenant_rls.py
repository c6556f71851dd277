"""Row-level security on the catalog (cmi/rls.py)."""

from django.db import migrations

from cmi.rls import TenantTable


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial"), ("cmi", "0003_tenant_rls")]

    operations = [
        TenantTable("catalog_item"),
        TenantTable("catalog_itembarcode"),
        TenantTable("catalog_crossreference"),
    ]
