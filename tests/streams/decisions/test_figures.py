"""The dashboard's figures, on a hand-made day whose every figure is worked out by hand.

Tuesday 8 December 2026, a working day and a school day (Europe/London is on GMT): police
notifications and contacts reach the MASH, early help and, overnight, the duty team; decisions
are made (one exactly at its due time, one late, one revised), strategy discussions held on time,
late, decided against by a team manager or wrongly by a MASH worker; schools are told before the
school day, after retries, late or not at all. A few events of the days before and one after
``NOW`` show what a period leaves out. Ids and codes are made up; no names at all.

The expected values are in each test, with the reasoning beside them; the staff application's
tests (store, pages and browser) use the same day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.models import (
    Agency,
    Child,
    ChildMatch,
    DeliveryChannel,
    DeliveryState,
    DeliveryStatus,
    DiscussionStatus,
    DutyTeamAlert,
    Event,
    EventType,
    HistorySummary,
    MatchKind,
    NextStep,
    NotificationRecipient,
    Priority,
    Queue,
    RationaleEntry,
    RequestedItem,
    SchoolNotification,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    WorkItem,
)
from streams.decisions.figures import (
    AgencyAttendance,
    Dashboard,
    DashboardEvents,
    DayCount,
    DayShare,
    ForceCompleteness,
    MissingCount,
    Period,
    QueueAge,
    Share,
    dashboard,
    recent_days,
)
from streams.decisions.ids import derived_id
from streams.decisions.rules import load_rules, load_school_calendar
from streams.decisions.strategy import child_has_school, held_discussion

LONDON = ZoneInfo("Europe/London")
RULES = load_rules()
CALENDAR = RULES.office_calendar()
SCHOOLS = load_school_calendar(RULES)
TUESDAY = date(2026, 12, 8)
MONDAY = date(2026, 12, 7)
REASONS = "Synthetic reasons of substance for this decision, written in full for the hand-made day."


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in December 2026, London."""
    return datetime(2026, 12, day, hour, minute, tzinfo=LONDON)


#: Tuesday evening: the dashboard is read now.
NOW = at(8, 20)
#: Tuesday so far.
DAY = recent_days(NOW, 1, CALENDAR.timezone)


def missing(*codes: str) -> list[RequestedItem]:
    return [
        RequestedItem(field=code.lower(), code=code, message=f"{code} is missing") for code in codes
    ]


def item(
    name: str,
    queue: Queue,
    received: datetime,
    *,
    sender: str,
    source: str,
    police: bool = False,
    re_referral: bool = False,
    lacking: list[RequestedItem] | None = None,
    school: bool = True,
) -> WorkItem:
    """A work item as routing makes it, due when the office calendar says (at once on the duty
    team's queue)."""
    child_key = f"ck-day-{name.split('-', maxsplit=1)[0]}"
    due = received if queue is Queue.DUTY_TEAM else CALENDAR.decision_due(received, urgent=False)
    return WorkItem(
        event_id=f"wi-day-{name}",
        queue=queue,
        source_event_id=source,
        source_event_type=EventType.POLICE_NOTIFICATION if police else EventType.CONTACT,
        sender=sender,
        child_key=child_key,
        match=ChildMatch(child_key=child_key, kind=MatchKind.NEW, score=0.0, reason="new child"),
        child=Child(school_urn="990001" if school else None),
        level=3,
        priority=Priority.AMBER,
        rationale=[
            RationaleEntry(rule="synthetic", description="A made-up rule.", evidence="made up")
        ],
        received_at=received,
        decision_due_at=due,
        out_of_hours=CALENDAR.out_of_hours(received),
        history=HistorySummary(re_referral=re_referral, referrals_12m=int(re_referral)),
        missing_information=lacking or [],
        routed_at=received,
    )


