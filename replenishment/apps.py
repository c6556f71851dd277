from django.apps import AppConfig


class ReplenishmentConfig(AppConfig):
    name = "replenishment"

    def ready(self) -> None:
        from replenishment import services
        from stocking import hooks

        hooks.register(
            receipts=services.receipts_allocate,
            bins_touched=services.bins_evaluate_enqueue,
        )
