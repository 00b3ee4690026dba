"""Data generator of bench/reporting.py: one administration with 1,000,000 appointments over three years.

Call :func:`generate` after ``django.setup()`` in a database that has the shared migrations. The
administration is onboarded through the real path (``administration_create(provision="sync")``), its
structure is made through the ORM, and the large tables are filled by plain SQL inside its schema
(``INSERT … SELECT … FROM generate_series``), with their secondary indexes and constraints dropped
during the load and rebuilt after it (the foreign keys are then validated once, over the whole table):

- 8 organisations (Europe/Paris) of unequal size (100, 60, 50, 50, 40, 40, 30, 30 agents: 400 agents),
  5 services, 3 locations and 6 appointment types per organisation (in person, phone, video, at home;
  30, 45 or 60 minutes), one admin user per organisation (an organisation admin, not an administration
  admin) with a password, so that the statistics page can be requested as that person;
- 200,000 usagers, each linked to one organisation (in proportion to its agents), with e-mail and phone;
- 1,000,000 appointments (2,500 per agent, three a working day, in 2.5-hour blocks, so one agent's
  appointments never overlap: the exclusion constraint holds), from Monday 30 October 2023 to January
  2027; one agent link and one participation (an usager of the appointment's organisation) each.
  Statuses: before ``NOW`` 75 % honoré, 8 % lapin, 10 % annulé excusé, 3 % annulé par le service, 4 % à
  renseigner; after it 93 % à venir, 5 % excusé, 2 % annulé par le service. Origins: 55 % agent, 35 %
  usager, 5 % prescripteur, 5 % API. Booked 2 hours to 45 days before the appointment;
- about 1,090,000 messages: a confirmation for 60 % of the appointments (e-mail, or SMS for a third of
  them), an SMS reminder for half of the appointments not cancelled (1 to 3 segments), a cancellation
  e-mail for half of the cancelled ones, and a waiting-list message for 1 %; 97 % sent or delivered;
- 5,000 waiting-list entries on future appointments.

Values are drawn with ``hashint8`` (deterministic): a kept database (--reuse) gives the same figures.
"""

from __future__ import annotations

import contextlib
import io
import time as clock
from datetime import date, datetime
from zoneinfo import ZoneInfo

TZ_NAME = "Europe/Paris"
TZ = ZoneInfo(TZ_NAME)
NOW = datetime(2026, 11, 24, 0, 0, tzinfo=TZ)  # statuses before / after it; the data are fixed
FIRST_DAY = "2023-10-30"  # a Monday
STATS_PERIOD = (date(2025, 11, 1), date(2026, 10, 31))  # the 12 months measured on the statistics page
PDF_MONTH = "2026-10"  # the monthly report measured
DATA_VERSION = 1  # bump when the generator changes: --reuse then generates again

SLUG = "bench-reporting"
AGENTS_PER_ORGANISATION = (100, 60, 50, 50, 40, 40, 30, 30)
SERVICES = ("PMI", "Service social", "Insertion", "Protection de l'enfance", "Secrétariat")
LOCATIONS_PER_ORGANISATION = 3
TYPES = (  # (name, mode, minutes), per organisation
    ("Consultation", "in_person", 30),
    ("Premier accueil", "in_person", 45),
    ("Entretien téléphonique", "phone", 30),
    ("Entretien en visio", "video", 30),
    ("Visite à domicile", "home", 60),
    ("Suivi", "in_person", 30),
)
APPOINTMENTS = 1_000_000
CITIZENS = 200_000
PER_DAY = 3  # appointments of one agent per working day
WAITING_LIST = 5_000
PASSWORD = "banc-d-essai-2026"


def administration_name() -> str:
    return f"Banc d'essai statistiques (données v{DATA_VERSION})"


def admin_email(index: int) -> str:
    """E-mail of the admin of the organisation of that index (0 is the largest one)."""
    return f"admin-org{index + 1}@{SLUG}.test"


# --- Administration ------------------------------------------------------------------------------

def existing():
    from tenants.models import Administration

    return Administration.objects.filter(slug=SLUG, name=administration_name(),
                                         status=Administration.Status.ACTIVE).first()


def drop() -> None:
    from django.db import connection

    from tenants.models import Administration

    for administration in Administration.objects.filter(slug=SLUG):
        with connection.cursor() as cursor:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{administration.schema_name}" CASCADE')
        administration.domains.all().delete()
        administration.delete()


