"""The topic declarations: one topic for every record the agents publish, keyed as declared."""

from __future__ import annotations

import pytest

from schemas.models import (
    DeadLetter,
    Event,
    NextStep,
    Queue,
    SourcePosition,
    StaffRole,
    ThresholdDecision,
)
from streams.platform.topics import (
    CHILD_EVENTS,
    DEAD_LETTERS,
    DECISIONS,
    INTAKE,
    QUEUES,
    TOPICS,
    TopicSpec,
    destination,
)
from tests.helpers import RECEIVED, contact


def test_every_topic_name_is_declared_once() -> None:
    names = [spec.name for spec in TOPICS]
    assert len(names) == len(set(names))


def test_every_key_path_names_an_attribute_of_the_topics_record() -> None:
    def has_path(model: type[Event], path: str) -> bool:
        first, _, rest = path.partition(".")
        field = model.model_fields.get(first)
        if field is None:  # or a property worked out from the fields (a batch's first child)
            return not rest and isinstance(getattr(model, first, None), property)
        return not rest or has_path(field.annotation, rest)  # type: ignore[arg-type]

    assert [spec.name for spec in TOPICS if not has_path(spec.value, spec.key)] == []


def test_a_work_item_goes_to_its_queues_topic() -> None:
    assert {queue: spec.value.__name__ for queue, spec in QUEUES.items()} == dict.fromkeys(
        Queue, "WorkItem"
    )


@pytest.mark.parametrize("spec", [s for s in TOPICS if s.value.__name__ != "WorkItem"])
def test_every_other_record_has_exactly_one_topic(spec: TopicSpec) -> None:
    assert [s for s in TOPICS if s.value is spec.value] == [spec]


def test_a_dead_letter_is_keyed_by_the_topic_it_came_from() -> None:
    letter = DeadLetter(
        event_id="dl-00000001",
        source=SourcePosition(topic="frontdoor.intake.contacts", partition=2, offset=9),
        original_key=None,
        original_value=b"x",
        original_headers={},
        sender="gp.synth",
        error_code="FD-EVENT-UNDECODABLE",
        reason="not Avro",
        dead_lettered_at=RECEIVED,
    )
    spec = destination(letter)
    assert spec is DEAD_LETTERS
    assert spec.key_of(letter) == "frontdoor.intake.contacts"


def test_names_carry_the_prefix_and_partner_events_arrive_on_their_intake_topic() -> None:
    event = contact()
    assert destination(event) is INTAKE[next(iter(INTAKE))]
    assert destination(event).name_under("tenant-a.") == "tenant-a.intake.contacts"
    assert CHILD_EVENTS.key == "match.child_key"


def test_a_threshold_decision_goes_to_decisions_keyed_by_its_child() -> None:
    decision = ThresholdDecision(
        event_id="dec-00000001",
        work_item_id="wi-00000001",
        child_key="ck-synthetic-1",
        source_event_id="evt-00000001",
        queue=Queue.MASH,
        level=4,
        next_step=NextStep.STRATEGY_DISCUSSION,
        rationale="Synthetic: a level 4 concern calls a strategy discussion today.",
        decided_by="synthetic.manager",
        decided_by_role=StaffRole.TEAM_MANAGER,
        decided_at=RECEIVED,
    )
    spec = destination(decision)
    assert spec is DECISIONS
    assert spec.name_under("frontdoor.") == "frontdoor.decisions"
    # Keyed by child: one partition holds a child's decisions, in the order they were made.
    assert spec.key_of(decision) == "ck-synthetic-1"
