from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo merchant and its traffic (`seed_demo`, `connect_demo`, `simulate_traffic`)."""

    name = "apps.demo"
    label = "demo"
