"""The MARAC flag: which criteria for a multi-agency risk assessment conference an incident meets.

A MARAC reviews the highest-risk domestic-abuse cases. A child's work item and history carry the
flag when any criterion fires, and the flag names every criterion that fired, each with a stable
code and a sentence a practitioner reads:

* ``dash_high``: the police assessed the risk as high on the DASH form;
* ``dash_score``: the DASH score (yes answers of 24) is ``marac_dash_score`` or more, even when
  the police did not grade the risk high (the "14 or more" of the DASH guidance);
* ``police_referral``: the police say they made a MARAC referral;
* ``repeat_incidents``: this incident is the ``marac_repeat_incidents``-th or later for the same
  household within ``marac_window_days`` days (escalation: by default the third in 12 months).

The household. A household is the children (and adults, where given) identified together in
one notification: whoever the police found at the incident are taken to live with its risk. An
incident counts for the household of *any* of its children, so a later notification naming only
one of them still sees the earlier incidents. Children are matched by their resolved child keys
(identity resolution), not by the names as spelt, so "Kayleigh" and "Kayley" at the same date of
birth do not split a household. The caller gathers the earlier domestic-abuse incident times of
every child of this notification and de-duplicates them by incident (one incident naming three
children is one incident); identical instants are counted once here as well, and one at this
incident's own instant is taken to be this incident.

Counting. Incidents are counted in the window that ends at this incident and reaches back
``marac_window_days`` days (start included), this incident included; incidents recorded after
this one (a replay, a late notification of an earlier incident) do not count towards it. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from schemas.models import DashRiskLevel
from streams.decisions.rules.model import DomesticAbuseRules

__all__ = [
    "MaracCriterion",
    "MaracCriterionCode",
    "household_incidents_in_window",
    "marac_criteria",
]

DASH_QUESTIONS = 24


class MaracCriterionCode(StrEnum):
    """Stable: stored on the work item and the child's history, and matched on."""

    DASH_HIGH = "dash_high"
    DASH_SCORE = "dash_score"
    POLICE_REFERRAL = "police_referral"
    REPEAT_INCIDENTS = "repeat_incidents"


@dataclass(frozen=True)
class MaracCriterion:
    code: MaracCriterionCode
    description: str  # "DASH score 16 of 24 (14 or more)"


def marac_criteria(
    *,
    dash_risk_level: DashRiskLevel | None,
    dash_score: int | None,
    marac_referral_made: bool | None,
    household_incident_times: Sequence[datetime],
    incident_time: datetime,
    rules: DomesticAbuseRules,
) -> tuple[MaracCriterion, ...]:
    """Each MARAC criterion this incident meets, in a fixed order; empty when none does.

    ``household_incident_times``: the times of the household's earlier domestic-abuse incidents
    (module docstring), aware datetimes; ``incident_time``: this incident's, aware.
    """
    fired: list[MaracCriterion] = []
    if dash_risk_level is DashRiskLevel.HIGH:
        fired.append(MaracCriterion(MaracCriterionCode.DASH_HIGH, "DASH risk assessed high"))
    if dash_score is not None and dash_score >= rules.marac_dash_score:
        fired.append(
            MaracCriterion(
                MaracCriterionCode.DASH_SCORE,
                f"DASH score {dash_score} of {DASH_QUESTIONS} ({rules.marac_dash_score} or more)",
            )
        )
    if marac_referral_made:
        fired.append(
            MaracCriterion(MaracCriterionCode.POLICE_REFERRAL, "police made a MARAC referral")
        )
    count = household_incidents_in_window(household_incident_times, incident_time, rules)
    if count >= rules.marac_repeat_incidents:
        fired.append(
            MaracCriterion(
                MaracCriterionCode.REPEAT_INCIDENTS,
                f"{_ordinal(count)} incident for this household in "
                f"{_window(rules.marac_window_days)} ({rules.marac_repeat_incidents} or more)",
            )
        )
    return tuple(fired)


def household_incidents_in_window(
    household_incident_times: Sequence[datetime],
    incident_time: datetime,
    rules: DomesticAbuseRules,
) -> int:
    """The household's incidents in the window ending at ``incident_time``, this one included."""
    end = _instant(incident_time, "incident_time")
    start = end - timedelta(days=rules.marac_window_days)
    # Compared as UTC instants, so a window across a clock change is exactly so many days; a
    # set, so one incident reported twice at the same instant counts once.
    earlier = {
        moment
        for moment in (_instant(t, "household_incident_times") for t in household_incident_times)
        if start <= moment < end
    }
    return len(earlier) + 1


def _instant(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {moment.isoformat()}; pass aware datetimes")
    return moment.astimezone(UTC)


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _window(days: int) -> str:
    """A window as a person says it: 365 days is "12 months"."""
    if days % 365 == 0:
        return f"{days // 365 * 12} months"
    return f"{days} days" if days != 1 else "1 day"