def onboard():
    from tenants.models import Administration
    from tenants.services import administration_create

    with contextlib.redirect_stdout(io.StringIO()):
        administration = administration_create(
            name=administration_name(), kind=Administration.Kind.DEPARTEMENT, slug=SLUG,
            first_admin_email=f"admin@{SLUG}.test", provision="sync",
        )
    if administration.status != Administration.Status.ACTIVE:
        raise SystemExit(f"onboarding of {SLUG} failed: {administration.status_reason}")
    return administration


def structure() -> None:
    """Services, organisations, locations, types, agents (one user per organisation's admin), roles."""
    from django.db import transaction

    from scheduling.models import Agent, AgentRole, AppointmentType, Location, Organisation, Service
    from tenants.accounts.models import User

    with transaction.atomic():
        services = Service.objects.bulk_create([
            Service(name=name, short_name=name[:3].upper() + str(i), is_secretariat=name == "Secrétariat")
            for i, name in enumerate(SERVICES)
        ])
        organisations = Organisation.objects.bulk_create([
            Organisation(name=f"Maison départementale des solidarités {i + 1:02d}",
                         address=f"{i + 1} avenue de la République, Valence", timezone=TZ_NAME)
            for i in range(len(AGENTS_PER_ORGANISATION))
        ])
        Location.objects.bulk_create([
            Location(organisation=org, name=f"MDS {i + 1:02d} — site {j + 1}", address=f"{j + 1} place du Marché")
            for i, org in enumerate(organisations) for j in range(LOCATIONS_PER_ORGANISATION)
        ])
        AppointmentType.objects.bulk_create([
            AppointmentType(organisation=org, service=services[(i + j) % 4], name=f"{name} (MDS {i + 1:02d})",
                            mode=mode, duration_minutes=minutes, bookable_by="everyone")
            for i, org in enumerate(organisations) for j, (name, mode, minutes) in enumerate(TYPES)
        ])
        agents, roles = [], []
        for i, (org, count) in enumerate(zip(organisations, AGENTS_PER_ORGANISATION, strict=True)):
            for j in range(count):
                user = None
                if j == 0:
                    user = User.objects.create_user(email=admin_email(i), password=PASSWORD,
                                                    first_name="Admin", last_name=f"MDS {i + 1:02d}")
                agent = Agent(user=user, first_name=f"Agent {j + 1}", last_name=f"MDS{i + 1:02d}-{j + 1:03d}")
                agents.append(agent)
                roles.append((agent, org, "admin" if j == 0 else "basic"))
        Agent.objects.bulk_create(agents)
        AgentRole.objects.bulk_create([AgentRole(agent=a, organisation=o, level=level) for a, o, level in roles])
        # The administration admin (the onboarding's first admin): admin of every organisation, no appointment.
        first_admin = User.objects.get(email=f"admin@{SLUG}.test")
        first_admin.set_password(PASSWORD)
        first_admin.save()
        chief = Agent.objects.create(user=first_admin, first_name="Admin", last_name="Administration")
        AgentRole.objects.bulk_create([AgentRole(agent=chief, organisation=o, level="admin") for o in organisations])
        Agent.services.through.objects.bulk_create([
            Agent.services.through(agent_id=agent.pk, service_id=services[k % 4].pk)
            for k, agent in enumerate(agents)
        ])


# --- Bulk SQL ------------------------------------------------------------------------------------

# Helper tables (temporary, dropped with the session): agents in order with their organisation's
# citizen range, each organisation's types and locations numbered from 0.
HELPERS = """
CREATE TEMP TABLE b_agent AS
    SELECT (row_number() OVER (ORDER BY a.id) - 1)::int AS agent_index, a.id AS agent_id, r.organisation_id AS org_id
    FROM scheduling_agent a JOIN scheduling_agentrole r ON r.agent_id = a.id
    WHERE NOT EXISTS (SELECT 1 FROM scheduling_agentrole other
                      WHERE other.agent_id = a.id AND other.organisation_id <> r.organisation_id);
CREATE UNIQUE INDEX ON b_agent (agent_index);
CREATE TEMP TABLE b_org AS
    SELECT o.id AS org_id, (row_number() OVER (ORDER BY o.id) - 1)::int AS org_index,
           (SELECT count(*) FROM b_agent a WHERE a.org_id = o.id)::int AS agents
    FROM scheduling_organisation o;
ALTER TABLE b_org ADD COLUMN citizen_start int, ADD COLUMN citizen_count int;
UPDATE b_org SET citizen_count = agents * ({citizens} / {agents_total}),
                 citizen_start = 1 + ({citizens} / {agents_total})
                     * (SELECT coalesce(sum(p.agents), 0) FROM b_org p WHERE p.org_index < b_org.org_index);
CREATE TEMP TABLE b_type AS
    SELECT organisation_id AS org_id, (row_number() OVER (PARTITION BY organisation_id ORDER BY id) - 1)::int AS k,
           id AS type_id, mode, duration_minutes
    FROM scheduling_appointmenttype;
CREATE UNIQUE INDEX ON b_type (org_id, k);
CREATE TEMP TABLE b_location AS
    SELECT organisation_id AS org_id, (row_number() OVER (PARTITION BY organisation_id ORDER BY id) - 1)::int AS k,
           id AS location_id
    FROM scheduling_location;
CREATE UNIQUE INDEX ON b_location (org_id, k);
ANALYZE b_org; ANALYZE b_agent; ANALYZE b_type; ANALYZE b_location;
"""

