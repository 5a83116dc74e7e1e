"""Intake triage as stories: what becomes of one inbound message. Pure, no broker."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.models import (
    Agency,
    ConsentEvent,
    Contact,
    EventType,
    NotificationChild,
    PoliceNotification,
    RequestReason,
    TaskKind,
)
from schemas.wire import MAX_MESSAGE_BYTES, SENDER_HEADER, InboundMessage
from streams.decisions.intake import IntakeOutcome, review_task_for, triage
from streams.platform.codec import AvroCodec
from streams.platform.registry import EmbeddedSchemaRegistry
from tests.helpers import (
    INVALID_NHS_NUMBER,
    consent_override,
    contact,
    police_notification,
)

codec = AvroCodec(EmbeddedSchemaRegistry())
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)
KNOWN_SCHOOLS = {"990001", "990002"}


def message(
    value: bytes | None, *, sender: str | None = "police.synth", offset: int = 7
) -> InboundMessage:
    headers = {SENDER_HEADER: sender.encode()} if sender else {}
    return InboundMessage(
        topic="frontdoor.intake.police-notifications",
        partition=1,
        offset=offset,
        key=b"key-1",
        value=value,
        headers=headers,
    )


def triage_notification(value: bytes | None, **kwargs: object) -> IntakeOutcome:
    return triage(
        message(value, **kwargs),  # type: ignore[arg-type]
        event_type=EventType.POLICE_NOTIFICATION,
        decode=partial(codec.decode, model=PoliceNotification),
        now=NOW,
        known_urns=KNOWN_SCHOOLS,
    )


def test_a_clean_notification_is_accepted_with_nothing_to_ask() -> None:
    notification = police_notification()

    outcome = triage_notification(codec.encode(notification))

    assert outcome.dead_letter is None
    assert outcome.information_request is None
    assert outcome.accepted is not None
    assert outcome.accepted.police_notification == notification
    assert outcome.accepted.sender == "police.synth"
    assert outcome.accepted.source.offset == 7
    assert outcome.accepted.accepted_at == NOW


def test_a_typo_never_bounces_a_concern_it_travels_with_the_event_and_is_asked_about() -> None:
    notification = police_notification()
    second = notification.children[1].model_copy(
        update={"nhs_number": INVALID_NHS_NUMBER, "school_urn": "123456"}
    )
    notification = notification.model_copy(update={"children": [notification.children[0], second]})

    outcome = triage_notification(codec.encode(notification))

    assert outcome.accepted is not None
    assert [(i.field, i.code) for i in outcome.accepted.data_quality_issues] == [
        ("children.1.nhs_number", "DQ-NHS-NUMBER"),
        ("children.1.school_urn", "DQ-SCHOOL-URN-UNKNOWN"),
    ]
    request = outcome.information_request
    assert request is not None
    assert request.reason is RequestReason.DATA_QUALITY
    assert request.addressed_to_agency is Agency.POLICE
    assert request.addressed_to_sender == "police.synth"
    assert request.about_event_id == notification.event_id
    assert [item.field for item in request.items] == [
        "children.1.nhs_number",
        "children.1.school_urn",
    ]


def test_a_contacts_information_request_goes_to_the_referrers_agency() -> None:
    event = contact(referrer={"agency": "health", "email": "not-an-email"})
    outcome = triage(
        message(codec.encode(event), sender="gp.synth"),
        event_type=EventType.CONTACT,
        decode=partial(codec.decode, model=Contact),
        now=NOW,
    )
    assert outcome.information_request is not None
    assert outcome.information_request.addressed_to_agency is Agency.HEALTH


def test_a_consent_events_information_request_goes_to_the_local_authority() -> None:
    event = consent_override(decided_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    outcome = triage(
        message(codec.encode(event), sender="la.synth"),
        event_type=EventType.CONSENT_EVENT,
        decode=partial(codec.decode, model=ConsentEvent),
        now=NOW,
    )
    assert outcome.information_request is not None
    assert outcome.information_request.addressed_to_agency is Agency.LOCAL_AUTHORITY


def test_processing_the_same_message_twice_produces_the_same_events() -> None:
    data = codec.encode(police_notification(dash_score=31))

    first, second = triage_notification(data), triage_notification(data)

    assert first == second
    assert first.information_request is not None


def test_an_unusable_message_becomes_a_dead_letter_kept_whole_with_its_reason() -> None:
    outcome = triage_notification(b"\x00\x00\x00\x00\x02\xff\xff", sender="police.synth")

    assert outcome.accepted is None
    letter = outcome.dead_letter
    assert letter is not None
    assert letter.original_value == b"\x00\x00\x00\x00\x02\xff\xff"
    assert letter.original_key == b"key-1"
    assert letter.original_headers == {SENDER_HEADER: b"police.synth"}
    assert (letter.source.topic, letter.source.partition, letter.source.offset) == (
        "frontdoor.intake.police-notifications",
        1,
        7,
    )
    assert letter.error_code == "FD-DECODE-MALFORMED"
    assert letter.reason
    assert letter.sender == "police.synth"


def test_a_message_without_a_sender_header_is_still_handled_as_from_an_unknown_sender() -> None:
    outcome = triage_notification(b"junk", sender=None)
    assert outcome.dead_letter is not None
    assert outcome.dead_letter.sender == "unknown"


def test_a_dead_letter_becomes_a_mash_review_task_with_a_stable_id() -> None:
    letter = triage_notification(b"junk", sender="school.990002").dead_letter
    assert letter is not None

    task = review_task_for(letter)

    assert task.kind is TaskKind.DEAD_LETTER_REVIEW
    assert task.reference == letter.event_id
    assert task.sender == "school.990002"
    assert task.reason == letter.reason
    assert review_task_for(letter).event_id == task.event_id


#: The worker's producer refuses records over this many bytes (Faust's producer_max_request_size).
PRODUCER_LIMIT = 1_000_000


def a_notification_of_about(size: int) -> bytes:
    """A usable notification about twenty children whose words make it about ``size`` bytes."""
    words = "\U0001f600" * (size // 80)  # four bytes each, twenty children
    children = [
        NotificationChild(given_name="Oscar", family_name="Pembleton", child_voice=words)
        for _ in range(20)
    ]
    return codec.encode(police_notification(children=children))


def test_a_message_larger_than_the_front_door_takes_in_is_a_dead_letter_that_can_be_carried() -> (
    None
):
    # Found by the intake fuzz: the accepted event of a 1 MB notification, and a dead letter of
    # any 1 MB message, were over what the worker's producer sends: the agent crashed on it and
    # went on past it, and nobody was told.
    value = a_notification_of_about(MAX_MESSAGE_BYTES + 10_000)

    outcome = triage_notification(value)

    assert outcome.accepted is None
    letter = outcome.dead_letter
    assert letter is not None
    assert letter.error_code == "FD-MESSAGE-TOO-LARGE"
    assert letter.original_value == value  # still small enough to keep whole
    assert len(codec.encode(letter)) < PRODUCER_LIMIT


def test_a_message_too_large_for_any_record_keeps_its_position_and_says_where_it_is() -> None:
    value = b"\x01" * 1_040_000  # what a partner's kafka-python producer sends by default

    letter = triage_notification(value, offset=41).dead_letter

    assert letter is not None
    assert letter.error_code == "FD-MESSAGE-TOO-LARGE"
    assert (letter.original_value, letter.original_key, letter.original_headers) == (None, None, {})
    assert "frontdoor.intake.police-notifications partition 1 offset 41" in letter.reason
    assert letter.sender == "police.synth"
    assert len(codec.encode(letter)) < PRODUCER_LIMIT


def test_the_largest_message_taken_in_gives_outputs_the_producer_sends() -> None:
    value = a_notification_of_about(MAX_MESSAGE_BYTES - 40_000)
    assert len(value) <= MAX_MESSAGE_BYTES

    outcome = triage_notification(value)

    assert outcome.accepted is not None
    assert all(len(codec.encode(output)) < PRODUCER_LIMIT for output in outcome.outputs)


@settings(max_examples=300)
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=10**9))
def test_any_bytes_end_as_exactly_one_of_accepted_or_dead_lettered(
    data: bytes, offset: int
) -> None:
    outcome = triage_notification(data, offset=offset)

    assert (outcome.accepted is None) != (outcome.dead_letter is None)
    if outcome.dead_letter is not None:
        assert outcome.dead_letter.original_value == data
        assert outcome.dead_letter.error_code.startswith("FD-")
        assert outcome.dead_letter.reason
