"""The sync page's Resync stock: a django-q2 task whose progress is kept on its SyncJob row,
so the page shows it however often it is left and opened again."""

from __future__ import annotations

import pytest

from apps.backoffice import admin_pages
from apps.connectors.models import SyncJob
from apps.connectors.tasks import stock_resync_task
from tests.connectors.conftest import connect, demo_merchant, platform_settings, start_emulator  # noqa: F401
from tests.connectors.test_shopify_connector import shopify  # noqa: F401
from tests.connectors.test_square_connector import available, control, phone_order, platform_count, settle

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queued_tasks(monkeypatch):
    """What the page hands to django-q2 (the test runs it as the worker would)."""
    queued = []
    monkeypatch.setattr(admin_pages, "async_task", lambda name, *args: queued.append((name, *args)))
    return queued


def test_a_platform_that_started_over_is_brought_back_in_step_from_the_sync_page(
        shopify, make_client, signed_in, queued_tasks):  # noqa: F811
    phone_order(make_client, "MUG", 2, key="over-1")
    settle(shopify.emulator)
    control(shopify.emulator, "reset", {"seed": True})  # back to its seed: the 2 sold are there again
    assert platform_count(shopify.emulator, "MUG") == available("MUG") + 2
    admin = signed_in("admin")

    assert admin.post("/manage/sync/", {"form": "resync", "platform": "shopify"}).status_code == 302
    job = SyncJob.objects.get(kind="stock_resync")
    assert queued_tasks == [("apps.connectors.tasks.stock_resync_task", job.pk)]
    again = admin.post("/manage/sync/", {"form": "resync", "platform": "shopify"})
    assert again.context["resync_form"].errors == {
        "platform": [f"A stock resync of shopify is already under way (job #{job.pk})."]}
    waiting = admin.get("/manage/sync/jobs/").content.decode()
    assert "Stock resync" in waiting and 'hx-trigger="every 2s"' in waiting

    stock_resync_task(job.pk)  # the worker
    settle(shopify.emulator)

    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 1, 1)
    assert job.summary["queued"]["OAK"] > 0
    assert platform_count(shopify.emulator, "MUG") == available("MUG")
    done = admin.get("/manage/sync/jobs/").content.decode()
    assert '<progress max="1" value="1">' in done and "every 2s" not in done
    assert f"OAK: {job.summary['queued']['OAK']} items" in done
    page = admin.get("/manage/sync/").content.decode()  # the whole page draws the rows the same way
    assert f"<small>1 / 1 connection · OAK: {job.summary['queued']['OAK']} items</small>" in page


def test_a_platform_with_no_stock_pushing_connection_is_refused_next_to_the_field(
        shopify, signed_in, queued_tasks):  # noqa: F811
    answer = signed_in("admin").post("/manage/sync/", {"form": "resync", "platform": "toast"})
    assert answer.context["resync_form"].errors == {
        "platform": ["No connection of toast pushes stock (or its settings are missing)."]}
    assert not SyncJob.objects.filter(kind="stock_resync").exists() and queued_tasks == []
