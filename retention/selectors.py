"""A usager's data, gathered for a right-of-access request (RGPD, article 15): identity, contact details,
relatives, appointments with their participations, messages sent to him, and the history of those
appointments. Agents export what the policy lets them see; the usager himself exports everything."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from messaging.models import Message
from scheduling.models import Appointment, AppointmentAgent, AppointmentChange, Citizen, Participation


def _date(value):
    return value.isoformat() if value else None


def _identity(citizen: Citizen) -> dict:
    return {
        "id": citizen.pk,
        "prenom": citizen.first_name,
        "nom": citizen.last_name,
        "nom_de_naissance": citizen.birth_name,
        "date_de_naissance": _date(citizen.birth_date),
        "cree_le": _date(citizen.created_at),
    }


def _contact(citizen: Citizen) -> dict:
    return {
        "email": citizen.email,
        "telephone": citizen.phone,
        "adresse": citizen.address,
        "code_insee": citizen.city_code,
        "notifications_email": citizen.notify_by_email,
        "notifications_sms": citizen.notify_by_sms,
    }


def _appointments(citizen: Citizen, visible: QuerySet[Appointment] | None) -> list[dict]:
    rows = Appointment.objects.all() if visible is None else visible
    rows = (
        rows.filter(participations__citizen=citizen)
        .select_related("appointment_type", "organisation", "location")
        .prefetch_related(Prefetch("agent_links", AppointmentAgent.objects.select_related("agent")))
        .prefetch_related(Prefetch("participations", Participation.objects.filter(citizen=citizen),
                                   to_attr="own"))
        .prefetch_related(Prefetch("changes", AppointmentChange.objects.order_by("at", "id"), to_attr="history"))
        .distinct()
        .order_by("starts_at")
    )
    return [
        {
            "uuid": str(appointment.uuid),
            "debut": _date(appointment.starts_at),
            "fin": _date(appointment.ends_at),
            "statut": appointment.get_status_display(),
            "motif": appointment.appointment_type.name,
            "modalite": appointment.appointment_type.get_mode_display(),
            "organisation": appointment.organisation.name,
            "lieu": ({"nom": appointment.location.name, "adresse": appointment.location.address}
                     if appointment.location else None),
            "agents": [str(link.agent) for link in appointment.agent_links.all()],
            "participations": [
                {"statut": participation.get_status_display(), "inscrit_le": _date(participation.created_at),
                 "inscrit_par": participation.get_created_by_display()}
                for participation in appointment.own
            ],
            "historique": [
                {"le": _date(change.at), "action": change.action_label, "par": change.actor_label}
                for change in appointment.history
            ],
        }
        for appointment in rows
    ]


def _messages(citizen: Citizen) -> list[dict]:
    return [
        {
            "cree_le": _date(message.created_at), "envoye_le": _date(message.sent_at),
            "canal": message.get_channel_display(), "notification": message.get_kind_display(),
            "statut": message.get_status_display(), "destinataire": message.recipient,
            "objet": message.subject, "texte": message.body,
        }
        for message in Message.objects.filter(citizen=citizen).order_by("created_at", "id")
    ]


def citizen_export(citizen: Citizen, *, appointments: QuerySet[Appointment] | None = None) -> dict:
    """Everything recorded about ``citizen`` and the relatives he is responsible for. ``appointments``
    limits the appointments (and their history) to those an agent may see; None: all of them."""
    relatives = Citizen.objects.filter(responsible=citizen, deleted_at__isnull=True).order_by("first_name", "pk")
    responsible = citizen.responsible if citizen.responsible_id and not citizen.responsible.deleted_at else None
    return {
        "export": {"genere_le": _date(timezone.now()), "format": "rdv-service-public/rgpd-v1"},
        "identite": _identity(citizen),
        "coordonnees": _contact(citizen),
        "compte_en_ligne": ({"email": citizen.account.email, "derniere_connexion": _date(citizen.account.last_login)}
                            if citizen.account_id else None),
        "responsable": _identity(responsible) if responsible else None,
        "proches": [
            {**_identity(relative), "rendez_vous": _appointments(relative, appointments)} for relative in relatives
        ],
        "rendez_vous": _appointments(citizen, appointments),
        "messages": _messages(citizen),
    }