# h(i, salt) in [0, 1000): a deterministic draw per row.
H = "(abs(hashint8({x}::bigint * 131 + {salt})::bigint) % 1000)"


def h(x: str, salt: int) -> str:
    return H.format(x=x, salt=salt)


CITIZENS_SQL = """
INSERT INTO scheduling_citizen (id, first_name, last_name, birth_name, birth_date, email, phone, address, city_code,
                                notify_by_email, notify_by_sms, created_at)
SELECT i, (ARRAY['Camille','Dominique','Claude','Sacha','Alix','Lou','Charlie','Noa'])[1 + i % 8] || ' ' || i,
       (ARRAY['Martin','Bernard','Dubois','Thomas','Robert','Richard','Petit','Durand','Leroy','Moreau'])[1 + i % 10],
       '', DATE '1950-01-01' + (i * 7919) % 25000, 'usager' || i || '@exemple.fr',
       '+336' || lpad((10000000 + i)::text, 8, '0'), i || ' rue des Lilas', '26362', true, {sms}, TIMESTAMPTZ '{first}'
FROM generate_series(1, {citizens}) AS i;
INSERT INTO scheduling_citizen_organisations (citizen_id, organisation_id)
SELECT i, o.org_id FROM generate_series(1, {citizens}) AS i
JOIN b_org o ON i >= o.citizen_start AND i < o.citizen_start + o.citizen_count;
SELECT setval(pg_get_serial_sequence('scheduling_citizen', 'id'), {citizens});
"""

# Appointment i (1-based) belongs to agent (i - 1) % A, as that agent's k-th (k = (i - 1) / A): working day
# k / PER_DAY after FIRST_DAY (weekends skipped), block k % PER_DAY of 2.5 hours from 08:30, plus 0, 30 or
# 60 minutes; types last at most 60 minutes, so no two appointments of one agent overlap.
APPOINTMENTS_SQL = """
CREATE TEMP TABLE b_appointment AS
SELECT s.i, s.agent_id, s.org_id, s.starts_at, s.starts_at + make_interval(mins => t.duration_minutes) AS ends_at,
       t.type_id, CASE WHEN t.mode IN ('in_person') THEN l.location_id END AS location_id,
       CASE WHEN s.starts_at < TIMESTAMPTZ '{now}' THEN
            CASE WHEN s.h_status < 750 THEN 'seen' WHEN s.h_status < 830 THEN 'noshow'
                 WHEN s.h_status < 930 THEN 'excused' WHEN s.h_status < 960 THEN 'revoked' ELSE 'unknown' END
       ELSE CASE WHEN s.h_status < 930 THEN 'unknown' WHEN s.h_status < 980 THEN 'excused' ELSE 'revoked' END
       END AS status,
       CASE WHEN s.h_origin < 550 THEN 'agent' WHEN s.h_origin < 900 THEN 'citizen'
            WHEN s.h_origin < 950 THEN 'prescriber' ELSE 'api' END AS created_by,
       s.starts_at - make_interval(hours => (2 + s.h_delay % 24)::int, days => (s.h_delay % 45)::int) AS created_at,
       o.citizen_start + {h_citizen} % o.citizen_count AS citizen_id
FROM (
    SELECT i, a.agent_id, a.org_id,
           ((TIMESTAMP '{first} 08:30' + make_interval(days => (((i - 1) / {agents}) / {per_day} / 5 * 7
                                                               + ((i - 1) / {agents}) / {per_day} % 5)::int,
                                                       mins => ((((i - 1) / {agents}) % {per_day}) * 150
                                                                + {h_offset} % 3 * 30)::int))
            AT TIME ZONE '{tz}') AS starts_at,
           {h_status} AS h_status, {h_origin} AS h_origin, {h_delay} AS h_delay, {h_type} AS h_type,
           {h_location} AS h_location
    FROM generate_series(1, {count}) AS i
    JOIN b_agent a ON a.agent_index = (i - 1) % {agents}
) s
JOIN b_org o ON o.org_id = s.org_id
JOIN b_type t ON t.org_id = s.org_id AND t.k = s.h_type % {types}
JOIN b_location l ON l.org_id = s.org_id AND l.k = s.h_location % {locations};

INSERT INTO scheduling_appointment (id, uuid, organisation_id, appointment_type_id, location_id, starts_at, ends_at,
                                    status, cancelled_at, title, context, video_url, created_by, created_by_agent_id,
                                    accepted_overlap, created_at, updated_at)
SELECT i, gen_random_uuid(), org_id, type_id, location_id, starts_at, ends_at, status,
       CASE WHEN status IN ('excused', 'revoked') THEN created_at + (starts_at - created_at) / 2 END, '', '', '',
       created_by, CASE WHEN created_by = 'agent' THEN agent_id END, false, created_at,
       CASE WHEN status IN ('excused', 'revoked') THEN created_at + (starts_at - created_at) / 2
            WHEN status IN ('seen', 'noshow') THEN ends_at ELSE created_at END
FROM b_appointment;
SELECT setval(pg_get_serial_sequence('scheduling_appointment', 'id'), {count});

INSERT INTO scheduling_appointmentagent (id, appointment_id, agent_id, starts_at, ends_at, blocks)
SELECT i, i, agent_id, starts_at, ends_at, status NOT IN ('excused', 'revoked') FROM b_appointment;
SELECT setval(pg_get_serial_sequence('scheduling_appointmentagent', 'id'), {count});

INSERT INTO scheduling_participation (id, appointment_id, citizen_id, status, send_lifecycle_notifications,
                                      send_reminder_notification, created_by, created_at)
SELECT i, i, citizen_id, status, true, true, created_by, created_at FROM b_appointment;
SELECT setval(pg_get_serial_sequence('scheduling_participation', 'id'), {count});
"""

