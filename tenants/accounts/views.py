from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .forms import AcceptInvitationForm
from .services import api_token_regenerate, api_token_revoke, invitation_accept
from .tokens import invitation_token_generator


def _user_from_uid(uidb64):
    User = get_user_model()
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
        return User.objects.get(pk=pk)
    except (TypeError, ValueError, OverflowError, User.DoesNotExist):
        return None


@never_cache
@sensitive_post_parameters()
def accept_invitation(request, uidb64, token):
    user = _user_from_uid(uidb64)
    if user is None or not invitation_token_generator.check_token(user, token):
        expired = user is not None and invitation_token_generator.is_expired(user, token)
        return render(request, "accounts/invitation_invalid.html", {"expired": expired}, status=410 if expired else 404)
    form = AcceptInvitationForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = invitation_accept(user=user, password=form.cleaned_data["new_password1"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("agents_home")
    return render(request, "accounts/accept_invitation.html", {"form": form, "invited_user": user})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_token(request):
    """The agent's API token: created or replaced (the key is shown once, on this answer only), or revoked."""
    from rest_framework.authtoken.models import Token

    from scheduling.policy import agent_of

    new_key = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            new_key = api_token_regenerate(user=request.user).key
        elif action == "revoke":
            if api_token_revoke(user=request.user):
                messages.success(request, "Votre jeton d'API est supprimé : il ne fonctionne plus.")
            return redirect("api_token")
        else:
            messages.error(request, "Action inconnue.")
            return redirect("api_token")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "accounts/api_token.html", {
        "token": token, "new_key": new_key, "has_agent_profile": agent_of(request.user) is not None,
    })
