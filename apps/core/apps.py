from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from apps.core.api_auth import KEYS_GENERATION
        from apps.core.cache import bump_generation
        from apps.core.integer_params import register_fitting_integer_dumpers
        from apps.core.models import ApiClient
        from apps.core.sign_in import on_sign_in_failed, on_signed_in

        register_fitting_integer_dumpers()

        user_login_failed.connect(on_sign_in_failed, dispatch_uid="count-sign-in-failures")
        user_logged_in.connect(on_signed_in, dispatch_uid="forget-sign-in-failures")

        # A key deactivated or edited in the admin is refused at once in every process.
        for signal in (post_save, post_delete):
            signal.connect(lambda *args, **kwargs: bump_generation(KEYS_GENERATION), sender=ApiClient,
                           weak=False, dispatch_uid=f"forget-api-keys-{signal}")