def decision(
    work_item: WorkItem,
    name: str,
    decided: datetime,
    next_step: NextStep,
    *,
    level: int = 3,
    revises: str | None = None,
) -> ThresholdDecision:
    return ThresholdDecision(
        event_id=f"dec-day-{name}",
        work_item_id=work_item.event_id,
        child_key=work_item.child_key,
        source_event_id=work_item.source_event_id,
        queue=work_item.queue,
        level=level,
        next_step=next_step,
        rationale=REASONS,
        decided_by="mw.synthetic",
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=decided,
        revises=revises,
    )


def discussion(
    work_item: WorkItem,
    required_by: ThresholdDecision,
    name: str,
    status: DiscussionStatus,
    moment: datetime,
    *,
    role: StaffRole = StaffRole.TEAM_MANAGER,
    attendees: tuple[Agency, ...] = (),
    invitees: tuple[Agency, ...] = (),
) -> StrategyDiscussion:
    """A discussion as the staff application records it (missing agencies flagged)."""
    recorded = StrategyDiscussion(
        event_id=f"sd-day-{name}",
        discussion_id=derived_id("discussion", work_item.event_id),
        decision_id=required_by.event_id,
        work_item_id=work_item.event_id,
        child_key=work_item.child_key,
        status=status,
        at=moment,
        recorded_by="tm.synthetic",
        recorded_by_role=role,
        invitees=list(invitees),
        attendees=list(attendees),
        section_47=False if status is DiscussionStatus.HELD else None,
        rationale=REASONS,
    )
    return held_discussion(recorded, child_has_school(work_item.child))


def duty_alert(name: str, work_item_id: str, raised: datetime) -> DutyTeamAlert:
    return DutyTeamAlert(
        event_id=f"alert-day-{name}",
        work_item_id=work_item_id,
        source_event_id=f"src-day-{name}",
        child_key=f"ck-day-{name}",
        priority=Priority.RED,
        reason="Immediate risk outside office hours",
        rationale=[RationaleEntry(rule="immediate-risk", description="At risk.", evidence="x")],
        received_at=raised,
        raised_at=raised,
    )


def school_notice(name: str, incident: datetime) -> SchoolNotification:
    """A school notification due, as routing says, before the next school day's start."""
    return SchoolNotification(
        event_id=f"sn-day-{name}",
        about_event_id=f"pn-day-{name}",
        child_key=f"ck-day-{name}",
        recipient=NotificationRecipient.SCHOOL,
        school_urn="990001",
        due_by=SCHOOLS.next_school_day_start(incident),
        rule="school",
        created_at=incident,
    )


def attempt(
    notice: SchoolNotification, number: int, state: DeliveryState, moment: datetime
) -> DeliveryStatus:
    return DeliveryStatus(
        event_id=derived_id("delivery", notice.event_id, str(number)),
        message_id=notice.event_id,
        message_type="SchoolNotification",
        child_key=notice.child_key,
        recipient="school:990001",
        channel=DeliveryChannel.EMAIL,
        address="dsl@school-990001.example.org",
        attempt=number,
        state=state,
        error_code="SMTP-451" if state is not DeliveryState.DELIVERED else None,
        at=moment,
    )


