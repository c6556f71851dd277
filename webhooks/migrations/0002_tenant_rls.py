from django.db import migrations

from cmi.rls import TenantTable


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("cmi", "0003_tenant_rls")]

    operations = [
        TenantTable("webhooks_webhookendpoint"),
        TenantTable("webhooks_webhookdelivery"),
        TenantTable("webhooks_webhookattempt"),
    ]
