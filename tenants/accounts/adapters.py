from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Agents are invited by an admin and console staff are created by the platform: nobody signs
    themselves up on these hosts."""

    def is_open_for_signup(self, request):
        return False

    def get_login_redirect_url(self, request):
        """Agents land on their space, console staff on the console (unless ``next`` said otherwise)."""
        if getattr(request, "tenant", None) is not None:
            return "/agents/"
        return "/console/"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return False
