"""The synthetic day at the front door: repeatable, in a county's proportions, valid under every
pure check the pipeline makes, and answered by the staff as the staff application would.

The day is run through the pipeline's pure steps (intake triage, identification, routing) in
memory, as the workers would run them on the broker, so the counts the contents promise can be
held against what the pipeline makes of the events. No broker: the whole file takes seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from connectors.delivery.channels import DEFAULT_CHANNELS_FILE
from connectors.demo_day import (
    CLOSED_SCHOOL,
    CONTACT_AGENCY_WEIGHTS,
    SCHOOL_NAMES,
    THIN_FORCE,
    THOROUGH_FORCE,
    DemoDay,
    demo_day,
    duty_alert_acknowledgement,
    staff_decision,
    staff_rng,
    strategy_discussion_events,
)
from connectors.generator import GeneratedEvent
from connectors.partner_keys import PARTNER_PATTERN, authorize
from connectors.staff.security import can_decide
from connectors.store import ApiKeyRecord
from schemas.models import (
    PARTNER_EVENT_MODELS,
    AcknowledgedVia,
    Agency,
    ChildMatch,
    ConsentEvent,
    Contact,
    DiscussionStatus,
    DutyTeamAlert,
    EventType,
    IncidentType,
    InformationRequest,
    MatchKind,
    NextStep,
    PoliceNotification,
    Queue,
    RequestReason,
    StrategyDiscussion,
    ThresholdDecision,
    WorkItem,
)
from schemas.quality import data_quality_issues, nhs_number_is_valid
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.domestic_abuse import load_recipients
from streams.decisions.history import ChildHistory, stored_history
from streams.decisions.identification import identify
from streams.decisions.ids import derived_id
from streams.decisions.intake import PartnerEvent, triage
from streams.decisions.requests import addressed_agency
from streams.decisions.routing import route_child_event
from streams.decisions.rules import (
    DEFAULT_RULES_FILE,
    load_rules,
    load_school_calendar,
    missing_information,
)
from streams.decisions.schools import load_directory, load_safeguarding_leads
from streams.decisions.strategy import child_has_school, discussion_problems, missing_agencies
from streams.decisions.threshold import decision_problems
from streams.platform.codec import AvroCodec
from streams.platform.registry import EmbeddedSchemaRegistry

#: A Wednesday in term, 18:00: the day runs from Tuesday's evening through Wednesday's office.
END = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
SEED = 1
RULES = load_rules(DEFAULT_RULES_FILE)
OFFICE: OfficeCalendar = RULES.office_calendar()
DIRECTORY = load_directory()
CODEC = AvroCodec(EmbeddedSchemaRegistry())

#: The agency each sender's partner key is issued for, by the sender code's first part.
AGENCY_OF_SENDER = {
    "police": Agency.POLICE,
    "school": Agency.EDUCATION,
    "health": Agency.HEALTH,
    "la": Agency.LOCAL_AUTHORITY,
    "public": Agency.PUBLIC,
    "anonymous": Agency.ANONYMOUS,
    "housing": Agency.HOUSING,
    "probation": Agency.PROBATION,
    "vcs": Agency.VOLUNTARY_SECTOR,
}


@dataclass
class PipelineRun:
    """What the pipeline's pure steps made of a day."""

    requests: list[InformationRequest] = field(default_factory=list)
    matches: list[ChildMatch] = field(default_factory=list)
    work_items: list[WorkItem] = field(default_factory=list)
    alerts: list[DutyTeamAlert] = field(default_factory=list)

    def items_on(self, *queues: Queue) -> list[WorkItem]:
        return [item for item in self.work_items if item.queue in queues]


