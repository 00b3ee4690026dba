from django.contrib.auth import get_user_model, login
from django.shortcuts import redirect, render
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from .forms import AcceptInvitationForm
from .services import invitation_accept
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
