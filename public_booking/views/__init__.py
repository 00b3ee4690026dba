"""The usager's pages, one module per part: ``home`` (the administration's front page), ``journey``
(find a service by address, book), ``self_service`` (manage an appointment, waiting list, account,
collective sessions, prescripteurs, invitations)."""