# Messages: one row per (appointment, kind) drawn; sent or delivered for 97 %.
MESSAGES_SQL = """
INSERT INTO messaging_message (channel, recipient, recipient_kind, kind, appointment_id, participation_id, citizen_id,
                               subject, body, html, context, status, reason, attempts, next_attempt_at, provider,
                               provider_message_id, sms_segments, idempotency_key, created_at, updated_at, sent_at)
SELECT m.channel,
       CASE WHEN m.channel = 'sms' THEN '+336' || lpad((10000000 + b.citizen_id)::text, 8, '0')
            ELSE 'usager' || b.citizen_id || '@exemple.fr' END,
       'citizen', m.kind, b.i, b.i, b.citizen_id, '', '', '', '{{}}'::jsonb,
       CASE WHEN m.h < 500 THEN 'delivered' WHEN m.h < 970 THEN 'sent' WHEN m.h < 990 THEN 'failed' ELSE 'skipped' END,
       '', 1, m.at, CASE WHEN m.channel = 'sms' THEN 'brevo' ELSE 'smtp' END, '',
       CASE WHEN m.channel = 'sms' THEN 1 + m.h % 3 END, m.kind || ':' || b.i, m.at, m.at,
       CASE WHEN m.h < 970 THEN m.at END
FROM b_appointment b
CROSS JOIN LATERAL (
    SELECT 'booked' AS kind, CASE WHEN {h_channel} < 333 THEN 'sms' ELSE 'email' END AS channel,
           b.created_at AS at, {h1} AS h
    WHERE {h_booked} < 600
    UNION ALL
    SELECT 'reminder', 'sms', b.starts_at - interval '2 days', {h2}
    WHERE b.status NOT IN ('excused', 'revoked') AND {h_reminder} < 500
      AND b.starts_at - interval '2 days' > b.created_at
    UNION ALL
    SELECT 'cancelled', 'email', b.created_at + (b.starts_at - b.created_at) / 2, {h3}
    WHERE b.status IN ('excused', 'revoked') AND {h_cancelled} < 500
    UNION ALL
    SELECT 'waiting_list_slot', 'sms', b.created_at + interval '1 day', {h4}
    WHERE {h_waiting} < 10 AND b.starts_at - b.created_at > interval '8 days'
) m;

INSERT INTO public_booking_waitinglistentry (appointment_id, created_at, notifications_sent, last_notified_at)
SELECT i, created_at, 0, NULL FROM b_appointment
WHERE status = 'unknown' AND starts_at > TIMESTAMPTZ '{now}' + interval '7 days'
ORDER BY i LIMIT {waiting};
"""

LARGE_TABLES = ("scheduling_citizen", "scheduling_citizen_organisations", "scheduling_appointment",
                "scheduling_appointmentagent", "scheduling_participation", "messaging_message",
                "public_booking_waitinglistentry")


