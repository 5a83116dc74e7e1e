"""Whether a strategy discussion is fit to record, and which agencies it was short of.

A strategy discussion is called whenever there is reasonable cause to suspect that a child is
suffering, or likely to suffer, significant harm (Working Together to Safeguard Children). Its
minimum participants are local-authority children's social care, the police and health; the
child's school or setting takes part too when the child has one. It decides whether a section 47
enquiry starts. If one is not held where the threshold was met, a team manager records why.

A discussion is recorded three ways (:class:`schemas.models.DiscussionStatus`):

* ``convened``: who was invited. A convened discussion may be short of an agency (the police
  have not replied yet): that is no reason to refuse the record, so only an empty invitation is;
* ``held``: who attended, whether a section 47 enquiry starts, and why. Social care leads the
  discussion, so the local authority must be among those who attended. A required agency that
  did not attend does not stop the record either (the discussion happened, and the child's
  record must say so) but is flagged on it for good: :func:`held_discussion` fills
  ``missing_agencies``, which the inspection's "were the right people there?" question reads;
* ``not_held``: a team manager's decision, with reasons of substance (the same test as a
  threshold decision's rationale, :func:`streams.decisions.threshold.rationale_problem`).

A held discussion that starts a section 47 enquiry is followed by the initial child protection
conference; :func:`conference_problems` checks its record (who attended, with social care among
them, and reasons of substance for whether the child has a plan).

:func:`discussion_problems` returns each (field, message) that keeps a record from being
published, at most one per field, for the staff application to show beside the field. Messages
say what is needed in words a social worker uses and never repeat what was typed. Pure: no Kafka,
no Faust.
"""

from __future__ import annotations

from collections.abc import Sequence

from schemas.models import (
    Agency,
    Child,
    ChildProtectionConference,
    DiscussionStatus,
    StaffRole,
    StrategyDiscussion,
)
from streams.decisions.threshold import rationale_problem

__all__ = [
    "REQUIRED_ALWAYS",
    "child_has_school",
    "conference_problems",
    "discussion_problems",
    "held_discussion",
    "missing_agencies",
    "required_agencies",
]

#: The agencies every strategy discussion needs: children's social care (the local authority),
#: the police and health.
REQUIRED_ALWAYS: tuple[Agency, ...] = (Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH)

# How a message names each agency.
_AGENCY_NAMES: dict[Agency, str] = {
    Agency.LOCAL_AUTHORITY: "children's social care",
    Agency.POLICE: "the police",
    Agency.HEALTH: "health",
    Agency.EDUCATION: "the child's school or setting",
}


def required_agencies(child_has_school: bool) -> list[Agency]:
    """The agencies a strategy discussion about the child needs, in a fixed order.

    Social care, police and health always; education as well when the child has a school or
    setting (:func:`child_has_school`).
    """
    return [*REQUIRED_ALWAYS, *([Agency.EDUCATION] if child_has_school else [])]


def missing_agencies(attendees: Sequence[Agency], child_has_school: bool) -> list[Agency]:
    """The required agencies not among ``attendees``, in the order of :func:`required_agencies`."""
    present = set(attendees)
    return [agency for agency in required_agencies(child_has_school) if agency not in present]


def child_has_school(child: Child) -> bool:
    """Whether the child has a school or setting: its URN or its name is given."""
    return bool(child.school_urn or (child.school_name or "").strip())


def _required_in_words() -> str:
    names = [_AGENCY_NAMES[agency] for agency in REQUIRED_ALWAYS]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _not_held_problems(discussion: StrategyDiscussion, minimum_words: int) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if discussion.recorded_by_role is not StaffRole.TEAM_MANAGER:
        problems.append(
            (
                "recorded_by_role",
                "Only a team manager can decide a strategy discussion will not be held",
            )
        )
    rationale = rationale_problem(discussion.rationale or "", minimum_words)
    if rationale is not None:
        problems.append(("rationale", rationale))
    if discussion.attendees:
        problems.append(
            (
                "attendees",
                "A discussion that was not held has no attendees: clear them, or record the "
                "discussion as held.",
            )
        )
    return problems


def _held_problems(discussion: StrategyDiscussion, minimum_words: int) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if not discussion.attendees:
        problems.append(
            (
                "attendees",
                "Record which agencies took part in the discussion: at least "
                f"{_required_in_words()}.",
            )
        )
    elif Agency.LOCAL_AUTHORITY not in discussion.attendees:
        problems.append(
            (
                "attendees",
                "Children's social care leads a strategy discussion: add the local authority "
                "to the agencies that took part.",
            )
        )
    if discussion.section_47 is None:
        problems.append(
            (
                "section_47",
                "Record whether the discussion decided to start a section 47 enquiry.",
            )
        )
    rationale = rationale_problem(discussion.rationale or "", minimum_words)
    if rationale is not None:
        problems.append(("rationale", rationale))
    return problems


def _convened_problems(discussion: StrategyDiscussion) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    # Not inviting a required agency is not a problem here: a convened discussion may be short
    # of people, and who finally attended is flagged when it is held (missing_agencies).
    if not discussion.invitees:
        problems.append(
            (
                "invitees",
                f"Record which agencies are invited: at least {_required_in_words()}, and the "
                "child's school or setting if they have one.",
            )
        )
    if discussion.attendees:
        problems.append(
            (
                "attendees",
                "Attendees are recorded when the discussion is held: clear them, or record the "
                "discussion as held.",
            )
        )
    return problems


def discussion_problems(
    discussion: StrategyDiscussion, minimum_words: int
) -> list[tuple[str, str]]:
    """Each (field name, message) that keeps ``discussion`` from being recorded; empty when none.

    At most one message per field. ``minimum_words`` is the rules file's
    ``decisions.minimum_rationale_words``. Whether a section 47 enquiry starts is decided when a
    discussion is held, so a convened or not-held record that says so is refused as well.
    """
    if discussion.status is DiscussionStatus.NOT_HELD:
        problems = _not_held_problems(discussion, minimum_words)
    elif discussion.status is DiscussionStatus.HELD:
        problems = _held_problems(discussion, minimum_words)
    else:
        problems = _convened_problems(discussion)
    if discussion.status is not DiscussionStatus.HELD and discussion.section_47 is not None:
        problems.append(
            (
                "section_47",
                "Whether a section 47 enquiry starts is recorded when the discussion is held: "
                "clear it, or record the discussion as held.",
            )
        )
    return problems


def held_discussion(discussion: StrategyDiscussion, child_has_school: bool) -> StrategyDiscussion:
    """``discussion`` with ``missing_agencies`` filled: the required agencies that did not attend
    a held discussion, and none for a convened or not-held one (whatever the sender put there).
    """
    missing = (
        missing_agencies(discussion.attendees, child_has_school)
        if discussion.status is DiscussionStatus.HELD
        else []
    )
    return discussion.model_copy(update={"missing_agencies": missing})


def conference_problems(
    conference: ChildProtectionConference, minimum_words: int
) -> list[tuple[str, str]]:
    """Each (field name, message) that keeps a conference record from being recorded.

    Children's social care convenes and chairs the conference, so the local authority must be
    among those who attended; whether the child has a plan needs reasons of substance, as a
    threshold decision does.
    """
    problems: list[tuple[str, str]] = []
    if Agency.LOCAL_AUTHORITY not in conference.attendees:
        problems.append(
            (
                "attendees",
                "Children's social care chairs a child protection conference: add the local "
                "authority to the agencies that took part.",
            )
        )
    rationale = rationale_problem(conference.rationale, minimum_words)
    if rationale is not None:
        problems.append(("rationale", rationale))
    return problems
