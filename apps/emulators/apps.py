from django.apps import AppConfig


class EmulatorsConfig(AppConfig):
    """The local platform emulators; installed only so `run_emulators` is a command."""

    name = "apps.emulators"
    label = "emulators"
