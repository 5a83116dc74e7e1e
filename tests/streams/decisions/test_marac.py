"""The MARAC flag names each criterion that fired: DASH high, DASH score, police referral, repeats.

This incident is at 23:10 on Friday 27 November 2026; the household's earlier incidents are
given as the caller gathers them (every child's, de-duplicated by incident).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.models import DashRiskLevel
from streams.decisions.marac import (
    MaracCriterion,
    MaracCriterionCode,
    household_incidents_in_window,
    marac_criteria,
)
from streams.decisions.rules.model import DomesticAbuseRules

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 27, 23, 10, tzinfo=LONDON)
RULES = DomesticAbuseRules()


def criteria(
    *,
    level: DashRiskLevel | None = None,
    score: int | None = None,
    referral: bool | None = None,
    earlier: tuple[datetime, ...] = (),
    rules: DomesticAbuseRules = RULES,
) -> tuple[MaracCriterion, ...]:
    return marac_criteria(
        dash_risk_level=level,
        dash_score=score,
        marac_referral_made=referral,
        household_incident_times=earlier,
        incident_time=NOW,
        rules=rules,
    )


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def test_a_standard_risk_first_incident_flags_nothing() -> None:
    assert criteria(level=DashRiskLevel.STANDARD, score=5, referral=False) == ()


def test_dash_high_flags_naming_the_criterion() -> None:
    assert criteria(level=DashRiskLevel.HIGH) == (
        MaracCriterion(MaracCriterionCode.DASH_HIGH, "DASH risk assessed high"),
    )


@pytest.mark.parametrize(("score", "fires"), [(13, False), (14, True), (16, True)])
def test_a_dash_score_of_14_or_more_flags_even_at_medium_risk(score: int, fires: bool) -> None:
    fired = criteria(level=DashRiskLevel.MEDIUM, score=score)

    assert bool(fired) is fires
    if fires:
        assert fired == (
            MaracCriterion(MaracCriterionCode.DASH_SCORE, f"DASH score {score} of 24 (14 or more)"),
        )


def test_a_police_referral_flags() -> None:
    assert criteria(referral=True) == (
        MaracCriterion(MaracCriterionCode.POLICE_REFERRAL, "police made a MARAC referral"),
    )


def test_a_fourth_incident_in_12_months_flags_naming_that_criterion() -> None:
    fired = criteria(earlier=(days_ago(300), days_ago(100), days_ago(2)))

    assert fired == (
        MaracCriterion(
            MaracCriterionCode.REPEAT_INCIDENTS,
            "4th incident for this household in 12 months (3 or more)",
        ),
    )


def test_the_third_incident_flags_and_the_second_does_not() -> None:
    assert criteria(earlier=(days_ago(1),)) == ()
    assert criteria(earlier=(days_ago(200), days_ago(1)))[0].description.startswith("3rd incident")


def test_the_window_reaches_back_365_days_exactly_and_no_further() -> None:
    inside = (days_ago(365), days_ago(1))
    outside = (days_ago(365) - timedelta(seconds=1), days_ago(1))

    assert household_incidents_in_window(inside, NOW, RULES) == 3
    assert household_incidents_in_window(outside, NOW, RULES) == 2


def test_incidents_after_this_one_and_repeats_of_one_instant_do_not_count() -> None:
    later = NOW + timedelta(days=3)
    same_incident_twice = (days_ago(10), days_ago(10).astimezone(UTC))

    assert household_incidents_in_window((later, NOW), NOW, RULES) == 1
    assert household_incidents_in_window(same_incident_twice, NOW, RULES) == 2


def test_every_criterion_that_fired_is_named_in_a_fixed_order() -> None:
    fired = criteria(
        level=DashRiskLevel.HIGH,
        score=18,
        referral=True,
        earlier=(days_ago(30), days_ago(20), days_ago(10)),
    )

    assert [criterion.code for criterion in fired] == list(MaracCriterionCode)
    assert [criterion.code.value for criterion in fired] == [
        "dash_high",
        "dash_score",
        "police_referral",
        "repeat_incidents",
    ]


def test_the_thresholds_come_from_the_rules() -> None:
    rules = DomesticAbuseRules(marac_dash_score=16, marac_repeat_incidents=4, marac_window_days=730)
    earlier = (days_ago(700), days_ago(400), days_ago(1))

    fired = criteria(score=15, earlier=earlier, rules=rules)

    assert fired == (
        MaracCriterion(
            MaracCriterionCode.REPEAT_INCIDENTS,
            "4th incident for this household in 24 months (4 or more)",
        ),
    )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        criteria(earlier=(datetime(2026, 11, 1, 12),))
