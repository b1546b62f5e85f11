"""The admin's pages: staff users and roles, API keys, buffers and ownership, jobs, the audit log."""

import pytest
from django.contrib.auth import get_user_model

from apps.connectors.models import ChannelBuffer, Delivery, OwnershipRule, PlatformConnection, SyncJob
from apps.core import roles
from apps.core.api_auth import hash_key
from apps.core.models import ApiClient, AuditEntry
from apps.inventory.models import StaffMembership

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/manage/users/", "/manage/api-keys/", "/manage/sync/", "/manage/sync/jobs/",
               "/manage/audit/"]


@pytest.mark.parametrize("role", ["store_manager", "customer_service", "finance"])
def test_only_the_admin_opens_the_admin_pages(stores, signed_in, role):
    client = signed_in(role, *(["OAK"] if role == "store_manager" else []))
    assert {path: client.get(path).status_code for path in ADMIN_PAGES} == dict.fromkeys(ADMIN_PAGES, 403)
    assert client.post("/manage/users/", {"username": "x", "role": "admin"}).status_code == 403
    assert client.post("/manage/api-keys/", {"name": "x", "channel": "phone"}).status_code == 403
    assert not get_user_model().objects.filter(username="x").exists() and not ApiClient.objects.exists()


def test_admin_pages_open_for_the_admin(stores, signed_in):
    client = signed_in("admin")
    assert {path: client.get(path).status_code for path in ADMIN_PAGES} == dict.fromkeys(ADMIN_PAGES, 200)
    assert b">Admin</a>" in client.get("/").content


def test_the_admin_creates_a_store_manager_and_sees_the_generated_password_once(stores, signed_in):
    client = signed_in("admin")
    response = client.post("/manage/users/", {"username": "maria", "role": "store_manager",
                                              "locations": ["OAK"]})
    password = response.context["created"]["password"]
    maria = get_user_model().objects.get(username="maria")
    assert maria.check_password(password) and roles.roles_of(maria) == {roles.STORE_MANAGER}
    codes = StaffMembership.objects.filter(user=maria).values_list("location__code", flat=True)
    assert list(codes) == ["OAK"]
    assert password not in client.get("/manage/users/").content.decode()
    entry = AuditEntry.objects.get(action="staff_user.created", object_id=str(maria.pk))
    assert entry.actor_user.username == "admin-all"


def test_a_store_manager_without_a_location_is_refused_next_to_the_field(stores, signed_in):
    response = signed_in("admin").post("/manage/users/", {"username": "maria", "role": "store_manager"})
    assert response.context["form"].errors == {"locations": ["A store manager needs at least one location."]}
    assert not get_user_model().objects.filter(username="maria").exists()


def test_the_admin_changes_a_role_and_takes_access_away(stores, signed_in, make_staff):
    maria = make_staff("store_manager", "OAK", username="maria")
    client = signed_in("admin")
    response = client.post(f"/manage/users/{maria.pk}/", {"role": "store_manager",
                                                         "locations": ["OAK", "BKN"], "is_active": "on"})
    assert response.status_code == 302
    assert set(StaffMembership.objects.filter(user=maria).values_list("location__code", flat=True)) == {
        "OAK", "BKN"}

    client.post(f"/manage/users/{maria.pk}/", {"role": "customer_service", "is_active": "on"})
    maria = get_user_model().objects.get(pk=maria.pk)
    assert roles.roles_of(maria) == {roles.CUSTOMER_SERVICE}
    assert not StaffMembership.objects.filter(user=maria).exists()

    client.post(f"/manage/users/{maria.pk}/", {"role": "customer_service"})
    maria = get_user_model().objects.get(pk=maria.pk)
    assert maria.is_active is False and roles.roles_of(maria) == set()
    assert AuditEntry.objects.filter(action="staff_user.updated", object_id=str(maria.pk)).count() == 3


def test_an_api_key_is_shown_once_and_can_be_revoked(stores, signed_in):
    client = signed_in("admin")
    response = client.post("/manage/api-keys/", {"name": "PieLine", "channel": "phone"})
    key = response.context["new_key"]
    api_client = ApiClient.objects.get(name="PieLine")
    assert api_client.key_hash == hash_key(key)
    listing = client.get("/manage/api-keys/").content.decode()
    assert key not in listing
    # Concord does not record a key's last use: the list says when it was made, not "never used"
    assert "never" not in listing and api_client.created_at.strftime("%Y-%m-%d") in listing
    assert client.post(f"/manage/api-keys/{api_client.pk}/revoke/").status_code == 302
    api_client.refresh_from_db()
    assert api_client.is_active is False
    assert AuditEntry.objects.filter(action="api_client.revoked", actor_user__username="admin-all").exists()


def test_a_buffer_is_set_and_every_item_there_is_pushed_again(stores, signed_in):
    PlatformConnection.objects.create(platform="shopify", location=stores.oak, external_location_id="1")
    client = signed_in("admin")
    response = client.post("/manage/sync/", {"form": "buffer", "platform": "shopify", "location": "OAK",
                                             "units": "2"})
    assert response.status_code == 302
    assert ChannelBuffer.objects.get(platform="shopify", location=stores.oak).units == 2
    pushes = Delivery.objects.filter(platform="shopify", kind="push_stock")
    pushed = set(pushes.values_list("variant_id", flat=True))
    assert pushed == {stores.shop.burrito.pk, stores.shop.taco.pk, stores.shop.scarce.pk}
    assert AuditEntry.objects.filter(action="channel_buffer.set").count() == 1