def hand_made_day() -> list[Event]:
    """Tuesday 8 December 2026 (and what came before it that the figures must leave out)."""
    synthetic, thames = "police.synthetic", "police.thames"
    school, other_school, gp = "school.990001", "school.990002", "gp.synthetic"
    # MASH items. A and E: two children of one police notification, missing a school.
    a = item(
        "a",
        Queue.MASH,
        at(8, 9),
        sender=synthetic,
        source="pn-day-01",
        police=True,
        lacking=missing("MI-SCHOOL-OR-SETTING"),
    )
    e = item(
        "e",
        Queue.MASH,
        at(8, 9),
        sender=synthetic,
        source="pn-day-01",
        police=True,
        lacking=missing("MI-SCHOOL-OR-SETTING"),
    )
    # B: received Monday 10:00, due Tuesday 10:00, decided at exactly 10:00.
    b = item("b", Queue.MASH, at(7, 10), sender=school, source="ct-day-01")
    # C: received Friday 16:45, in the urgent-only half hour, so due Tuesday 08:30; no school.
    c = item(
        "c",
        Queue.MASH,
        at(4, 16, 45),
        sender=synthetic,
        source="pn-day-02",
        police=True,
        lacking=missing("MI-DATE-OF-BIRTH"),
        school=False,
    )
    # D: before the opening, due Wednesday 08:30; still waiting.
    d = item(
        "d",
        Queue.MASH,
        at(8, 8),
        sender=thames,
        source="pn-day-03",
        police=True,
        lacking=missing("MI-DATE-OF-BIRTH", "MI-WHETHER-SPOKEN-TO"),
    )
    # F: out of hours, a re-referral, still waiting. G: waiting since last Thursday.
    f = item("f", Queue.MASH, at(8, 19), sender=gp, source="ct-day-02", re_referral=True)
    g = item("g", Queue.MASH, at(3, 10), sender=school, source="ct-day-03")
    # H and J decided on Monday at level 4; I and K on Tuesday.
    h = item("h", Queue.MASH, at(7, 9), sender=other_school, source="ct-day-04")
    i = item("i", Queue.MASH, at(8, 9, 30), sender="health.synthetic", source="ct-day-05")
    j = item("j", Queue.MASH, at(7, 9, 30), sender=school, source="ct-day-06")
    k = item("k", Queue.MASH, at(8, 8, 45), sender="health.synthetic", source="ct-day-07")
    # Early help: L decided, M and R (a complete police notification) waiting.
    el = item("l", Queue.EARLY_HELP, at(8, 10), sender=school, source="ct-day-08")
    m = item("m", Queue.EARLY_HELP, at(8, 11), sender=other_school, source="ct-day-09")
    r = item(
        "r", Queue.EARLY_HELP, at(8, 12, 30), sender=synthetic, source="pn-day-05", police=True
    )
    # N: a police notification at 02:10, a re-referral at immediate risk: a duty-team item and
    # alert, and a MASH item whose clock starts at the opening. O: the same at 18:20, a contact.
    n_duty = item(
        "n-duty",
        Queue.DUTY_TEAM,
        at(8, 2, 10),
        sender=synthetic,
        source="pn-day-04",
        police=True,
        re_referral=True,
    )
    n_mash = item(
        "n-mash",
        Queue.MASH,
        at(8, 2, 10),
        sender=synthetic,
        source="pn-day-04",
        police=True,
        re_referral=True,
    )
    o_duty = item(
        "o-duty", Queue.DUTY_TEAM, at(8, 18, 20), sender="public.synthetic", source="ct-day-10"
    )
    o_mash = item(
        "o-mash", Queue.MASH, at(8, 18, 20), sender="public.synthetic", source="ct-day-10"
    )
    # Q: after NOW.
    q = item("q", Queue.MASH, at(8, 20, 30), sender=school, source="ct-day-11")

    a1 = decision(a, "a1", at(8, 15), NextStep.CHILD_IN_NEED_ASSESSMENT)
    a2 = decision(a, "a2", at(8, 16), NextStep.EARLY_HELP, level=2, revises=a1.event_id)
    c1 = decision(c, "c", at(8, 11), NextStep.STRATEGY_DISCUSSION, level=4)
    h1 = decision(h, "h", at(7, 14), NextStep.STRATEGY_DISCUSSION, level=4)
    i1 = decision(i, "i", at(8, 13), NextStep.STRATEGY_DISCUSSION, level=4)
    j1 = decision(j, "j", at(7, 12), NextStep.STRATEGY_DISCUSSION, level=4)
    k1 = decision(k, "k", at(8, 10, 30), NextStep.STRATEGY_DISCUSSION, level=4)
    decisions = [
        a1,
        a2,
        decision(b, "b", at(8, 10), NextStep.ADVICE_AND_SIGNPOSTING, level=1),
        c1,
        decision(e, "e", at(8, 12), NextStep.EARLY_HELP, level=2),
        h1,
        i1,
        j1,
        k1,
        decision(el, "l", at(8, 16, 30), NextStep.EARLY_HELP, level=2),
        decision(n_duty, "n-duty", at(8, 2, 40), NextStep.CHILD_IN_NEED_ASSESSMENT),
        decision(n_mash, "n-mash", at(8, 9, 15), NextStep.CHILD_IN_NEED_ASSESSMENT),
    ]
    everyone = (Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH)
    discussions = [
        discussion(c, c1, "c", DiscussionStatus.HELD, at(8, 14), attendees=everyone),
        discussion(
            h,
            h1,
            "h",
            DiscussionStatus.HELD,
            at(8, 15),
            attendees=(Agency.LOCAL_AUTHORITY, Agency.HEALTH, Agency.EDUCATION),
        ),
        discussion(i, i1, "i", DiscussionStatus.CONVENED, at(8, 14, 30), invitees=everyone),
        discussion(j, j1, "j", DiscussionStatus.NOT_HELD, at(8, 13), role=StaffRole.MASH_WORKER),
        discussion(k, k1, "k", DiscussionStatus.NOT_HELD, at(8, 17)),
    ]
    alerts = [
        duty_alert("n", n_duty.event_id, at(8, 2, 11)),
        duty_alert("t", "wi-day-t-duty", at(8, 2, 55)),
        duty_alert("o", o_duty.event_id, at(8, 18, 21)),
        duty_alert("p", "wi-day-p-duty", at(7, 23, 30)),
    ]
    told_after_retries = school_notice("04", at(8, 2, 10))
    told_late = school_notice("06", at(7, 21))
    never_told = school_notice("07", at(7, 22))
    told_on_the_dot = school_notice("08", at(7, 18))
    due_tomorrow = school_notice("01", at(8, 9))
    deliveries = [
        attempt(told_after_retries, 1, DeliveryState.RETRYING, at(8, 2, 20)),
        attempt(told_after_retries, 2, DeliveryState.RETRYING, at(8, 2, 25)),
        attempt(told_after_retries, 3, DeliveryState.DELIVERED, at(8, 2, 45)),
        attempt(told_late, 1, DeliveryState.DELIVERED, at(8, 8, 31)),
        attempt(never_told, 1, DeliveryState.RETRYING, at(7, 22, 5)),
        attempt(never_told, 2, DeliveryState.FAILED, at(7, 23)),
        attempt(told_on_the_dot, 1, DeliveryState.DELIVERED, at(8, 8, 30)),
        attempt(due_tomorrow, 1, DeliveryState.DELIVERED, at(8, 9, 5)),
    ]
    items = [a, b, c, d, e, f, g, h, i, j, k, el, m, r, n_duty, n_mash, o_duty, o_mash, q]
    notices = [told_after_retries, told_late, never_told, told_on_the_dot, due_tomorrow]
    return [*items, *decisions, *discussions, *alerts, *notices, *deliveries]


