"""Sign-in throttling, below every login view (the admin's and the back office's): after
too many failures for one account or from one address, even the right password is
refused until the window has passed."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from apps.core.selectors import sign_in_refused_for
from apps.core.services import forget_sign_in_failures, record_sign_in_failure


def client_address(request) -> str | None:
    """The peer address. Behind a proxy, set the proxy to pass the client's as REMOTE_ADDR
    (X-Forwarded-For is not trusted: any caller can send one)."""
    return getattr(request, "META", {}).get("REMOTE_ADDR") or None


class ThrottledModelBackend(ModelBackend):
    """Django's own username-and-password check, refused while throttled. The refusal is a
    ValidationError, which a login form shows as its error ("too many failed sign-ins")."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        username = username if username is not None else kwargs.get(self._username_field())
        wait = sign_in_refused_for(username=username or "", address=client_address(request))
        if wait is not None:
            minutes = max(1, round(wait / 60))
            raise ValidationError(
                f"Too many failed sign-ins for this account or from this address. Try again in "
                f"{minutes} minute{'s' if minutes != 1 else ''}.", code="sign_in_throttled")
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD


def on_sign_in_failed(sender, credentials, request=None, **kwargs) -> None:
    username = credentials.get("username") or ""
    record_sign_in_failure(username=username, address=client_address(request))


def on_signed_in(sender, request, user, **kwargs) -> None:
    forget_sign_in_failures(username=user.get_username())
