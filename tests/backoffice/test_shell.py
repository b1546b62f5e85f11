"""The back-office shell: signing in and out, the role checks, the staff command, 404s."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.template import Context, Template
from django.test import Client

from apps.core import roles
from apps.core.models import AuditEntry
from apps.inventory.access import permitted_location_ids
from apps.inventory.models import StaffMembership
from tests.backoffice.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_sign_in():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_staff_signs_in_with_a_password_and_out_again(stores, make_staff):
    make_staff("store_manager", "OAK", username="maria")
    client = Client()
    page = client.get("/login/")
    assert page.status_code == 200 and b'name="password"' in page.content

    wrong = client.post("/login/", {"username": "maria", "password": "nope"})
    assert wrong.status_code == 200
    assert b"Please enter a correct username and password" in wrong.content

    response = client.post("/login/", {"username": "maria", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200 and b"maria" in dashboard.content

    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_a_user_without_a_role_is_refused():
    user = get_user_model().objects.create_user(username="nobody", password=PASSWORD)
    client = Client()
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_unknown_pages_are_html_for_people_and_json_for_the_api(signed_in):
    client = signed_in("admin")
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"errors": [{"code": "not_found", "detail": "No such page."}]}


def test_create_staff_user_prints_a_generated_password_last(stores):
    out = io.StringIO()
    call_command("create_staff_user", "maria", "--role", "store_manager", "--location", "OAK",
                 "--location", "bkn", stdout=out)
    password = out.getvalue().strip().splitlines()[-1]
    user = get_user_model().objects.get(username="maria")
    assert user.check_password(password)
    assert roles.roles_of(user) == {roles.STORE_MANAGER}
    assert sorted(StaffMembership.objects.filter(user=user).values_list("location__code", flat=True)) == [
        "BKN", "OAK"]
    assert AuditEntry.objects.filter(action="staff_user.created", object_id=str(user.pk)).count() == 1


def test_create_staff_user_with_a_given_password_and_bad_input(stores):
    call_command("create_staff_user", "cs", "--role", "customer_service", "--password", PASSWORD,
                 stdout=io.StringIO())
    assert get_user_model().objects.get(username="cs").check_password(PASSWORD)
    with pytest.raises(CommandError, match="already exists"):
        call_command("create_staff_user", "cs", "--role", "finance", stdout=io.StringIO())
    with pytest.raises(CommandError, match="needs at least one location"):
        call_command("create_staff_user", "sm", "--role", "store_manager", stdout=io.StringIO())
    with pytest.raises(CommandError, match="Unknown location NOPE"):
        call_command("create_staff_user", "sm", "--role", "store_manager", "--location", "NOPE",
                     stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="sm").exists()


def test_a_store_manager_reaches_only_their_locations(stores, make_staff):
    manager = make_staff("store_manager", "OAK")
    assert permitted_location_ids(manager, roles.CHANGE_STOCK) == {stores.oak.pk}
    assert permitted_location_ids(make_staff("customer_service"), roles.VIEW_ORDERS) is None
    assert permitted_location_ids(make_staff("finance"), roles.CHANGE_STOCK) == set()
    superuser = get_user_model().objects.create_superuser(username="root", password=PASSWORD)
    assert permitted_location_ids(superuser, roles.CHANGE_STOCK) is None


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (950, "USD", "$9.50"), (123456789, "USD", "$1,234,567.89"), (-2300, "USD", "-$23.00"),
    (500, "JPY", "¥500"), (0, "EUR", "€0.00"), (1999, "CHF", "19.99 CHF"), (None, "USD", "—"),
])
def test_money_is_shown_in_the_currency_of_the_amount(amount, currency, shown):
    rendered = Template("{% load concord %}{{ amount|money:currency }}").render(
        Context({"amount": amount, "currency": currency}))
    assert rendered == shown


def test_times_are_shown_in_the_location_time_zone():
    from datetime import UTC, datetime

    moment = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    rendered = Template("{% load concord %}{{ moment|local_time:'America/Los_Angeles' }}").render(
        Context({"moment": moment}))
    assert rendered.startswith("Dec 1") and "15:30 PST" in rendered
