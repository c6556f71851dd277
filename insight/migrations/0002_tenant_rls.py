from django.db import migrations

from cmi.rls import TenantTable


class Migration(migrations.Migration):
    dependencies = [("insight", "0001_initial"), ("cmi", "0003_tenant_rls")]

    operations = [
        TenantTable("insight_recommendation"),
        TenantTable("insight_demandpolicy"),
        TenantTable("insight_backtest"),
    ]
