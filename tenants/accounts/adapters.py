from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Agents are invited by an admin and console staff are created by the platform: nobody signs
    themselves up on these hosts."""

    def is_open_for_signup(self, request):
        return False

    def get_login_redirect_url(self, request):
        """Usagers (an account with a usager record and no agent profile) land on their appointments, other
        accounts on the agents' space, console staff on the console (unless ``next`` said otherwise).
        Reverse one-to-one accessors: no import of the product's apps here."""
        if getattr(request, "tenant", None) is not None:
            user = request.user
            if getattr(user, "agent", None) is None and getattr(user, "citizen", None) is not None:
                return "/mes-rendez-vous/"
            return "/agents/"
        return "/console/"


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request, sociallogin):
        return False