def run_pipeline(day: DemoDay) -> PipelineRun:
    """Intake, identification and routing of every message of ``day``, in order, each at its
    received time, with the worker's tables as dictionaries."""
    recipients = load_recipients(RULES)
    index: dict[str, Any] = {}
    histories: dict[str, ChildHistory] = {}
    run = PipelineRun()
    for offset, generated in enumerate(day.events):
        now = _received(generated)
        message = InboundMessage(
            topic=f"intake.{generated.event_type.value}",
            partition=0,
            offset=offset,
            key=None,
            value=CODEC.encode(generated.event),
            headers={SENDER_HEADER: generated.sender.encode()},
        )
        outcome = triage(
            message,
            event_type=generated.event_type,
            decode=_decoder(generated.event_type),
            now=now,
            known_urns=DIRECTORY,
        )
        assert outcome.dead_letter is None, outcome.dead_letter
        assert outcome.accepted is not None
        run.requests.extend([outcome.information_request] if outcome.information_request else [])
        identified = identify(outcome.accepted, index, RULES, now)
        index.update(identified.index_updates)
        run.requests.extend(
            [identified.information_request] if identified.information_request else []
        )
        for child_event in identified.child_events:
            key = child_event.match.child_key
            routed = route_child_event(
                child_event,
                histories.get(key) or stored_history(None, key),
                RULES,
                OFFICE,
                now,
                recipients=recipients,
            )
            if routed.history is not None:
                histories[key] = routed.history
            if routed.outputs:
                run.matches.append(child_event.match)
            run.work_items.extend(o for o in routed.outputs if isinstance(o, WorkItem))
            run.alerts.extend(o for o in routed.outputs if isinstance(o, DutyTeamAlert))
    return run


def _decoder(event_type: EventType) -> Callable[[bytes | None], PartnerEvent]:
    """The intake agent's decoder for ``event_type``'s topic."""
    model = PARTNER_EVENT_MODELS[event_type]

    def decode(data: bytes | None) -> PartnerEvent:
        event = CODEC.decode(data, model)
        assert isinstance(event, Contact | PoliceNotification | ConsentEvent)
        return event

    return decode


def _partner_event(generated: GeneratedEvent) -> PartnerEvent:
    event = generated.event
    assert isinstance(event, Contact | PoliceNotification | ConsentEvent)
    return event


def _received(generated: GeneratedEvent) -> datetime:
    return _partner_event(generated).received_at


def _distinct(day: DemoDay) -> list[GeneratedEvent]:
    """Each event once, however often it was published."""
    return list({g.event.event_id: g for g in day.events}.values())


@pytest.fixture(scope="module")
def one_day() -> DemoDay:
    return demo_day(SEED, END)


@pytest.fixture(scope="module")
def three_days() -> DemoDay:
    return demo_day(SEED, END, days=3)


@pytest.fixture(scope="module")
def three_day_run(three_days: DemoDay) -> PipelineRun:
    return run_pipeline(three_days)


# ---------------------------------------------------------------------------------------------
# Repeatable.


def test_the_same_seed_gives_the_same_day_byte_for_byte() -> None:
    first, second = demo_day(7, END).events, demo_day(7, END).events

    def dumped(events: Sequence[GeneratedEvent]) -> list[tuple[str, str, str]]:
        return [(g.event_type.value, g.sender, g.event.model_dump_json()) for g in events]

    assert dumped(first) == dumped(second)
    assert dumped(first) != dumped(demo_day(8, END).events)


def test_the_last_of_three_days_is_the_one_day_run(one_day: DemoDay, three_days: DemoDay) -> None:
    last_day = [g for g in three_days.events if _received(g) >= END - timedelta(days=1)]
    assert last_day == list(one_day.events)


