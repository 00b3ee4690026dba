"""``{% franceconnect_button next=... %}``: the FranceConnect button, only where the administration has
configured FranceConnect (docs/decisions/0017)."""

from django import template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from tenants.accounts import franceconnect

register = template.Library()


@register.inclusion_tag("socialaccount/_franceconnect_button.html", takes_context=True)
def franceconnect_button(context, next="", process="login"):
    request = context.get("request")
    app = franceconnect.app_for(request) if request is not None else None
    if app is None:
        return {"show": False}
    params = {"process": process}
    if next and url_has_allowed_host_and_scheme(next, allowed_hosts={request.get_host()}):
        params["next"] = next
    url = reverse("openid_connect_login", kwargs={"provider_id": franceconnect.PROVIDER_ID})
    return {"show": True, "url": f"{url}?{urlencode(params)}", "csrf_token": context.get("csrf_token"),
            "process": process}
