"""The daily multi-agency domestic-abuse meeting: its agenda, and the records it must make. Pure.

The inspection found a daily meeting that did not focus on each child or record actions. Here:

**The agenda.** On each working day (the office calendar's) at ``domestic_abuse.meeting_time``
(09:30), one :class:`~schemas.models.DomesticAbuseAgenda` lists every domestic-abuse
notification received since the previous meeting: the 24 hours before, or the whole weekend or
bank holiday. Routing sends one :class:`~schemas.models.AgendaItem` per child of each such
notification (:func:`agenda_item`), with what the meeting needs: age, school or setting, present
or not, the child's own words, history, information still missing, the MARAC flag and what was
sent to whom. Items are grouped by household (the children of one notification) on the agenda.

**None is lost.** An item routed after its window's agenda was published (routing was behind,
the worker was down) joins the next agenda, marked late. The state (one document) keeps the
items not yet on an agenda and the time of the last agenda published, so an agenda is published
once per meeting: a worker down at 09:30 publishes it when it comes back (on the next tick), and
one down for several meetings publishes one agenda that covers everything since the last, once.
A new deployment publishes no agenda for a meeting held before it started: its first event
only marks the latest meeting as the one before it, and its first agenda is the next meeting's,
with anything received earlier on it, marked late.

**Exactly once.** The agenda's id is derived from its meeting time (and its part: a long agenda
comes in parts of whole households, :data:`CHILDREN_PER_PART` children at most, so no message
outgrows the broker's limit); the ids of items already on an agenda are kept (for
:data:`KEEP_PUBLISHED`), so an item delivered again is not listed again.

**Records.** :func:`meeting_record_problems` refuses a child's record without the impact on that
child (reasons of substance, as a threshold decision's) or without at least one action with an
owner agency and a due date; the clocks (:mod:`streams.decisions.clocks`) then watch each action.

Time is always passed in; every instant is compared in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from schemas.models import (
    AgendaChild,
    AgendaHousehold,
    AgendaItem,
    ChildEvent,
    DomesticAbuseAgenda,
    HealthNotification,
    HistorySummary,
    MaracFlag,
    MeetingRecord,
    NotifiedParty,
    SchoolNotification,
)
from streams.decisions.calendar import OfficeCalendar, utc_instant
from streams.decisions.domestic_abuse import domestic_abuse_of, is_domestic_abuse_notification
from streams.decisions.encompass import age_in_years, brief_circumstances
from streams.decisions.ids import derived_id
from streams.decisions.threshold import substance_problem

__all__ = [
    "CHILDREN_PER_PART",
    "CHILD_VOICE_CHARACTERS",
    "KEEP_PUBLISHED",
    "MEETING_KEY",
    "MeetingState",
    "MeetingStep",
    "agenda_item",
    "due_agenda",
    "meeting_at_or_before",
    "meeting_record_problems",
    "meeting_records_problems",
    "merged_agendas",
    "on_agenda_item",
    "stored_meeting",
]

#: The one key of the meeting's state and topics: one meeting for the authority.
MEETING_KEY = "domestic-abuse-meeting"
#: How long the ids of items already on an agenda are kept against a redelivery.
KEEP_PUBLISHED = timedelta(days=30)
#: Children on one agenda message at most: with each child's entry a few kilobytes, a part stays
#: far below the largest message the broker carries.
CHILDREN_PER_PART = 60
#: The child's own words on the agenda, at most (the whole account is on the work item).
CHILD_VOICE_CHARACTERS = 1_000


class MeetingState(BaseModel):
    """The meeting's state: items waiting for an agenda, and what was published."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The meeting time of the last agenda published; None before the first.
    published_through: datetime | None = None
    #: Items routed but not yet on an agenda, in the order they came.
    pending: list[AgendaItem] = Field(default_factory=list)
    #: Item id -> the meeting whose agenda listed it (pruned after KEEP_PUBLISHED).
    published: dict[str, datetime] = Field(default_factory=dict)


@dataclass(frozen=True)
class MeetingStep:
    state: MeetingState
    agendas: tuple[DomesticAbuseAgenda, ...] = ()


def stored_meeting(document: Mapping[str, Any] | None) -> MeetingState:
    return MeetingState.model_validate(document) if document else MeetingState()