def figures_of(events: list[Event], period: Period = DAY, now: datetime = NOW) -> Dashboard:
    return dashboard(DashboardEvents.of(events), period, now, RULES.decisions, CALENDAR)


@pytest.fixture(scope="module")
def tuesday() -> Dashboard:
    return figures_of(hand_made_day())


def test_the_queues_at_now_count_what_waits_in_age_bands(tuesday: Dashboard) -> None:
    assert tuesday.queues == (
        # M since 11:00 (9 h), R since 12:30 (7 h 30): both due tomorrow.
        QueueAge(Queue.EARLY_HELP, 2, (1, 1, 0, 0), overdue=0, oldest=timedelta(hours=9)),
        # F (1 h) and O (1 h 40) under 8 hours, D (12 h), and G since last Thursday, overdue;
        # Q comes after now.
        QueueAge(Queue.MASH, 4, (2, 1, 0, 1), overdue=1, oldest=timedelta(days=5, hours=10)),
        # O, due at once like every duty-team item; N was decided at 02:40.
        QueueAge(Queue.DUTY_TEAM, 1, (1, 0, 0, 0), overdue=1, oldest=timedelta(minutes=100)),
    )


def test_decisions_within_one_working_day_count_first_decisions_once(tuesday: Dashboard) -> None:
    # First decisions on Tuesday on MASH and early-help items: A (15:00, its 16:00 revision not
    # counted), B (10:00, exactly its due time: on time), C (11:00, due 08:30: late), E, I, K, L
    # and N's MASH item. H and J were decided on Monday; N's duty-team item is due at once.
    assert tuesday.decisions.on_time == Share(7, 8)
    assert tuesday.decisions.on_time.rounded_percent == 88  # 87.5, halves up
    assert tuesday.decisions.by_day == (DayShare(TUESDAY, Share(7, 8)),)


