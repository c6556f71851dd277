from django.apps import AppConfig


class StockingConfig(AppConfig):
    name = "stocking"
