"""The page's overall status, derived by Statuspage's rules for indicator and description."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from tenants.components.models import ComponentStatus


class Indicator(enum.StrEnum):
    NONE = "none"
    MAINTENANCE = "maintenance"
    MINOR = "minor"
    MAJOR = "major"
    CRITICAL = "critical"

    @property
    def severity(self) -> int:
        return list(Indicator).index(self)


ALL_OPERATIONAL = "All Systems Operational"
PARTIALLY_DEGRADED = "Partially Degraded Service"
DEGRADED = "Degraded System Service"
MINOR_OUTAGE = "Minor Service Outage"
PARTIAL_OUTAGE = "Partial System Outage"
MAJOR_OUTAGE = "Major System Outage"
UNDER_MAINTENANCE = "Service Under Maintenance"

_INDICATOR_OF = {
    ALL_OPERATIONAL: Indicator.NONE,
    PARTIALLY_DEGRADED: Indicator.MINOR,
    DEGRADED: Indicator.MINOR,
    MINOR_OUTAGE: Indicator.MINOR,
    PARTIAL_OUTAGE: Indicator.MAJOR,
    MAJOR_OUTAGE: Indicator.CRITICAL,
    UNDER_MAINTENANCE: Indicator.MAINTENANCE,
}
# The description an open incident's impact imposes when it is worse than the components say.
_DESCRIPTION_OF_IMPACT = {
    Indicator.MAINTENANCE: UNDER_MAINTENANCE,
    Indicator.MINOR: MINOR_OUTAGE,
    Indicator.MAJOR: PARTIAL_OUTAGE,
    Indicator.CRITICAL: MAJOR_OUTAGE,
}
_SINGLE = {
    ComponentStatus.OPERATIONAL: ALL_OPERATIONAL,
    ComponentStatus.UNDER_MAINTENANCE: UNDER_MAINTENANCE,
    ComponentStatus.DEGRADED_PERFORMANCE: DEGRADED,
    ComponentStatus.PARTIAL_OUTAGE: PARTIAL_OUTAGE,
    ComponentStatus.MAJOR_OUTAGE: MAJOR_OUTAGE,
}


@dataclass(frozen=True)
class OverallStatus:
    indicator: Indicator
    description: str


def describe_components(statuses: list[ComponentStatus]) -> str:
    """The description the leaf components alone give (rules 1 to 3)."""
    if not statuses:
        return ALL_OPERATIONAL
    if len(statuses) == 1:
        return _SINGLE[statuses[0]]
    present = set(statuses)

    def every(status: ComponentStatus) -> bool:
        return present == {status}

    if every(ComponentStatus.MAJOR_OUTAGE):
        return MAJOR_OUTAGE
    if ComponentStatus.MAJOR_OUTAGE in present:
        return PARTIAL_OUTAGE
    if every(ComponentStatus.PARTIAL_OUTAGE):
        return PARTIAL_OUTAGE
    if ComponentStatus.PARTIAL_OUTAGE in present:
        return MINOR_OUTAGE
    if every(ComponentStatus.DEGRADED_PERFORMANCE):
        return DEGRADED
    if ComponentStatus.DEGRADED_PERFORMANCE in present:
        return PARTIALLY_DEGRADED
    if ComponentStatus.UNDER_MAINTENANCE in present:
        return UNDER_MAINTENANCE
    return ALL_OPERATIONAL


def overall_status(statuses: Iterable[ComponentStatus], open_impacts: Iterable[str] = ()) -> OverallStatus:
    """The page's status from its leaf components' statuses and the impacts of its open incidents.

    An open incident or in-progress maintenance raises the indicator to its impact when the
    components alone say less (rule 4).
    """
    description = describe_components(list(statuses))
    indicator = _INDICATOR_OF[description]
    for impact in open_impacts:
        floor = Indicator(impact)
        if floor.severity > indicator.severity:
            indicator, description = floor, _DESCRIPTION_OF_IMPACT[floor]
    return OverallStatus(indicator, description)