def test_the_decisions_trend_is_the_share_each_day() -> None:
    monday_and_tuesday = recent_days(NOW, 2, CALENDAR.timezone)
    figures = figures_of(hand_made_day(), monday_and_tuesday)
    # Monday: H (14:00, due Tuesday 09:00) and J (12:00, due Tuesday 09:30), both on time.
    assert figures.decisions.by_day == (
        DayShare(MONDAY, Share(2, 2)),
        DayShare(TUESDAY, Share(7, 8)),
    )
    assert figures.decisions.on_time == Share(9, 10)


def test_strategy_discussions_on_time_and_overdue(tuesday: Dashboard) -> None:
    # Recorded on Tuesday: C held at 14:00 (due Wednesday 11:00) and K decided against by a
    # team manager at 17:00 (due Wednesday 10:30), on time; H held at 15:00, due at 14:00: late.
    assert tuesday.strategy.on_time == Share(2, 3)
    # J's was due at noon; a MASH worker's "not held" stops nothing. I's is due tomorrow.
    assert tuesday.strategy.overdue == 1


def test_strategy_discussion_attendance_where_each_agency_was_required(
    tuesday: Dashboard,
) -> None:
    # Held on Tuesday: C (social care, police, health; the child has no school) and H (social
    # care, health and the school, without the police).
    assert tuesday.strategy.attendance == (
        AgencyAttendance(Agency.POLICE, Share(1, 2)),
        AgencyAttendance(Agency.HEALTH, Share(2, 2)),
        AgencyAttendance(Agency.EDUCATION, Share(1, 1)),
    )


def test_police_notifications_complete_per_force_counted_by_notification(
    tuesday: Dashboard,
) -> None:
    assert tuesday.police == (
        # pn-01 (two children, one notification) lacks a school; pn-04 (two work items) and
        # pn-05 are complete. pn-02 came on Friday.
        ForceCompleteness(
            "police.synthetic", Share(2, 3), (MissingCount("MI-SCHOOL-OR-SETTING", 1),)
        ),
        ForceCompleteness(
            "police.thames",
            Share(0, 1),
            (MissingCount("MI-DATE-OF-BIRTH", 1), MissingCount("MI-WHETHER-SPOKEN-TO", 1)),
        ),
    )
    assert tuesday.police[0].complete.rounded_percent == 67


def test_the_re_referral_rate_counts_each_child_of_each_referral_once(tuesday: Dashboard) -> None:
    # MASH and duty-team referrals on Tuesday before now: A, D, E, F, I, K, N (two items) and O
    # (two items); F and N are re-referrals. Early-help items are not referrals.
    assert tuesday.re_referrals == Share(2, 8)


def test_early_help_step_downs_count_the_standing_decision(tuesday: Dashboard) -> None:
    # MASH items decided on Tuesday: A (revised to early help), B, C, E (early help), I, K, N.
    # L's early help is the early-help queue's own decision, not a step down.
    assert tuesday.step_downs.early_help == Share(2, 7)
    assert tuesday.step_downs.by_day == (DayCount(TUESDAY, 2),)


def test_duty_alerts_by_local_hour(tuesday: Dashboard) -> None:
    expected = [0] * 24
    expected[2] = 2  # 02:11 and 02:55
    expected[18] = 1  # 18:21; Monday's 23:30 is another day
    assert tuesday.duty_alerts.by_hour == tuple(expected)
    assert tuesday.duty_alerts.total == 3