def meeting_at_or_before(
    moment: datetime, calendar: OfficeCalendar, meeting_time: time
) -> datetime:
    """The latest meeting (``meeting_time`` on a working day of ``calendar``) at or before
    ``moment``, as a UTC instant."""
    zone = ZoneInfo(calendar.timezone)
    local = utc_instant(moment).astimezone(zone)
    day = local.date()
    for _ in range(400):  # a year of closures would be a misconfigured calendar
        if calendar.is_working_day(day):
            meeting = _at(day, meeting_time, zone)
            if meeting <= utc_instant(moment):
                return meeting
        day -= timedelta(days=1)
    raise ValueError("no working day in the calendar for a year before this moment")


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def on_agenda_item(
    state: MeetingState,
    item: AgendaItem,
    calendar: OfficeCalendar,
    meeting_time: time,
    now: datetime,
) -> MeetingStep:
    """An item waits for the next agenda (once, however often it is delivered); then any agenda
    due at ``now`` is published."""
    waiting = {pending.event_id for pending in state.pending}
    if item.event_id not in waiting and item.event_id not in state.published:
        state = state.model_copy(update={"pending": [*state.pending, item]})
    return due_agenda(state, calendar, meeting_time, now)


def due_agenda(
    state: MeetingState, calendar: OfficeCalendar, meeting_time: time, now: datetime
) -> MeetingStep:
    """The agenda of the latest meeting at or before ``now`` if it is not published yet; none
    otherwise. It covers everything since the last agenda. In a new state the latest meeting is
    only marked as past: there was no agenda for a meeting held before the front door ran it."""
    meeting = meeting_at_or_before(now, calendar, meeting_time)
    if state.published_through is None:
        return MeetingStep(state=state.model_copy(update={"published_through": meeting}))
    if meeting <= state.published_through:
        return MeetingStep(state=state)
    window_start = state.published_through
    listed = [item for item in state.pending if utc_instant(item.received_at) < meeting]
    waiting = [item for item in state.pending if utc_instant(item.received_at) >= meeting]
    parts = _parts(_households(listed, window_start))
    agendas = tuple(
        DomesticAbuseAgenda(
            event_id=derived_id("da-agenda", meeting.isoformat(), str(number)),
            meeting_at=meeting,
            window_start=window_start,
            households=households,
            published_at=utc_instant(now),
            part=number,
            parts=len(parts),
        )
        for number, households in enumerate(parts, start=1)
    )
    horizon = utc_instant(now) - KEEP_PUBLISHED
    published = {item_id: at for item_id, at in state.published.items() if at >= horizon} | {
        item.event_id: meeting for item in listed
    }
    return MeetingStep(
        state=MeetingState(published_through=meeting, pending=waiting, published=published),
        agendas=agendas,
    )


def _parts(households: list[AgendaHousehold]) -> list[list[AgendaHousehold]]:
    """Households in parts of at most :data:`CHILDREN_PER_PART` children (a household is never
    split; one larger than that is a part of its own); one empty part when there are none."""
    parts: list[list[AgendaHousehold]] = [[]]
    count = 0
    for household in households:
        if parts[-1] and count + len(household.children) > CHILDREN_PER_PART:
            parts.append([])
            count = 0
        parts[-1].append(household)
        count += len(household.children)
    return parts


def merged_agendas(agendas: Iterable[DomesticAbuseAgenda]) -> dict[str, DomesticAbuseAgenda]:
    """Each agenda part's id to its meeting's whole agenda: the parts' households in order,
    under the first part's id. A meeting some of whose parts are missing is merged from those
    present (the rest are on their way)."""
    meetings: dict[datetime, dict[int, DomesticAbuseAgenda]] = {}
    for agenda in agendas:
        meetings.setdefault(agenda.meeting_at, {})[agenda.part] = agenda
    merged: dict[str, DomesticAbuseAgenda] = {}
    for parts in meetings.values():
        ordered = [parts[number] for number in sorted(parts)]
        whole = ordered[0].model_copy(
            update={
                "households": [h for part in ordered for h in part.households],
                "part": 1,
                "parts": 1,
            }
        )
        merged.update({part.event_id: whole for part in ordered})
    return merged


def _households(items: Sequence[AgendaItem], window_start: datetime) -> list[AgendaHousehold]:
    """Items grouped by household, the earliest received first; each household's children in
    the order the police listed them."""
    groups: dict[str, list[AgendaItem]] = {}
    for item in sorted(
        items, key=lambda i: (utc_instant(i.received_at), i.household_id, i.child_index)
    ):
        groups.setdefault(item.household_id, []).append(item)
    return [
        AgendaHousehold(
            household_id=household_id,
            about_event_id=members[0].about_event_id,
            police_reference=members[0].police_reference,
            received_at=members[0].received_at,
            occurred_at=members[0].occurred_at,
            late=utc_instant(members[0].received_at) < window_start,
            children=[member.child for member in members],
        )
        for household_id, members in groups.items()
    ]