# ---------------------------------------------------------------------------------------------
# A county's proportions.


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_day_has_a_countys_volumes(seed: int) -> None:
    contents = demo_day(seed, END).contents
    by_type = contents.events_by_type
    assert 135 <= by_type[EventType.CONTACT] <= 165
    assert 25 <= contents.domestic_abuse_notifications <= 30
    assert 38 <= contents.domestic_abuse_children <= 62
    assert 8 <= by_type[EventType.CONSENT_EVENT] <= 16
    assert 3 <= len(contents.duplicated_event_ids) <= 5
    assert 3 <= len(contents.second_agency_event_ids) <= 5
    assert 2 <= len(contents.immediate_risk_out_of_hours_event_ids) <= 4
    assert len(contents.slow_acknowledgement_event_ids) == 1
    assert len(contents.late_event_ids) == 1
    assert contents.typo_event_ids
    assert contents.repeat_household_event_ids
    assert set(contents.contacts_by_agency) == set(Agency)
    partner_events = by_type[EventType.CONTACT] + by_type[EventType.POLICE_NOTIFICATION]
    assert 0.12 <= len(contents.incomplete_event_ids) / partner_events <= 0.3


def test_contacts_come_mostly_in_office_hours_and_incidents_mostly_at_night(
    one_day: DemoDay,
) -> None:
    contacts = [g.event for g in _distinct(one_day) if isinstance(g.event, Contact)]
    in_hours = [c for c in contacts if OFFICE.is_open(c.received_at)]
    assert 0.75 <= len(in_hours) / len(contacts) < 1
    incidents = [
        n.occurred_at
        for g in _distinct(one_day)
        if isinstance(n := g.event, PoliceNotification) and n.occurred_at is not None
    ]
    assert sum(OFFICE.out_of_hours(at) for at in incidents) / len(incidents) >= 0.7


def test_over_three_days_agencies_refer_in_their_shares_and_households_come_back(
    one_day: DemoDay, three_days: DemoDay
) -> None:
    by_agency = three_days.contents.contacts_by_agency
    contacts = sum(by_agency.values())
    total_weight = sum(CONTACT_AGENCY_WEIGHTS.values())
    for agency, weight in CONTACT_AGENCY_WEIGHTS.items():
        assert abs(by_agency[agency] / contacts - weight / total_weight) <= 0.05, agency
    repeat_share = len(three_days.contents.repeat_household_event_ids) / len(_distinct(three_days))
    one_day_share = len(one_day.contents.repeat_household_event_ids) / len(_distinct(one_day))
    assert repeat_share > one_day_share


def test_one_force_is_thinner_than_the_other(three_days: DemoDay) -> None:
    incomplete = three_days.contents.incomplete_event_ids

    def thin_share(sender: str) -> float:
        sent = [
            g.event.event_id
            for g in _distinct(three_days)
            if g.sender == sender and g.event_type is EventType.POLICE_NOTIFICATION
        ]
        return sum(i in incomplete for i in sent) / len(sent)

    assert thin_share(THIN_FORCE.sender) > thin_share(THOROUGH_FORCE.sender) + 0.1


# ---------------------------------------------------------------------------------------------
# Timed inside the window, with the late ones late on purpose.


def test_events_are_in_order_inside_the_window_and_duplicates_follow_their_original(
    three_days: DemoDay,
) -> None:
    times = [_received(g) for g in three_days.events]
    assert times == sorted(times)
    assert three_days.contents.start <= times[0]
    assert times[-1] <= END
    published = Counter(g.event.event_id for g in three_days.events)
    assert {i for i, n in published.items() if n > 1} == three_days.contents.duplicated_event_ids
    assert max(published.values()) == 2
    for first, second in zip(three_days.events, three_days.events[1:], strict=False):
        if first.event.event_id == second.event.event_id:
            assert first == second


def test_the_late_notification_misses_the_schools_deadline(three_days: DemoDay) -> None:
    school_days = load_school_calendar(RULES)
    for generated in _distinct(three_days):
        event = generated.event
        if not isinstance(event, PoliceNotification) or event.occurred_at is None:
            continue
        deadline = school_days.next_school_day_start(event.occurred_at)
        late = event.event_id in three_days.contents.late_event_ids
        assert late == (event.received_at - event.occurred_at > timedelta(days=2))
        if late:
            assert event.received_at > deadline
            assert generated.sender == THIN_FORCE.sender