def test_duty_alerts_are_counted_in_the_hour_of_summer_time() -> None:
    half_past_midnight_bst = datetime(2026, 7, 1, 23, 30, tzinfo=ZoneInfo("UTC"))
    summer = Period(datetime(2026, 7, 1, tzinfo=LONDON), datetime(2026, 7, 3, tzinfo=LONDON))
    figures = figures_of(
        [duty_alert("summer", "wi-day-summer", half_past_midnight_bst)], summer, summer.end
    )
    assert figures.duty_alerts.by_hour[0] == 1


def test_school_notifications_delivered_before_the_school_day(tuesday: Dashboard) -> None:
    # Due at 08:30 on Tuesday: pn-04's, delivered at 02:45 after two retries, and pn-08's,
    # delivered at 08:30 exactly, on time; pn-06's at 08:31, late; pn-07's never. pn-01's is
    # due on Wednesday.
    school = tuesday.school_notifications
    assert school.before_school_day == Share(2, 4)
    assert (school.late, school.not_delivered) == (1, 1)


def test_events_delivered_twice_count_once(tuesday: Dashboard) -> None:
    day = hand_made_day()
    assert figures_of(day + day) == tuesday


def test_an_empty_period_has_no_figures_and_divides_by_nothing() -> None:
    # Sunday 29 November: before anything on the day happened.
    quiet = Period(datetime(2026, 11, 29, tzinfo=LONDON), datetime(2026, 11, 30, tzinfo=LONDON))
    figures = figures_of(hand_made_day(), quiet, quiet.end)
    assert all(queue.waiting == 0 and queue.oldest is None for queue in figures.queues)
    assert figures.decisions.on_time == Share(0, 0)
    assert figures.decisions.on_time.percent is None
    assert figures.decisions.on_time.rounded_percent is None
    assert figures.strategy.on_time == Share(0, 0)
    assert all(a.attended == Share(0, 0) for a in figures.strategy.attendance)
    assert figures.police == ()
    assert figures.re_referrals == Share(0, 0)
    assert figures.step_downs.early_help == Share(0, 0)
    assert figures.duty_alerts.total == 0
    assert figures.school_notifications.before_school_day == Share(0, 0)

    nothing = figures_of([], Period(NOW, NOW), NOW)
    assert nothing.decisions.by_day == ()
    assert nothing.step_downs.by_day == ()


def test_recent_days_are_whole_local_days_up_to_now() -> None:
    week = recent_days(NOW, 7, CALENDAR.timezone)
    assert week.start == at(2, 0)
    assert week.end == NOW
    assert week.days(CALENDAR.timezone)[0] == date(2026, 12, 2)
    assert len(week.days(CALENDAR.timezone)) == 7
    summer = recent_days(datetime(2026, 7, 1, 12, tzinfo=LONDON), 1, CALENDAR.timezone)
    assert summer.start == datetime(2026, 7, 1, tzinfo=LONDON)  # 23:00 UTC the day before


@pytest.mark.parametrize("days", [0, -1, True])
def test_a_period_of_no_days_is_refused(days: int) -> None:
    with pytest.raises(ValueError, match="days"):
        recent_days(NOW, days, CALENDAR.timezone)


def test_a_period_is_aware_and_in_order() -> None:
    with pytest.raises(ValueError, match="naive"):
        Period(datetime(2026, 12, 8), NOW)  # naive: refused
    with pytest.raises(ValueError, match="before it starts"):
        Period(NOW, NOW - timedelta(seconds=1))
    assert NOW - timedelta(microseconds=1) in DAY
    assert NOW not in DAY


def test_shares_round_halves_up() -> None:
    assert Share(1, 8).rounded_percent == 13  # 12.5
    assert Share(2, 7).rounded_percent == 29
    assert Share(0, 3).rounded_percent == 0
    assert Share(3, 3).rounded_percent == 100
