"""The contract's rules for *unusable* events, and that nothing else about input is fatal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.models import (
    AcceptedEvent,
    ConsentEvent,
    ConsentStatus,
    Contact,
    Event,
    EventType,
    NextStep,
    PoliceNotification,
    Queue,
    StaffRole,
    ThresholdDecision,
)
from streams.platform.codec import AvroCodec, first_error
from streams.platform.registry import EmbeddedSchemaRegistry
from tests.helpers import RECEIVED, consent_override, contact, police_notification


def rejected_field(model: type[Event], data: object) -> str:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    field, _ = first_error(raised.value)
    assert field is not None
    return field


def test_a_contact_with_no_child_at_all_is_unusable() -> None:
    data = contact().model_dump() | {"children": []}
    assert rejected_field(Contact, data) == "children"


def test_a_notification_without_an_event_id_is_unusable() -> None:
    data = police_notification().model_dump()
    del data["event_id"]
    assert rejected_field(PoliceNotification, data) == "event_id"


def test_a_time_without_a_timezone_is_unusable() -> None:
    data = contact().model_dump() | {"received_at": datetime(2026, 11, 24, 10, 0)}
    assert rejected_field(Contact, data) == "received_at"


def test_a_time_at_the_ends_of_the_calendar_is_unusable_not_a_crash() -> None:
    data = contact().model_dump() | {"received_at": datetime.max.replace(tzinfo=UTC)}
    assert rejected_field(Contact, data) == "received_at"


@pytest.mark.parametrize(
    "moment",
    [
        # 2999-01-01T04:00Z on the wire, which no record can carry
        datetime(2998, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
        # 1900-12-31T11:00Z on the wire
        datetime(1901, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=14))),
    ],
)
def test_a_time_whose_utc_year_is_out_of_range_is_unusable_here_not_after_it_was_accepted(
    moment: datetime,
) -> None:
    # Found by the intake fuzz: in range where it was written, out of range in UTC, so the gateway
    # answered 202 and the intake then refused what it decoded.
    data = contact().model_dump() | {"received_at": moment}
    assert rejected_field(Contact, data) == "received_at"


def test_an_unknown_concern_category_is_unusable_because_enumerations_are_closed() -> None:
    data = contact().model_dump() | {"concern_categories": ["witchcraft"]}
    assert rejected_field(Contact, data) == "concern_categories.0"


def test_unknown_fields_are_refused_so_a_misspelt_field_is_not_silently_lost() -> None:
    data = contact().model_dump() | {"immediate_risks": True}
    assert rejected_field(Contact, data) == "immediate_risks"


def test_a_thin_child_record_is_usable_and_left_to_information_requests() -> None:
    event = police_notification(children=[{"given_name": "Oscar"}, {}])
    assert len(event.children) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rationale": None}, "rationale"),
        ({"lawful_basis": None}, "lawful_basis"),
        ({"shared_with": []}, "shared_with"),
        ({"decided_by_role": "social_worker"}, "decided_by_role"),
    ],
)
def test_a_consent_override_without_its_recorded_reasons_is_unusable(
    change: dict[str, object], field: str
) -> None:
    data = consent_override().model_dump() | change
    assert rejected_field(ConsentEvent, data) == field


def test_an_accepted_event_carries_exactly_the_payload_its_type_names() -> None:
    event = contact()
    with pytest.raises(ValidationError):
        AcceptedEvent(
            event_id=event.event_id,
            event_type=EventType.POLICE_NOTIFICATION,
            sender="x",
            source={"topic": "t", "partition": 0, "offset": 0},
            accepted_at=RECEIVED,
            contact=event,
        )


def test_events_are_immutable() -> None:
    event = contact()
    with pytest.raises(ValidationError):
        event.immediate_risk = True  # type: ignore[misc]


def threshold_decision_data() -> dict[str, object]:
    """A MASH worker's level 3 decision, revising an earlier one, as plain data."""
    return {
        "event_id": "dec-00000002",
        "work_item_id": "wi-00000001",
        "child_key": "ck-synthetic-1",
        "source_event_id": "evt-00000001",
        "queue": "mash",
        "level": 3,
        "next_step": "early_help",
        "rationale": "  Third incident this year; Zoë was present.\nMother accepts support.\n",
        "decided_by": "synthetic.worker",
        "decided_by_role": "mash_worker",
        "decided_at": RECEIVED,
        "consent": "not_sought",
        "consent_not_sought_reason": "Asking the father would put the mother at risk.",
        "revises": "dec-00000001",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rationale": " \n\t "}, "rationale"),
        ({"rationale": "x" * 4_001}, "rationale"),
        ({"consent_not_sought_reason": "  "}, "consent_not_sought_reason"),
        ({"level": 0}, "level"),
        ({"level": 5}, "level"),
        ({"next_step": "section_47"}, "next_step"),
        ({"decided_by_role": "social_worker"}, "decided_by_role"),
    ],
)
def test_a_threshold_decision_without_its_reason_or_with_an_unknown_level_or_step_is_unusable(
    change: dict[str, object], field: str
) -> None:
    assert rejected_field(ThresholdDecision, threshold_decision_data() | change) == field


def test_a_threshold_decision_keeps_its_rationale_as_written_inside_and_across_the_wire() -> None:
    decision = ThresholdDecision.model_validate(threshold_decision_data())
    assert decision.rationale == (
        "Third incident this year; Zoë was present.\nMother accepts support."
    )
    assert (decision.next_step, decision.decided_by_role, decision.consent, decision.queue) == (
        NextStep.EARLY_HELP,
        StaffRole.MASH_WORKER,
        ConsentStatus.NOT_SOUGHT,
        Queue.MASH,
    )
    codec = AvroCodec(EmbeddedSchemaRegistry())
    assert codec.decode(codec.encode(decision), ThresholdDecision) == decision


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["event_id", "received_at", "children", "referrer", "consent", "x"])
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=300)
@given(_json)
def test_random_json_documents_fail_validation_cleanly_with_a_field_named(document: object) -> None:
    for model in (Contact, PoliceNotification, ConsentEvent):
        try:
            model.model_validate_json(json.dumps(document))
        except ValidationError as error:
            _, message = first_error(error)
            assert message