# ---------------------------------------------------------------------------------------------
# Valid under every pure check, and incomplete exactly where meant to be.


def test_every_event_is_a_valid_contract_a_partner_key_would_let_through(
    three_days: DemoDay,
) -> None:
    for generated in _distinct(three_days):
        event = _partner_event(generated)
        assert PARTNER_PATTERN.fullmatch(generated.sender)
        model = PARTNER_EVENT_MODELS[generated.event_type]
        assert CODEC.decode(CODEC.encode(event), model) == event
        key = ApiKeyRecord(
            key_id="demo",
            partner=generated.sender,
            agency=AGENCY_OF_SENDER[generated.sender.split(".")[0]].value,
            event_types=tuple(kind.value for kind in EventType),
            secret_hash="",
            created_at=END,
        )
        authorize(key, generated.event_type, event)


def test_data_quality_problems_are_only_the_stale_schools(three_days: DemoDay) -> None:
    flagged = {
        g.event.event_id for g in _distinct(three_days) if data_quality_issues(g.event, DIRECTORY)
    }
    assert flagged == three_days.contents.stale_school_event_ids


def test_only_the_deliberately_incomplete_events_lack_what_the_rules_require(
    three_days: DemoDay,
) -> None:
    lacking = set()
    for generated in _distinct(three_days):
        event = _partner_event(generated)
        if missing_information(RULES, event):
            lacking.add(event.event_id)
    assert lacking == three_days.contents.incomplete_event_ids


def test_children_are_synthetic_and_their_schools_are_the_directorys(
    three_days: DemoDay,
) -> None:
    leads = load_safeguarding_leads()
    assert set(SCHOOL_NAMES) == set(DIRECTORY.schools) & set(leads)
    assert CLOSED_SCHOOL in DIRECTORY.closed
    for urn, name in SCHOOL_NAMES.items():
        assert DIRECTORY.schools[urn].name == name
    for generated in _distinct(three_days):
        event = _partner_event(generated)
        for child in event.children:
            assert child.nhs_number is None or (
                nhs_number_is_valid(child.nhs_number) and child.nhs_number.startswith("999")
            )
            assert child.school_urn in {None, CLOSED_SCHOOL, *SCHOOL_NAMES}
            assert child.address is None or (child.address.postcode or "").startswith("ZZ")
        if generated.sender.startswith("school."):
            assert isinstance(event, Contact | ConsentEvent)
            assert generated.sender.removeprefix("school.") in SCHOOL_NAMES


def test_the_partners_with_their_own_channels_send_events(three_days: DemoDay) -> None:
    channels = yaml.safe_load(DEFAULT_CHANNELS_FILE.read_text(encoding="utf-8"))
    senders = {g.sender for g in three_days.events}
    assert set(channels["partners"]) <= senders


# ---------------------------------------------------------------------------------------------
# What the pipeline makes of the day.


def test_the_pipeline_absorbs_duplicates_and_pages_the_duty_team_as_promised(
    one_day: DemoDay,
) -> None:
    run = run_pipeline(one_day)
    contents = one_day.contents
    ids = [item.event_id for item in run.work_items]
    assert len(ids) == len(set(ids))  # a duplicate made no second work item
    assert len(run.alerts) == contents.duty_team_alerts_expected
    assert {a.source_event_id for a in run.alerts} == contents.immediate_risk_out_of_hours_event_ids
    assert len(run.items_on(Queue.MASH, Queue.EARLY_HELP)) == contents.children_routed
    requests = {r.event_id: r for r in run.requests}.values()  # a redelivery asks once
    assert Counter(r.addressed_to_agency for r in requests) == contents.information_requests
    asked = {
        r.about_event_id for r in run.requests if r.reason is RequestReason.MISSING_INFORMATION
    }
    assert asked == contents.incomplete_event_ids
    corrected = {r.about_event_id for r in run.requests if r.reason is RequestReason.DATA_QUALITY}
    assert corrected == contents.stale_school_event_ids


