"""Shipment and invoice lines carry their vendor; every EDI table gets row-level security."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

from cmi.rls import TenantTable


def lines_vendor_fill(apps, schema_editor):
    for line_name, parent_name, parent_field in (
        ("ShipmentLine", "Shipment", "shipment"),
        ("InvoiceLine", "Invoice", "invoice"),
    ):
        line = apps.get_model("edi", line_name)
        parent = apps.get_model("edi", parent_name)
        line.objects.filter(vendor__isnull=True).update(
            vendor_id=Subquery(
                parent.objects.filter(pk=OuterRef(f"{parent_field}_id")).values("vendor_id")[:1]
            )
        )
    if schema_editor.connection.vendor == "postgresql":
        # The new foreign keys are deferred: check them now, or NOT NULL below would
        # meet pending trigger events.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("cmi", "0003_tenant_rls"),
        ("edi", "0002_invoiceline_inboundinterchange_customer_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="vendor",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cmi.vendor",
            ),
        ),
        migrations.AddField(
            model_name="shipmentline",
            name="vendor",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cmi.vendor",
            ),
        ),
        migrations.RunPython(lines_vendor_fill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="invoiceline",
            name="vendor",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="cmi.vendor"
            ),
        ),
        migrations.AlterField(
            model_name="shipmentline",
            name="vendor",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="cmi.vendor"
            ),
        ),
        TenantTable("edi_tradingpartner"),
        TenantTable("edi_document"),
        TenantTable("edi_inboundinterchange"),
        TenantTable("edi_shipment"),
        TenantTable("edi_shipmentline"),
        TenantTable("edi_invoice"),
        TenantTable("edi_invoiceline"),
        TenantTable("edi_orderedistate"),
    ]
