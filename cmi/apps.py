from django.apps import AppConfig


class CmiConfig(AppConfig):
    name = "cmi"
    verbose_name = "Tenancy"

    def ready(self) -> None:
        from cmi import schema  # noqa: F401  (registers the OpenAPI auth extension)