def test_typos_and_repeat_households_give_identity_matching_work(
    three_day_run: PipelineRun,
) -> None:
    kinds = Counter(match.kind for match in three_day_run.matches)
    assert kinds[MatchKind.POSSIBLE] > 0
    assert kinds[MatchKind.CONFIRMED] > kinds[MatchKind.POSSIBLE]
    re_referred = [i for i in three_day_run.work_items if i.history.previous_events]
    assert len(re_referred) >= 0.1 * len(three_day_run.work_items)


# ---------------------------------------------------------------------------------------------
# The staff's part.


def _decisions(run: PipelineRun) -> list[tuple[WorkItem, ThresholdDecision | None]]:
    return [
        (item, staff_decision(item, staff_rng(SEED, item.event_id), RULES, end=END))
        for item in run.items_on(Queue.MASH, Queue.EARLY_HELP)
    ]


def test_every_staff_decision_is_one_the_staff_application_would_record(
    three_day_run: PipelineRun,
) -> None:
    from connectors.staff.service import DEMO_USERS  # noqa: PLC0415 - the web app, only here

    accounts = {username: role for username, _, role in DEMO_USERS}
    decided = [(item, d) for item, d in _decisions(three_day_run) if d is not None]
    for item, decision in decided:
        assert decision_problems(decision, RULES.decisions.minimum_rationale_words) == []
        assert accounts[decision.decided_by] is decision.decided_by_role
        assert can_decide(decision.decided_by_role, item.queue)
        assert item.received_at <= decision.decided_at <= END
        assert OFFICE.is_open(decision.decided_at)
        assert decision.event_id == derived_id("dec", item.event_id)
        assert (decision.work_item_id, decision.child_key) == (item.event_id, item.child_key)
    assert {d.next_step for _, d in decided} == set(NextStep)
    # Of the items due before the end, some were decided late and some still wait, overdue.
    items = three_day_run.items_on(Queue.MASH, Queue.EARLY_HELP)
    due = [item for item in items if item.decision_due_at < END]
    on_time = [d for item, d in decided if d.decided_at <= item.decision_due_at < END]
    late = [d for item, d in decided if item.decision_due_at < d.decided_at]
    assert 0.05 <= len(late) / len(due) <= 0.2
    assert len(due) > len(on_time) + len(late)


def test_decisions_do_not_depend_on_the_order_items_come_out_in(
    three_day_run: PipelineRun,
) -> None:
    forwards = _decisions(three_day_run)
    backwards = [
        (item, staff_decision(item, staff_rng(SEED, item.event_id), RULES, end=END))
        for item in reversed(three_day_run.items_on(Queue.MASH, Queue.EARLY_HELP))
    ]
    assert forwards == list(reversed(backwards))


def test_strategy_discussions_are_recorded_as_the_staff_application_records_them(
    three_day_run: PipelineRun,
) -> None:
    discussions: list[tuple[WorkItem, ThresholdDecision, list[StrategyDiscussion]]] = []
    for item, decision in _decisions(three_day_run):
        if decision is None:
            continue
        events = strategy_discussion_events(
            decision, item, staff_rng(SEED, decision.event_id), RULES, end=END
        )
        if decision.level != 4 and decision.next_step is not NextStep.STRATEGY_DISCUSSION:
            assert events == []
        elif events:
            discussions.append((item, decision, events))
    assert discussions
    held = []
    for item, decision, events in discussions:
        assert events[0].status is DiscussionStatus.CONVENED
        assert {e.discussion_id for e in events} == {derived_id("discussion", item.event_id)}
        for event in events:
            assert discussion_problems(event, RULES.decisions.minimum_rationale_words) == []
            assert decision.decided_at < event.at <= END
            assert event.decision_id == decision.event_id
        for event in events[1:]:
            assert event.status is not DiscussionStatus.CONVENED
            if event.status is DiscussionStatus.HELD:
                has_school = child_has_school(item.child)
                assert event.missing_agencies == missing_agencies(event.attendees, has_school)
                held.append((decision, event))
    assert any(event.missing_agencies for _, event in held)
    due = timedelta(hours=RULES.decisions.strategy_discussion_due_hours)
    late = [event for decision, event in held if event.at > decision.decided_at + due]
    assert 0 < len(late) < len(held) / 2


