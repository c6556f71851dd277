from django.apps import AppConfig


class CmiConfig(AppConfig):
    name = "cmi"
    verbose_name = "Tenancy"
