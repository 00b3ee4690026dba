from django.contrib.auth.forms import SetPasswordForm


class AcceptInvitationForm(SetPasswordForm):
    """Choose a first password: at least 12 characters, not a common one (validators of settings)."""
