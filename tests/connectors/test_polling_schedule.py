"""Polling shares one schedule across workers: each connection is polled once per its
interval, whichever worker gets there first; Toast (polling is its path) more often than
Square and Clover (their webhooks bring the sales, polling is the backstop)."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connectors.models import PlatformConnection
from apps.connectors.platforms import ConnectorPlatform, connector_platform
from apps.connectors.services import polling
from apps.demo import dev_credentials


@pytest.fixture
def polled(shop, settings, monkeypatch):
    for name, value in dev_credentials.SECRETS.items():
        setattr(settings, name, value)
    settings.TOAST_BASE_URL = settings.CLOVER_BASE_URL = "http://127.0.0.1:9"  # never called
    settings.POLL_INTERVAL_SECONDS, settings.POLL_BACKSTOP_SECONDS = 5, 30
    calls = []

    def counting_poller(platform: str) -> ConnectorPlatform:
        declared = connector_platform(platform)
        if declared.poller is None:
            return declared
        return replace(declared, poller=replace(declared.poller,
                                                poll=lambda link: calls.append(link.platform) or 0))

    monkeypatch.setattr(polling, "connector_platform", counting_poller)
    for platform in ("toast", "clover"):
        PlatformConnection.objects.create(platform=platform, location=shop.oak, external_location_id=platform)
    return calls


def age_last_poll(seconds: float) -> None:
    PlatformConnection.objects.update(polled_at=timezone.now() - timedelta(seconds=seconds))


def test_a_second_worker_within_the_interval_does_not_poll_again(polled):
    polling.poll_all(due_only=True)
    polling.poll_all(due_only=True)
    assert sorted(polled) == ["clover", "toast"]


def test_toast_is_polled_on_the_short_interval_and_clover_on_the_backstop_one(polled):
    polling.poll_all(due_only=True)
    age_last_poll(6)
    polling.poll_all(due_only=True)
    assert sorted(polled) == ["clover", "toast", "toast"]
    age_last_poll(31)
    polling.poll_all(due_only=True)
    assert sorted(polled) == ["clover", "clover", "toast", "toast", "toast"]


def test_an_explicit_poll_runs_whatever_the_schedule(polled):
    polling.poll_all(due_only=True)
    polling.poll_all()
    assert sorted(polled) == ["clover", "clover", "toast", "toast"]


def test_a_starting_worker_runs_the_sync_loop_at_once_and_only_one_does(db):
    from django_q.models import OrmQ, Schedule
    from django_q.signals import post_spawn

    loop = Schedule.objects.filter(func="apps.connectors.tasks.sync_loop_task")
    loop.update(next_run=timezone.now() + timedelta(seconds=40))

    post_spawn.send(sender="django_q", proc_name="Worker-1")
    assert [task.func() for task in OrmQ.objects.all()] == ["apps.connectors.tasks.sync_loop_task"]
    assert loop.get().next_run > timezone.now() + timedelta(seconds=55)  # the schedule goes on from here

    post_spawn.send(sender="django_q", proc_name="Worker-2")  # the next worker finds it claimed
    assert OrmQ.objects.count() == 1
