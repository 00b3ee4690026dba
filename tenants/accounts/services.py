"""Writes on accounts: inviting an agent, accepting an invitation."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import User
from .tokens import invitation_token_generator


def invitation_path(user: User) -> str:
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = invitation_token_generator.make_token(user)
    return reverse("accept_invitation", kwargs={"uidb64": uidb64, "token": token}, urlconf="config.urls")


def agent_invite(
    *, administration, email: str, first_name: str = "", last_name: str = "", is_administration_admin=False,
    invited_by: User | None = None,
) -> User:
    """Create (or find) the agent's account in the current administration's schema and e-mail
    them a link to choose a password. Must run in that administration's schema."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": ["Saisissez une adresse e-mail valide."]}) from None
    with transaction.atomic():
        user, created = User.objects.get_or_create(
            email=email,
            defaults={"first_name": first_name, "last_name": last_name,
                      "is_administration_admin": is_administration_admin},
        )
        if created:
            user.set_unusable_password()
        elif is_administration_admin and not user.is_administration_admin:
            user.is_administration_admin = True
        user.invited_at = timezone.now()
        user.save()
        transaction.on_commit(lambda: invitation_send(administration=administration, user=user, invited_by=invited_by))
    return user


def invitation_send(*, administration, user: User, invited_by: User | None = None) -> None:
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string

    context = {
        "administration": administration,
        "user": user,
        "invited_by": invited_by,
        "link": administration.url(invitation_path(user)),
        "valid_days": 7,
    }
    subject = f"Invitation à rejoindre {administration.name} sur RDV Service Public"
    text = render_to_string("accounts/email/invitation.txt", context)
    html = render_to_string("accounts/email/invitation.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[user.email])
    message.attach_alternative(html, "text/html")
    message.send()


def invitation_accept(*, user: User, password: str) -> User:
    """Set the first password (validators run by the form) and mark the account as joined."""
    user.set_password(password)
    user.is_active = True
    user.save(update_fields=["password", "is_active"])
    return user


def api_token_regenerate(*, user):
    """Create the user's API token, replacing any previous one (which stops working at once)."""
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)


def api_token_revoke(*, user) -> bool:
    from rest_framework.authtoken.models import Token

    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
