"""Which types and agents an address sees: commune zones, street zones, organisation vs agent level."""

from django_tenants.utils import tenant_context

from public_booking.selectors import bookable_types
from scheduling.sectorisation import NO_ADDRESS, sector_match


def _names(types):
    return sorted((kind.name, kind.organisation.name) for kind in types)


def test_commune_zone_gives_the_attributed_organisation(administration_a, world):
    with tenant_context(administration_a):
        match = sector_match(city_code="26362")
        assert match.organisation_ids == {world.north.pk}
        visible = bookable_types(match=match)
        assert world.org_type in visible
        # agent level with the organisation attributed as a whole: every agent of the organisation
        assert world.agent_type in visible
        assert match.agent_ids_for(world.agent_type) is None
        assert match.agent_ids_for(world.open_type) is None


def test_street_zone_attributed_to_an_agent(administration_a, world):
    with tenant_context(administration_a):
        match = sector_match(city_code="26198", street_id="26198_0420")
        visible = bookable_types(match=match)
        assert world.agent_type in visible
        assert world.org_type not in visible  # the street's sector is attributed to an agent, not the organisation
        assert match.agent_ids_for(world.agent_type) == [world.north_agent_2.pk]
        # another street of the same commune is in no sector
        other = sector_match(city_code="26198", street_id="26198_9999")
        assert world.agent_type not in bookable_types(match=other)


def test_no_sector_shows_only_administration_level_types(administration_a, world):
    with tenant_context(administration_a):
        for match in (NO_ADDRESS, sector_match(city_code="75056")):
            visible = bookable_types(match=match)
            assert world.org_type not in visible
            assert world.agent_type not in visible
            assert {world.open_type, world.open_type_south} <= set(visible)


def test_agent_level_slots_are_only_the_sector_agents(administration_a, world):
    from django.utils import timezone

    from public_booking.selectors import place_options

    with tenant_context(administration_a):
        match = sector_match(city_code="26198", street_id="26198_0420")
        options = place_options(types=[world.agent_type], match=match)
        assert options
        assert all(set(o.next_slot.agent_ids) == {world.north_agent_2.pk} for o in options)
        from public_booking.selectors import week_of_slots

        week = week_of_slots(appointment_type=world.agent_type, location_id=world.north_place.pk,
                             agent_ids=match.agent_ids_for(world.agent_type), now=timezone.now())
        for _, slots in week.days:
            assert all(slot.agent_ids == (world.north_agent_2.pk,) for slot in slots)
