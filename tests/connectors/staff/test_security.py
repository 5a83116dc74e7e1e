"""Who may do what, passwords and form tokens: the rules the staff application enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.staff import security
from connectors.staff.web import countdown
from schemas.models import Priority, Queue, StaffRole

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_each_role_decides_on_its_own_queue_only() -> None:
    deciders = {
        role: [queue for queue in Queue if security.can_decide(role, queue)] for role in StaffRole
    }

    assert deciders == {
        StaffRole.MASH_WORKER: [Queue.MASH],
        StaffRole.TEAM_MANAGER: list(Queue),
        StaffRole.EARLY_HELP_WORKER: [Queue.EARLY_HELP],
        StaffRole.DUTY_TEAM: [Queue.DUTY_TEAM],
        StaffRole.LEADER: [],
    }


def test_a_role_reads_every_queue_it_decides_on_and_a_leader_reads_them_all() -> None:
    for role in StaffRole:
        for queue in Queue:
            if security.can_decide(role, queue):
                assert security.can_read(role, queue)
    assert security.readable_queues(StaffRole.LEADER) == list(Queue)
    assert security.readable_queues(StaffRole.DUTY_TEAM) == [Queue.MASH, Queue.DUTY_TEAM]


def test_only_a_team_manager_overrides_consent_or_reads_the_access_log() -> None:
    assert [r for r in StaffRole if security.can_override_consent(r)] == [StaffRole.TEAM_MANAGER]
    assert [r for r in StaffRole if security.can_read_access_log(r)] == [StaffRole.TEAM_MANAGER]


def test_a_leader_reads_timeliness_alerts_and_only_a_team_manager_acknowledges_them() -> None:
    readers = [r for r in StaffRole if security.can_read_timeliness_alerts(r)]
    acknowledgers = [r for r in StaffRole if security.can_acknowledge_timeliness_alerts(r)]

    assert readers == [StaffRole.TEAM_MANAGER, StaffRole.LEADER]
    assert acknowledgers == [StaffRole.TEAM_MANAGER]


def test_the_duty_team_acknowledges_duty_alerts_and_the_mash_reads_the_handover() -> None:
    readers = [r for r in StaffRole if security.can_read_duty_alerts(r)]
    acknowledgers = [r for r in StaffRole if security.can_acknowledge_duty_alerts(r)]
    handover = [r for r in StaffRole if security.can_read_handover(r)]
    assert readers == [StaffRole.TEAM_MANAGER, StaffRole.DUTY_TEAM, StaffRole.LEADER]
    assert acknowledgers == [StaffRole.TEAM_MANAGER, StaffRole.DUTY_TEAM]
    assert handover == [StaffRole.MASH_WORKER, StaffRole.TEAM_MANAGER, StaffRole.LEADER]


def test_team_managers_and_leaders_read_the_dashboard() -> None:
    readers = [r for r in StaffRole if security.can_read_dashboard(r)]

    assert readers == [StaffRole.TEAM_MANAGER, StaffRole.LEADER]


def test_every_role_lands_on_a_queue_it_can_read() -> None:
    for role, queue in security.HOME_QUEUE.items():
        assert security.can_read(role, queue)


def test_a_password_is_kept_only_as_a_hash_that_verifies() -> None:
    hashed = security.hash_password("a long synthetic passphrase")

    assert "synthetic" not in hashed
    assert hashed.startswith("$argon2id$")
    assert security.verify_password(hashed, "a long synthetic passphrase")
    assert not security.verify_password(hashed, "a long synthetic passphrasE")


def test_an_unknown_user_never_verifies() -> None:
    assert not security.verify_password(None, "anything at all, even long")


def test_a_short_password_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 12 characters"):
        security.hash_password("short")


def test_a_form_token_is_made_once_per_session_and_only_it_passes() -> None:
    session: dict[str, object] = {}
    token = security.csrf_token(session)

    assert security.csrf_token(session) == token
    assert security.csrf_valid(session, token)
    assert not security.csrf_valid(session, token + "x")
    assert not security.csrf_valid(session, None)
    assert not security.csrf_valid({}, token)


@pytest.mark.parametrize(
    ("due_in", "text", "rag"),
    [
        (timedelta(days=1, hours=3, minutes=10), "due in 1 d 3 h", Priority.GREEN),
        (timedelta(hours=2, minutes=1), "due in 2 h 1 min", Priority.GREEN),
        (timedelta(hours=1, minutes=59), "due in 1 h 59 min", Priority.AMBER),
        (timedelta(minutes=5), "due in 5 min", Priority.AMBER),
        (-timedelta(minutes=20), "overdue by 20 min", Priority.RED),
    ],
)
def test_the_countdown_says_how_long_is_left_with_its_colour(
    due_in: timedelta, text: str, rag: Priority
) -> None:
    shown = countdown(NOW + due_in, NOW)

    assert (shown.text, shown.rag, shown.overdue) == (text, rag, rag is Priority.RED)
