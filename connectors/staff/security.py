"""Who may do what in the staff application, and the pieces that make sign-in safe.

* Passwords are stored as argon2id hashes (the library's RFC 9106 low-memory profile), never the
  password; an unknown username costs the same verification as a wrong password.
* Roles are enforced here, on the server, for every action: a page hiding a button is a courtesy,
  not the control. :data:`QUEUE_RIGHTS` says which queues a role reads and decides on.
* Every form carries a CSRF token bound to the session (:func:`csrf_token`, :func:`csrf_valid`),
  so another site cannot make a signed-in worker's browser record a decision.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.models import Queue, StaffRole

_HASHER = PasswordHasher()
#: Shortest password accepted: long passphrases beat composition rules (NCSC guidance).
MINIMUM_PASSWORD_LENGTH = 12
#: Verified against when the username is unknown, so a wrong name costs what a wrong password does.
_UNKNOWN_USER_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash to store; raises ValueError for a password too short to keep."""
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MINIMUM_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; for ``stored_hash`` None (no such user) it costs the same."""
    try:
        return _HASHER.verify(stored_hash or _UNKNOWN_USER_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class QueueRights:
    """What a role may do with one queue's items."""

    read: bool
    decide: bool


_READ_ONLY = QueueRights(read=True, decide=False)
_DECIDE = QueueRights(read=True, decide=True)
_NONE = QueueRights(read=False, decide=False)

#: Each role's rights on each queue. Team managers oversee every queue; a leader reads them all
#: and decides nothing; the duty team reads the MASH queue, where its items continue by day.
QUEUE_RIGHTS: dict[StaffRole, dict[Queue, QueueRights]] = {
    StaffRole.MASH_WORKER: {Queue.MASH: _DECIDE, Queue.EARLY_HELP: _NONE, Queue.DUTY_TEAM: _NONE},
    StaffRole.TEAM_MANAGER: dict.fromkeys(Queue, _DECIDE),
    StaffRole.EARLY_HELP_WORKER: {
        Queue.EARLY_HELP: _DECIDE,
        Queue.MASH: _NONE,
        Queue.DUTY_TEAM: _NONE,
    },
    StaffRole.DUTY_TEAM: {
        Queue.DUTY_TEAM: _DECIDE,
        Queue.MASH: _READ_ONLY,
        Queue.EARLY_HELP: _NONE,
    },
    StaffRole.LEADER: dict.fromkeys(Queue, _READ_ONLY),
}

#: The queue a role lands on after signing in.
HOME_QUEUE: dict[StaffRole, Queue] = {
    StaffRole.MASH_WORKER: Queue.MASH,
    StaffRole.TEAM_MANAGER: Queue.MASH,
    StaffRole.EARLY_HELP_WORKER: Queue.EARLY_HELP,
    StaffRole.DUTY_TEAM: Queue.DUTY_TEAM,
    StaffRole.LEADER: Queue.MASH,
}


def can_read(role: StaffRole, queue: Queue) -> bool:
    return QUEUE_RIGHTS[role][queue].read


def can_decide(role: StaffRole, queue: Queue) -> bool:
    return QUEUE_RIGHTS[role][queue].decide


def can_override_consent(role: StaffRole) -> bool:
    """Sharing without consent is a team manager's decision (domain brief, consent)."""
    return role is StaffRole.TEAM_MANAGER


def can_read_access_log(role: StaffRole) -> bool:
    return role is StaffRole.TEAM_MANAGER


def can_read_timeliness_alerts(role: StaffRole) -> bool:
    """Late decisions and discussions are the team managers' to chase; leaders read them too."""
    return role in (StaffRole.TEAM_MANAGER, StaffRole.LEADER)


def can_acknowledge_timeliness_alerts(role: StaffRole) -> bool:
    """Acknowledging says a manager is chasing it: a leader reads alerts, and only reads them."""
    return role is StaffRole.TEAM_MANAGER


def can_work_tasks(role: StaffRole) -> bool:
    """MASH tasks (dead letters, overdue events) are the MASH's to work."""
    return role in (StaffRole.MASH_WORKER, StaffRole.TEAM_MANAGER)


def can_read_meeting(role: StaffRole) -> bool:
    """The daily domestic-abuse meeting is the MASH's; leaders read its agendas and records."""
    return role in (StaffRole.MASH_WORKER, StaffRole.TEAM_MANAGER, StaffRole.LEADER)


def can_record_meeting(role: StaffRole) -> bool:
    """Whoever runs the meeting records it: a MASH worker or a team manager."""
    return role in (StaffRole.MASH_WORKER, StaffRole.TEAM_MANAGER)


def can_read_duty_alerts(role: StaffRole) -> bool:
    """Duty-team alerts and who acknowledged them: the duty team's own, its managers', and
    leaders' to read."""
    return role in (StaffRole.DUTY_TEAM, StaffRole.TEAM_MANAGER, StaffRole.LEADER)


def can_acknowledge_duty_alerts(role: StaffRole) -> bool:
    """Acknowledging says "I am acting on it", which stops the alert's escalation: the duty
    team's to say, or a team manager's (the duty manager); a leader only reads."""
    return role in (StaffRole.DUTY_TEAM, StaffRole.TEAM_MANAGER)


def can_read_handover(role: StaffRole) -> bool:
    """The out-of-hours handover is for the MASH taking over at the opening, and its managers
    and leaders."""
    return role in (StaffRole.MASH_WORKER, StaffRole.TEAM_MANAGER, StaffRole.LEADER)


def can_read_dashboard(role: StaffRole) -> bool:
    """The dashboard is for the team managers who act on its figures, and leaders. It names no
    child, so reading it writes nothing to the access log."""
    return role in (StaffRole.TEAM_MANAGER, StaffRole.LEADER)


def readable_queues(role: StaffRole) -> list[Queue]:
    return [queue for queue in Queue if can_read(role, queue)]


def csrf_token(session: dict[str, object]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(session: dict[str, object], submitted: str | None) -> bool:
    expected = session.get("csrf")
    return (
        isinstance(expected, str)
        and submitted is not None
        and secrets.compare_digest(expected, submitted)
    )
