from django.apps import AppConfig


class EdiConfig(AppConfig):
    name = "edi"
    verbose_name = "EDI"

    def ready(self) -> None:
        from edi import outbound
        from edi.overdue import order_edi_view
        from replenishment import hooks

        hooks.register(
            "edi",
            hooks.Hooks(
                released=outbound.orders_released,
                cancelled=outbound.orders_cancelled,
                order_detail=order_edi_view,
            ),
        )
        self._register_metrics()

    @staticmethod
    def demo_seed(vendor_codes: list[str]):
        """seed_demo's EDI part (stocking cannot import edi): a partner per demo vendor."""
        from edi.demo import demo_partners_seed

        return demo_partners_seed(vendor_codes)

    @staticmethod
    def _register_metrics() -> None:
        from cmi.metrics import gauge_source_register
        from edi.models import Direction, Document

        outbound = Document.objects.filter(direction=Direction.OUT)
        gauge_source_register(
            "cmi_edi_outbox_backlog",
            "Outbound documents the ERP has not confirmed yet",
            lambda: outbound.filter(delivered_at__isnull=True).count(),
        )
        gauge_source_register(
            "cmi_edi_failed_deliveries",
            "Outbound documents the ERP reported as failed",
            lambda: outbound.filter(delivery_status="failed").count(),
        )