def _run(cursor, script: str) -> None:
    for statement in script.split(";\n"):
        if statement.strip():
            cursor.execute(statement)


def _drop_secondary(cursor, schema: str, tables) -> list[str]:
    """Drop the foreign keys, unique and exclusion constraints and the plain indexes of ``tables`` (never the
    primary keys); return the DDL that rebuilds them, constraints last."""
    indexes, constraints = [], []
    for table in tables:
        cursor.execute(
            """SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
               WHERE c.conrelid = %s::regclass AND c.contype IN ('f', 'u', 'x')""", [f'"{schema}"."{table}"'])
        for name, definition in cursor.fetchall():
            constraints.append((table, name, definition))
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.schemaname = %s AND i.tablename = %s
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname
                                 AND c.connamespace = %s::regnamespace)""", [schema, table, f'"{schema}"'])
        indexes.extend(definition for _, definition in cursor.fetchall())
    for table, name, _ in constraints:
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for definition in indexes:
        name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0].strip()
        cursor.execute(f'DROP INDEX "{schema}".{name}')
    return indexes + [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
                      for table, name, definition in constraints]


def fill(administration, *, log=print) -> dict:
    """Fill the administration's schema; the row counts of the large tables."""
    from django.db import connection, transaction
    from django_tenants.utils import tenant_context

    schema = administration.schema_name
    started = clock.perf_counter()
    with tenant_context(administration):
        structure()
        log(f"  structure (ORM): {clock.perf_counter() - started:.1f} s", flush=True)
        agents_total = sum(AGENTS_PER_ORGANISATION)
        params = {"now": NOW.isoformat(), "first": FIRST_DAY, "tz": TZ_NAME, "agents": agents_total,
                  "per_day": PER_DAY, "count": APPOINTMENTS, "types": len(TYPES),
                  "locations": LOCATIONS_PER_ORGANISATION, "citizens": CITIZENS, "waiting": WAITING_LIST}
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            rebuild = _drop_secondary(cursor, schema, LARGE_TABLES)
            step = clock.perf_counter()
            _run(cursor, HELPERS.format(citizens=CITIZENS, agents_total=agents_total))
            _run(cursor, CITIZENS_SQL.format(sms="i % 5 <> 0", **params))
            log(f"  {CITIZENS:,} usagers: {clock.perf_counter() - step:.1f} s", flush=True)
            step = clock.perf_counter()
            _run(cursor, APPOINTMENTS_SQL.format(
                h_status=h("i", 1), h_origin=h("i", 2), h_delay=h("i", 3), h_type=h("i", 4),
                h_location=h("i", 5), h_offset=h("i", 6), h_citizen=h("i", 7), **params))
            log(f"  {APPOINTMENTS:,} appointments, agent links, participations: "
                f"{clock.perf_counter() - step:.1f} s", flush=True)
            step = clock.perf_counter()
            _run(cursor, MESSAGES_SQL.format(
                h_channel=h("b.i", 11), h1=h("b.i", 12), h_booked=h("b.i", 13), h2=h("b.i", 14),
                h_reminder=h("b.i", 15), h3=h("b.i", 16), h_cancelled=h("b.i", 17), h4=h("b.i", 18),
                h_waiting=h("b.i", 19), **params))
            log(f"  messages and waiting list: {clock.perf_counter() - step:.1f} s", flush=True)
            step = clock.perf_counter()
            for statement in rebuild:
                cursor.execute(statement)
            log(f"  {len(rebuild)} indexes and constraints rebuilt: {clock.perf_counter() - step:.1f} s", flush=True)
            counts = {}
            for table in LARGE_TABLES:
                cursor.execute(f'SELECT count(*) FROM "{table}"')
                counts[table.split("_", 1)[1]] = cursor.fetchone()[0]
        step = clock.perf_counter()
        with connection.cursor() as cursor:
            for table in LARGE_TABLES:
                cursor.execute(f'VACUUM ANALYZE "{schema}"."{table}"')
        log(f"  VACUUM ANALYZE: {clock.perf_counter() - step:.1f} s", flush=True)
    return counts


def generate(*, reuse: bool, log=print):
    """(administration, row counts or None when kept), generated now or, with ``reuse``, kept from before."""
    administration = existing() if reuse else None
    if administration is not None:
        log("  data kept from an earlier run (--reuse): nothing generated", flush=True)
        return administration, None
    drop()
    started = clock.perf_counter()
    administration = onboard()
    log(f"  administration onboarded (real path): {clock.perf_counter() - started:.1f} s", flush=True)
    return administration, fill(administration, log=log)
