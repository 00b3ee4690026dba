"""The status state machine of appointments and participations (pure: no ORM, no clock).

Statuses: unknown (à venir / à renseigner), seen (honoré), noshow (lapin), excused (annulé à la
demande de l'usager), revoked (annulé par le service).
"""

from __future__ import annotations

UNKNOWN, SEEN, NOSHOW, EXCUSED, REVOKED = "unknown", "seen", "noshow", "excused", "revoked"
ALL = (UNKNOWN, SEEN, NOSHOW, EXCUSED, REVOKED)
CANCELLED = (EXCUSED, REVOKED)
COLLECTIVE_ALLOWED = (UNKNOWN, SEEN, REVOKED)


class StatusError(ValueError):
    """A status change the rules forbid; the message is French and meant for the person."""


def check_allowed(status: str, *, collective: bool) -> None:
    if status not in ALL:
        raise StatusError(f"Statut inconnu : « {status} ».")
    if collective and status not in COLLECTIVE_ALLOWED:
        raise StatusError("Un RDV collectif ne peut être que à venir, honoré ou annulé par le service.")


def propagate_to_participations(new_status: str, participation_statuses: list[str]) -> list[str]:
    """Appointment → participations.

    - back to unknown resets every participation;
    - excused / revoked cancel the participations still open (not already cancelled);
    - seen / noshow apply to the participations still unknown.
    """
    if new_status == UNKNOWN:
        return [UNKNOWN for _ in participation_statuses]
    if new_status in CANCELLED:
        return [s if s in CANCELLED else new_status for s in participation_statuses]
    return [new_status if s == UNKNOWN else s for s in participation_statuses]


def derive_from_participations(current: str, participation_statuses: list[str], *, collective: bool) -> str:
    """Participations → appointment: any seen makes it seen; in an individual appointment all
    excused, all revoked or all noshow gives that status; otherwise it is unknown. A collective
    session keeps its status unless someone was seen."""
    if any(s == SEEN for s in participation_statuses):
        return SEEN
    if collective or not participation_statuses:
        return current
    for status in (EXCUSED, REVOKED, NOSHOW):
        if all(s == status for s in participation_statuses):
            return status
    return UNKNOWN
