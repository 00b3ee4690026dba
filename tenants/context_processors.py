from django.conf import settings

from .urls_helpers import platform_url


def platform(request):
    administration = getattr(request, "tenant", None)
    neutral = administration is not None and administration.theme == administration.Theme.NEUTRAL
    return {
        "base_layout": "layouts/neutral.html" if neutral else "layouts/dsfr.html",
        "administration": administration,
        "is_platform": getattr(request, "is_platform", False),
        "impersonation": getattr(request, "impersonation", None),
        "platform_name": "RDV Service Public",
        "platform_url": platform_url("/"),
        "base_domain": settings.BASE_DOMAIN,
    }
