"""Row-level security on the tenancy tables (cmi/rls.py)."""

from django.db import migrations

from cmi.rls import TenantTable


class Migration(migrations.Migration):
    dependencies = [("cmi", "0002_membership_roles_sorted")]

    operations = [
        TenantTable("cmi_customer"),
        TenantTable("cmi_membership"),
        TenantTable("cmi_erpkey"),
        TenantTable("cmi_apitoken"),
        TenantTable("cmi_vendorsequence"),
    ]
