"""Sign-in throttling: after repeated failures, for one account or from one address, the
admin's and the back office's sign-in refuse even the right password until the window
has passed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.core.models import SignInFailure

PASSWORD = "correct horse battery"
LOGIN_PAGES = ["/admin/login/", "/login/"]


@pytest.fixture
def staff(db, settings):
    settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT = 5
    settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS = 20
    settings.SIGN_IN_WINDOW_SECONDS = 900
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
    return get_user_model().objects.create_superuser("ana", "ana@example.com", PASSWORD)


def sign_in(page, username, password, address="10.0.0.1"):
    return Client(REMOTE_ADDR=address).post(page, {"username": username, "password": password})


def signed_in(response) -> bool:
    return response.status_code == 302


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_after_five_failures_even_the_right_password_is_refused_with_a_clear_message(staff, page):
    for _ in range(5):
        assert not signed_in(sign_in(page, "ana", "wrong"))

    response = sign_in(page, "ana", PASSWORD)

    assert not signed_in(response)
    assert "Too many failed sign-ins for this account or from this address" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    assert SignInFailure.objects.count() == 5  # a refused attempt does not lengthen the wait


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_the_account_is_refused_from_another_address_too(staff, page):
    for n in range(5):
        sign_in(page, "ana", "wrong", address=f"10.0.0.{n + 1}")
    assert not signed_in(sign_in(page, "ana", PASSWORD, address="192.0.2.7"))


def test_failures_on_one_page_count_on_the_other(staff):
    for page in ["/admin/login/", "/login/", "/admin/login/", "/login/", "/login/"]:
        sign_in(page, "ana", "wrong")
    assert not signed_in(sign_in("/admin/login/", "ana", PASSWORD))


def test_an_address_trying_many_accounts_is_refused_for_every_account(staff):
    for n in range(20):
        sign_in("/login/", f"guess{n}", "wrong", address="198.51.100.9")

    assert not signed_in(sign_in("/login/", "ana", PASSWORD, address="198.51.100.9"))
    assert signed_in(sign_in("/login/", "ana", PASSWORD, address="10.0.0.1"))  # others are not


def test_once_the_window_has_passed_the_right_password_works_again(staff):
    for _ in range(5):
        sign_in("/admin/login/", "ana", "wrong")
    assert not signed_in(sign_in("/admin/login/", "ana", PASSWORD))

    oldest = SignInFailure.objects.order_by("failed_at").first()
    SignInFailure.objects.filter(pk=oldest.pk).update(failed_at=oldest.failed_at - timedelta(seconds=901))

    assert signed_in(sign_in("/admin/login/", "ana", PASSWORD))


def test_fewer_failures_than_the_limit_do_not_lock_and_a_success_starts_the_count_over(staff):
    for _ in range(4):
        sign_in("/login/", "ana", "wrong")
    assert signed_in(sign_in("/login/", "ana", PASSWORD))
    assert SignInFailure.objects.filter(username="ana").count() == 0

    for _ in range(4):
        sign_in("/login/", "ana", "wrong")
    assert signed_in(sign_in("/login/", "ana", PASSWORD))


def test_the_account_name_is_counted_whatever_its_case(staff):
    for name in ["ANA", "Ana", "aNa", "anA", "ana"]:
        sign_in("/login/", name, "wrong")
    assert not signed_in(sign_in("/login/", "ana", PASSWORD))


def test_a_name_longer_than_the_column_is_counted_too(staff):
    for _ in range(5):
        sign_in("/login/", "x" * 300, "wrong")
    assert SignInFailure.objects.filter(username="x" * 150).count() == 5
    response = sign_in("/login/", "x" * 300, "wrong")
    assert "Too many failed sign-ins" in response.content.decode()