def agenda_item(
    child_event: ChildEvent,
    *,
    work_item_id: str,
    history: HistorySummary,
    marac: Sequence[MaracFlag],
    told: Sequence[SchoolNotification | HealthNotification],
    blocked: Sequence[str],
    school_names: Mapping[str, str] | None = None,
) -> AgendaItem | None:
    """What the meeting needs to know of this child of a domestic-abuse notification; None for
    any other event. ``told`` are the notifications routing sent about the child, ``blocked``
    the reason codes of a notification that could not be sent (a MASH task); ``school_names``
    names the school of a URN the police gave without its name (the school directory's)."""
    if not is_domestic_abuse_notification(child_event):
        return None
    notification, child = domestic_abuse_of(child_event)
    accepted = child_event.accepted
    incident_day = (notification.occurred_at or notification.received_at).date()
    return AgendaItem(
        event_id=derived_id("da-agenda-item", child_event.event_id),
        household_id=derived_id("household", accepted.sender, accepted.event_id),
        about_event_id=accepted.event_id,
        child_index=child_event.child_index,
        police_reference=notification.police_reference,
        received_at=notification.received_at,
        occurred_at=notification.occurred_at,
        child=AgendaChild(
            child_key=child_event.match.child_key,
            work_item_id=work_item_id,
            given_name=child.given_name,
            family_name=child.family_name,
            date_of_birth=child.date_of_birth,
            age_years=age_in_years(child.date_of_birth, incident_day)
            if child.date_of_birth
            else None,
            school_urn=child.school_urn,
            school_name=child.school_name or (school_names or {}).get(child.school_urn or ""),
            educated_at_home=child.educated_at_home,
            present=child.present,
            # The meeting reads the child's words; a very long account is on the work item.
            child_voice=brief_circumstances(child.child_voice, CHILD_VOICE_CHARACTERS)
            if child.child_voice
            else None,
            history=history,
            missing_information=list(child_event.missing_information),
            marac=list(marac),
            told=[
                NotifiedParty(
                    notification_id=notice.event_id,
                    recipient=notice.recipient,
                    school_urn=notice.school_urn,
                    due_by=notice.due_by,
                )
                for notice in told
            ],
            not_told=list(blocked),
        ),
    )


def meeting_record_problems(record: MeetingRecord, minimum_words: int) -> list[tuple[str, str]]:
    """Each (field, message) that keeps a child's meeting record from being recorded; empty
    when none. ``minimum_words`` is the rules file's ``decisions.minimum_rationale_words``."""
    problems: list[tuple[str, str]] = []
    impact = substance_problem(
        record.impact_on_child,
        minimum_words,
        "what the incident means for this child: the impact on them, in their own right",
    )
    if impact is not None:
        problems.append(("impact_on_child", impact))
    if not record.actions:
        problems.append(
            (
                "actions",
                "Record at least one action for this child: what will be done, the agency that "
                "owns it and the date it is due.",
            )
        )
    meeting_day = utc_instant(record.meeting_at).date()
    for index, action in enumerate(record.actions):
        if action.due_on < meeting_day:
            problems.append(
                (f"actions.{index}.due_on", "An action cannot be due before the meeting.")
            )
    ids = [action.action_id for action in record.actions]
    if len(set(ids)) != len(ids):
        problems.append(("actions", "Each action needs its own id."))
    return problems


def meeting_records_problems(
    records: Sequence[MeetingRecord],
    agendas: Mapping[str, DomesticAbuseAgenda],
    minimum_words: int,
) -> list[tuple[str, str]]:
    """Each (where, message) that keeps a meeting's records from being recorded, all of them or
    none: a record for a child not on a published agenda, or one that
    :func:`meeting_record_problems` refuses. ``where`` names the child and the field."""
    if not records:
        return [("records", "There is no record to write: one per child discussed.")]
    problems: list[tuple[str, str]] = []
    for record in records:
        where = f"child {record.child_key}"
        agenda = agendas.get(record.agenda_id)
        if agenda is None:
            problems.append((f"{where}: agenda_id", f"No agenda {record.agenda_id} was published."))
        elif record.child_key not in {
            child.child_key for household in agenda.households for child in household.children
        }:
            problems.append((f"{where}: child_key", "This child was not on that agenda."))
        problems.extend(
            (f"{where}: {field}", message)
            for field, message in meeting_record_problems(record, minimum_words)
        )
    return problems
