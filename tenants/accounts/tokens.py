"""Invitation links: a signed token that dies once a password is set or after a week."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    """Same construction as Django's password reset tokens (bound to the password hash and the last
    sign-in, so it works once), with its own salt and a lifetime of INVITATION_TIMEOUT_SECONDS."""

    key_salt = "tenants.accounts.tokens.InvitationTokenGenerator"

    def _genuine_timestamp(self, user, token) -> int | None:
        if not (user and token) or token.count("-") != 1:
            return None
        try:
            ts = base36_to_int(token.split("-")[0])
        except ValueError:
            return None
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token):
                return ts
        return None

    def _age(self, ts: int) -> int:
        return self._num_seconds(self._now()) - ts

    def check_token(self, user, token):
        ts = self._genuine_timestamp(user, token)
        return ts is not None and self._age(ts) <= settings.INVITATION_TIMEOUT_SECONDS

    def is_expired(self, user, token) -> bool:
        """A genuine link past its lifetime: the page says so instead of "lien invalide"."""
        ts = self._genuine_timestamp(user, token)
        return ts is not None and self._age(ts) > settings.INVITATION_TIMEOUT_SECONDS


invitation_token_generator = InvitationTokenGenerator()