def test_the_duty_team_acknowledges_within_minutes_but_not_always(
    three_days: DemoDay, three_day_run: PipelineRun
) -> None:
    slow_sources = three_days.contents.slow_acknowledgement_event_ids
    limit = timedelta(minutes=RULES.decisions.duty_alert_acknowledge_minutes)
    slow_seen = 0
    for alert in three_day_run.alerts:
        slow = alert.source_event_id in slow_sources
        ack = duty_alert_acknowledgement(alert, staff_rng(SEED, alert.event_id), RULES, slow=slow)
        assert ack.event_id == derived_id(
            "alert-acknowledgement", alert.event_id, ack.acknowledged_by
        )
        assert (ack.alert_id, ack.work_item_id, ack.child_key) == (
            alert.event_id,
            alert.work_item_id,
            alert.child_key,
        )
        assert (ack.via is AcknowledgedVia.EMAIL_LINK) == (ack.acknowledged_by == "duty_team")
        assert (ack.acknowledged_at - alert.raised_at > limit) == slow
        slow_seen += slow
    assert 0 < slow_seen < len(three_day_run.alerts)


# ---------------------------------------------------------------------------------------------
# The contents say what the events are.


def test_the_contents_agree_with_the_events(three_days: DemoDay) -> None:
    contents = three_days.contents
    distinct = _distinct(three_days)
    assert contents.published == len(three_days.events)
    assert len(three_days.events) - len(distinct) == len(contents.duplicated_event_ids)
    assert contents.events_by_type == Counter(g.event_type for g in distinct)
    assert contents.events_by_sender == Counter(g.sender for g in distinct)
    contacts = [g.event for g in distinct if isinstance(g.event, Contact)]
    assert contents.contacts_by_agency == Counter(c.referrer.agency for c in contacts)
    assert contents.events_in == {
        agency: Counter(g.event_type for g in distinct if addressed_agency(g.event) is agency)
        for agency in {addressed_agency(g.event) for g in distinct}
    }
    assert contents.children_routed == sum(
        len(_partner_event(g).children)
        for g in distinct
        if g.event_type is not EventType.CONSENT_EVENT
    )
    notifications = [
        g.event
        for g in distinct
        if isinstance(g.event, PoliceNotification)
        and g.event.incident_type is IncidentType.DOMESTIC_ABUSE
    ]
    assert contents.domestic_abuse_notifications == len(notifications)
    assert contents.domestic_abuse_children == sum(len(n.children) for n in notifications)
    immediate = {c.event_id: c for c in contacts if c.immediate_risk}
    out_of_hours = {i for i, c in immediate.items() if OFFICE.out_of_hours(c.received_at)}
    assert contents.immediate_risk_out_of_hours_event_ids == out_of_hours
    assert contents.immediate_risk_in_hours_event_ids == set(immediate) - out_of_hours
    assert contents.duty_team_alerts_expected == sum(
        len(immediate[i].children) for i in out_of_hours
    )
    assert contents.slow_acknowledgement_event_ids <= out_of_hours
    consents = [g.event for g in distinct if isinstance(g.event, ConsentEvent)]
    earlier = {c.event_id: c.received_at for c in contacts}
    assert all(earlier[c.contact_event_id] <= c.decided_at <= c.received_at for c in consents)
