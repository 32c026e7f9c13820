"""A session bound to one organization sees and writes only that organization's rows, whatever the query."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from status_platform.db.base import Base, TenantScoped
from status_platform.db.session import TenantNotBound, platform_session, tenant_session
from status_platform.tenancy.models import Tenant
from tenants.components.models import Component, ComponentGroup
from tenants.incidents.models import Incident, IncidentComponent, IncidentUpdate
from tenants.pages.models import Page

TENANT_MODELS = sorted(
    (m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)), key=lambda c: c.__name__
)


def test_every_tenant_model_is_covered_by_the_populated_organizations(org_a, org_b):
    for model in TENANT_MODELS:
        for org in (org_a, org_b):
            with tenant_session(org.tenant_id) as s:
                assert s.scalar(select(func.count()).select_from(model)) > 0, f"{model.__name__} has no row"


@pytest.mark.parametrize("model", TENANT_MODELS, ids=lambda m: m.__name__)
def test_another_organizations_rows_are_invisible(model, org_a, org_b):
    with tenant_session(org_b.tenant_id) as s:
        b_ids = set(s.scalars(select(model.id)))
    with tenant_session(org_a.tenant_id) as s:
        rows = s.scalars(select(model)).all()
        assert rows and {row.tenant_id for row in rows} == {org_a.tenant_id}
        assert not b_ids & set(s.scalars(select(model.id)))
        assert all(s.get(model, b_id) is None for b_id in b_ids)
        assert s.scalar(select(func.count()).select_from(model)) == len(rows)
        assert s.scalar(select(select(model.id).where(model.id.in_(b_ids)).exists())) is False


def test_session_get_of_another_organizations_object_is_none(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        assert s.get(Incident, org_b.ids["incident"]) is None
        assert s.get(Page, org_b.page_id) is None
        assert s.get(Incident, org_a.ids["incident"]) is not None


def test_relationships_reached_from_platform_rows_are_scoped(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        tenant_b = s.get(Tenant, org_b.tenant_id)  # platform row: visible
        assert tenant_b is not None
        route_page_ids = {route.page_id for route in tenant_b.routes}
        assert route_page_ids == {org_b.page_id}
        # The page of B itself stays out of reach, also through a join from the platform table.
        assert (
            s.scalars(
                select(Page).join(Tenant, Tenant.id == Page.tenant_id).where(Tenant.id == org_b.tenant_id)
            ).all()
            == []
        )


def test_relationship_loads_stay_within_the_organization(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        incident = s.get(Incident, org_a.ids["incident"])
        assert incident is not None
        assert {u.tenant_id for u in incident.updates} == {org_a.tenant_id}
        assert [link.component.tenant_id for link in incident.affected] == [org_a.tenant_id]
        group = s.get(ComponentGroup, org_a.ids["group"])
        assert group is not None and {c.tenant_id for c in group.components} == {org_a.tenant_id}


def test_joins_aliases_unions_and_ctes_are_scoped(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        names = s.scalars(
            select(Incident.name).join(IncidentUpdate, IncidentUpdate.incident_id == Incident.id)
        ).all()
        assert names and all(org_b.name not in name for name in names)
        other = aliased(Component)
        assert {c.tenant_id for c in s.scalars(select(other))} == {org_a.tenant_id}
        union = s.scalars(select(Component.name).union_all(select(ComponentGroup.name))).all()
        assert union and all(name.startswith(org_a.name) for name in union)
        cte = select(Component.name).cte()
        assert all(name.startswith(org_a.name) for name in s.scalars(select(cte.c.name)))
        subquery = s.scalars(
            select(IncidentComponent).where(IncidentComponent.component_id.in_(select(Component.id)))
        )
        assert {link.tenant_id for link in subquery} == {org_a.tenant_id}


def test_bulk_update_and_delete_touch_only_the_organization(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        s.execute(sa.update(Component).values(description="changed by A"))
        s.execute(sa.delete(IncidentComponent))
        s.commit()
    with tenant_session(org_b.tenant_id) as s:
        assert "changed by A" not in set(s.scalars(select(Component.description)))
        assert s.scalar(select(func.count()).select_from(IncidentComponent)) > 0


def test_writing_a_row_of_another_organization_is_refused(org_a, org_b):
    with tenant_session(org_a.tenant_id) as s:
        s.add(Component(tenant_id=org_b.tenant_id, page_id=org_b.page_id, name="planted"))
        with pytest.raises(PermissionError):
            s.flush()


def test_new_rows_are_stamped_with_the_sessions_organization(org_a):
    with tenant_session(org_a.tenant_id) as s:
        component = Component(page_id=org_a.page_id, name="stamped")
        s.add(component)
        s.flush()
        assert component.tenant_id == org_a.tenant_id


def test_a_session_without_organization_refuses_tenant_tables(org_a):
    with platform_session() as s:
        with pytest.raises(TenantNotBound):
            s.scalars(select(Component)).all()
        # reached indirectly (no entity in the columns), tenant rows match nothing
        assert s.scalar(select(func.count()).select_from(Component)) == 0
        s.add(Component(page_id=org_a.page_id, name="orphan"))
        with pytest.raises(TenantNotBound):
            s.flush()
