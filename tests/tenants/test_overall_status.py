"""The page's overall status follows Statuspage's rules, every case of the reference README."""

from __future__ import annotations

import pytest

from tenants.components.models import ComponentStatus as S
from tenants.components.status import overall_status

OP, MAINT, DEG, PART, MAJOR = (
    S.OPERATIONAL,
    S.UNDER_MAINTENANCE,
    S.DEGRADED_PERFORMANCE,
    S.PARTIAL_OUTAGE,
    S.MAJOR_OUTAGE,
)


@pytest.mark.parametrize(
    ("statuses", "indicator", "description"),
    [
        ([], "none", "All Systems Operational"),
        ([OP], "none", "All Systems Operational"),
        ([MAINT], "maintenance", "Service Under Maintenance"),
        ([DEG], "minor", "Degraded System Service"),
        ([PART], "major", "Partial System Outage"),
        ([MAJOR], "critical", "Major System Outage"),
        ([MAJOR, MAJOR], "critical", "Major System Outage"),
        ([MAJOR, OP], "major", "Partial System Outage"),
        ([MAJOR, PART, DEG], "major", "Partial System Outage"),
        ([PART, PART], "major", "Partial System Outage"),
        ([PART, OP], "minor", "Minor Service Outage"),
        ([PART, DEG, MAINT], "minor", "Minor Service Outage"),
        ([DEG, DEG, DEG], "minor", "Degraded System Service"),
        ([DEG, OP], "minor", "Partially Degraded Service"),
        ([DEG, MAINT], "minor", "Partially Degraded Service"),
        ([MAINT, OP], "maintenance", "Service Under Maintenance"),
        ([MAINT, MAINT], "maintenance", "Service Under Maintenance"),
        ([OP, OP, OP], "none", "All Systems Operational"),
    ],
)
def test_components_alone(statuses, indicator, description):
    status = overall_status(statuses)
    assert (status.indicator.value, status.description) == (indicator, description)


@pytest.mark.parametrize(
    ("statuses", "impacts", "indicator", "description"),
    [
        ([OP, OP], ["minor"], "minor", "Minor Service Outage"),
        ([], ["major"], "major", "Partial System Outage"),
        ([OP], ["critical"], "critical", "Major System Outage"),
        ([OP, OP], ["none"], "none", "All Systems Operational"),
        ([OP, OP], ["maintenance"], "maintenance", "Service Under Maintenance"),
        ([DEG, OP], ["maintenance"], "minor", "Partially Degraded Service"),
        ([MAJOR, MAJOR], ["minor"], "critical", "Major System Outage"),
        ([DEG, OP], ["major", "minor"], "major", "Partial System Outage"),
    ],
)
def test_open_incidents_raise_the_indicator_to_their_impact(statuses, impacts, indicator, description):
    status = overall_status(statuses, impacts)
    assert (status.indicator.value, status.description) == (indicator, description)