def test_a_negative_buffer_is_refused_next_to_the_field(stores, signed_in):
    response = signed_in("admin").post("/manage/sync/", {"form": "buffer", "platform": "shopify",
                                                         "location": "OAK", "units": "-1"})
    assert "units" in response.context["buffer_form"].errors
    assert not ChannelBuffer.objects.exists()


def test_ownership_is_set_per_store_or_for_every_store(stores, signed_in):
    client = signed_in("admin")
    client.post("/manage/sync/", {"form": "owner", "domain": "price", "location": "", "owner": "shopify"})
    client.post("/manage/sync/", {"form": "owner", "domain": "price", "location": "BKN", "owner": "toast"})
    assert set(OwnershipRule.objects.values_list("domain", "location__code", "owner")) == {
        ("price", None, "shopify"), ("price", "BKN", "toast")}
    page = client.get("/manage/sync/").content.decode()
    assert "<strong>Toast</strong>" in page


def test_a_catalog_pull_of_a_platform_that_is_off_is_refused(stores, signed_in, settings):
    settings.SHOPIFY_BASE_URL = ""
    response = signed_in("admin").post("/manage/sync/", {"form": "pull", "platform": "shopify"})
    assert response.context["pull_form"].errors == {"platform": ["shopify is off: its settings are missing."]}
    assert not SyncJob.objects.exists()


def test_a_running_job_shows_its_progress_and_keeps_polling(stores, signed_in):
    SyncJob.objects.create(platform="square", kind="catalog_pull", status="running", done=12, total=48)
    html = signed_in("admin").get("/manage/sync/jobs/").content.decode()
    assert '<progress max="48" value="12">' in html and 'hx-trigger="every 2s"' in html


def test_the_audit_log_filters_by_action_and_actor(stores, signed_in):
    client = signed_in("admin")
    client.post("/manage/api-keys/", {"name": "PieLine", "channel": "phone"})
    page = client.get("/manage/audit/", {"action": "api_client"})
    assert [entry.action for entry in page.context["page"]] == ["api_client.created"]
    assert client.get("/manage/audit/", {"actor": "nobody"}).context["page"].paginator.count == 0


def test_a_staff_key_is_created_with_its_role_and_shown_once(stores, signed_in):
    client = signed_in("admin")
    response = client.post("/manage/api-keys/", {"name": "Helpdesk", "role": "customer_service"})
    key = response.context["new_key"]
    api_client = ApiClient.objects.get(name="Helpdesk")
    assert (api_client.role, api_client.channel) == ("customer_service", "")
    assert api_client.key_hash == hash_key(key)
    assert f'id="new-key">{key}<' in response.content.decode()
    page = client.get("/manage/api-keys/").content.decode()
    assert key not in page and "Customer service" in page


def test_a_key_names_a_channel_or_a_role_next_to_the_field(stores, signed_in):
    client = signed_in("admin")
    neither = client.post("/manage/api-keys/", {"name": "X", "channel": "", "role": ""})
    both = client.post("/manage/api-keys/", {"name": "X", "channel": "phone", "role": "finance"})
    assert neither.context["form"].errors == {
        "channel": ["Choose the channel the key is for, or a staff role."]}
    assert both.context["form"].errors == {"role": ["Choose a channel or a staff role, not both."]}
    assert not ApiClient.objects.filter(name="X").exists()


def test_the_audit_log_links_each_object_to_its_page(stores, signed_in):
    from apps.core.services import record_audit
    from tests.backoffice.conftest import record_sale

    order = record_sale("OAK", external_id="r1")
    record_audit(action="order.noted", object_type="Order", object_id=order.pk, actor_label="test")
    record_audit(action="thing.noted", object_type="Order", object_id="not-a-number", actor_label="test")

    html = signed_in("admin").get("/manage/audit/").content.decode()

    assert f'<a href="/orders/{order.pk}/">Order#{order.pk}</a>' in html
    assert "Order#not-a-number" in html  # an id no page takes stays plain text


def test_a_connection_needs_a_look_for_its_sync_exceptions_not_finances(stores, signed_in):
    from apps.core.services import open_exception

    PlatformConnection.objects.create(platform="square", location=stores.oak, external_location_id="L1")
    open_exception(kind="reconciliation_variance", title="square 2026-12-01: 2 unexplained",
                   platform="square", location_code="OAK", dedupe_key="variance")
    open_exception(kind="approval_required", title="Refund #5 needs approval", platform="square",
                   location_code="OAK", dedupe_key="approval")
    client = signed_in("admin")

    finance_only = client.get("/manage/sync/").context["connections"]
    open_exception(kind="delivery_failed", title="push failed", platform="square", location_code="OAK",
                   dedupe_key="delivery")
    with_sync_trouble = client.get("/manage/sync/").context["connections"]

    assert [row["exceptions"] for row in finance_only] == [0]
    assert [row["exceptions"] for row in with_sync_trouble] == [1]
