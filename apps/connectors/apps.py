from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ConnectorsConfig(AppConfig):
    name = "apps.connectors"
    label = "connectors"

    def ready(self):
        from apps.connectors import selectors
        from apps.connectors.models import OwnershipRule, PlatformConnection

        # The per-process memos of rules and connections forget a row an operator changed.
        for model, memo in ((OwnershipRule, selectors._ownership_rules),
                            (PlatformConnection, selectors._connection_by_external_id)):
            for signal in (post_save, post_delete):
                signal.connect(lambda *args, memo=memo, **kwargs: memo.cache_clear(), sender=model,
                               weak=False, dispatch_uid=f"forget-{model.__name__}-{signal}")

        from django_q.signals import post_spawn

        from apps.connectors.heartbeat import start_heartbeat
        from apps.connectors.tasks import start_sync_loop_now

        post_spawn.connect(start_sync_loop_now, weak=False, dispatch_uid="start-sync-loop-now")
        post_spawn.connect(start_heartbeat, weak=False, dispatch_uid="start-worker-heartbeat")
