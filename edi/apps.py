from django.apps import AppConfig


class EdiConfig(AppConfig):
    name = "edi"
    verbose_name = "EDI"

    def ready(self) -> None:
        from edi import outbound
        from replenishment import services

        if outbound.orders_released not in services.RELEASE_HOOKS:
            services.RELEASE_HOOKS.append(outbound.orders_released)
        if outbound.orders_cancelled not in services.CANCEL_HOOKS:
            services.CANCEL_HOOKS.append(outbound.orders_cancelled)
