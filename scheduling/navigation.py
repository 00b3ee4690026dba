"""The back office's main navigation: the entries an agent may use, in order.

An entry whose URL is not (yet) part of the URLconf is left out, so the menu always matches what exists.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from . import policy

# (url name, label, admins only)
ENTRIES = (
    ("agents_home", "Accueil", False),
    ("agent_agenda", "Agenda", False),
    ("slot_search", "Trouver un créneau", False),
    ("agent_appointments", "Rendez-vous", False),
    ("collective_sessions", "Ateliers", False),
    ("citizens", "Usagers", False),
    ("agent_availabilities", "Plages d'ouverture", False),
    ("agent_absences", "Absences", False),
    ("statistics", "Statistiques", False),
    ("administration_index", "Administration", True),
    ("sectors", "Secteurs", True),
    ("agent_settings", "Paramètres", False),
)


def agent_navigation(request) -> dict:
    """Context processor: ``agent_nav`` on back-office pages only (``/agents/``), else nothing."""
    if not request.path.startswith("/agents/") or not getattr(request, "user", None) or \
            not request.user.is_authenticated or getattr(request, "tenant", None) is None or \
            getattr(request.tenant, "schema_name", "public") == "public":
        return {}
    scope = policy.scope_for_request(request)
    if scope is None:
        return {}
    entries = []
    for name, label, admin_only in ENTRIES:
        if admin_only and not scope.admin_organisation_ids:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        current = request.path == url if name == "agents_home" else request.path.startswith(url)
        entries.append({"url": url, "label": label, "current": current})
    return {"agent_nav": entries}
