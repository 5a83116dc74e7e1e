"""The staff application: work queues people can work from, server-rendered.

MASH workers, team managers, early-help workers and the duty team sign in, see their queues in
priority and due order with a countdown, open an item (the rationale of its routing, what is
missing, data-quality problems, the child's history, a possible-match warning), claim it, and
record a threshold decision, which is published as an event (``decisions`` topic). Team managers
record consent overrides (published as consent events through intake, like any partner's) and read
the access log. The duty team and team managers acknowledge duty-team alerts (``/duty-alerts``),
and whoever an alert was e-mailed to can acknowledge it from the signed link in the message without
signing in (:mod:`connectors.staff.acknowledge_links`); either is published as an
:class:`~schemas.models.AlertAcknowledgement`, which stops the alert's escalation. At the office
opening the MASH reads the handover (``/handover``): every duty-team alert of the out-of-hours
period before it, whether it was acknowledged and what was decided. Team managers and leaders
read the dashboard (``/dashboard``): the front door's figures for the last days, with charts drawn
on the server from the events (:mod:`streams.decisions.figures`, :mod:`connectors.staff.charts`).
Pages are plain HTML from Jinja2 templates with one stylesheet and a few lines of script for the
countdowns: no build step, nothing from another site.

Safety, on the server for every request (:mod:`connectors.staff.security`): sign-in with argon2
password hashes and a per-name and per-address limit on failures; a signed session cookie
(HttpOnly, SameSite=Strict, Secure unless configured off for plain-HTTP demos) that expires after
``FRONTDOOR_STAFF_SESSION_IDLE_MINUTES`` idle; a CSRF token on every form; roles checked for every
action (403 page, nothing published); every view of a child's record written to the access log.
An acknowledge link's page needs no session and starts none: its signed token is its authority,
and opening it records nothing (mail scanners open links), only its button does.

A form that fails validation is shown again with each problem next to its field and everything
typed kept; a decision the broker did not acknowledge is not marked as recorded (503, text kept).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from starlette.middleware.sessions import SessionMiddleware

from connectors.gateway import FailedAuthentications
from connectors.staff import security
from connectors.staff.acknowledge_links import read_acknowledge_token
from connectors.staff.charts import dashboard_charts
from connectors.staff.store import DutyAlertView, ItemView, QueueStore, UserRecord
from schemas.errors import AcknowledgeLinkError, FrontDoorError
from schemas.models import (
    AcknowledgedVia,
    Agency,
    AlertAcknowledgement,
    Child,
    ClockKind,
    ConsentAction,
    ConsentEvent,
    DeciderRole,
    DiscussionStatus,
    Event,
    LawfulBasis,
    MeetingAction,
    MeetingRecord,
    NextStep,
    Priority,
    Queue,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
)
from schemas.wire import SENDER_HEADER
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.figures import dashboard, recent_days
from streams.decisions.ids import derived_id
from streams.decisions.meeting import meeting_record_problems
from streams.decisions.notifications import outcome_notification
from streams.decisions.rules.model import DecisionRules
from streams.decisions.strategy import child_has_school, discussion_problems, held_discussion
from streams.decisions.threshold import decision_problems, rationale_problem
from streams.platform.settings import StaffSettings
from streams.platform.topics import destination

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
#: The sender code the staff application publishes consent events under, as a partner would.
STAFF_SENDER = "la.staff-app"
LONDON = ZoneInfo("Europe/London")
_LONGEST_FORM_ID = 64
#: A decision at this level of need calls for a strategy discussion (domain brief).
STRATEGY_LEVEL = 4
#: An item due within this long shows amber; overdue shows red.
DUE_SOON = timedelta(hours=2)

QUEUE_TITLES = {
    Queue.MASH: "MASH",
    Queue.EARLY_HELP: "Early Help",
    Queue.DUTY_TEAM: "Emergency Duty Team",
}
NEXT_STEP_TITLES = {
    NextStep.NO_FURTHER_ACTION: "No further action",
    NextStep.ADVICE_AND_SIGNPOSTING: "Advice and signposting",
    NextStep.EARLY_HELP: "Early help",
    NextStep.CHILD_IN_NEED_ASSESSMENT: "Child-in-need assessment (section 17)",
    NextStep.STRATEGY_DISCUSSION: "Strategy discussion / section 47",
}
ROLE_TITLES = {
    StaffRole.MASH_WORKER: "MASH worker",
    StaffRole.TEAM_MANAGER: "Team manager",
    StaffRole.EARLY_HELP_WORKER: "Early-help worker",
    StaffRole.DUTY_TEAM: "Duty team",
    StaffRole.LEADER: "Leader (read only)",
}
CLOCK_TITLES = {
    ClockKind.DECISION: "Threshold decision",
    ClockKind.STRATEGY_DISCUSSION: "Strategy discussion",
    ClockKind.CHILD_PROTECTION_CONFERENCE: "Initial child protection conference",
    ClockKind.MEETING_ACTION: "Domestic-abuse meeting action",
}
AGENCY_TITLES = {
    Agency.POLICE: "Police",
    Agency.HEALTH: "Health",
    Agency.EDUCATION: "School or education",
    Agency.LOCAL_AUTHORITY: "Children's social care",
}
#: Action rows the meeting-record form offers for one child.
ACTION_ROWS = 3
ACKNOWLEDGED_VIA_TITLES = {
    AcknowledgedVia.EMAIL_LINK: "link in the e-mail",
    AcknowledgedVia.STAFF_APPLICATION: "staff application",
}
LAWFUL_BASIS_TITLES = {
    LawfulBasis.PUBLIC_TASK: "Public task (UK GDPR 6(1)(e))",
    LawfulBasis.LEGAL_OBLIGATION: "Legal obligation (UK GDPR 6(1)(c))",
    LawfulBasis.VITAL_INTERESTS: "Vital interests (UK GDPR 6(1)(d))",
    LawfulBasis.SAFEGUARDING_OF_CHILDREN: "Safeguarding of children (DPA 2018 Sch. 1 para 18)",
}
#: The dashboard's period, in days up to today: by default, and at most (``?days=``).
DASHBOARD_DAYS = 7
MOST_DASHBOARD_DAYS = 90


class EventPublisher(Protocol):
    """What the application needs of a publisher (:class:`streams.platform.publisher.Publisher`)."""

    def publish(
        self,
        topic: str,
        event: Event,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, int]: ...


@dataclass
class Staff:
    """Everything a request needs: settings, the store, the publisher, the clock."""

    settings: StaffSettings
    store: QueueStore
    publisher: Callable[[], EventPublisher]
    minimum_rationale_words: int
    topic_prefix: str
    #: The office hours the rules describe: the handover is of the out-of-hours period before
    #: an opening.
    calendar: OfficeCalendar
    #: When a strategy discussion falls due (the dashboard counts them as the clocks do).
    decision_rules: DecisionRules = field(default_factory=DecisionRules)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    failures: FailedAuthentications = field(init=False)

    def __post_init__(self) -> None:
        self.failures = FailedAuthentications(per_minute=self.settings.sign_in_attempts_per_minute)


class _SignInRequired(Exception):  # noqa: N818 - control flow inside this module
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class _Refused(Exception):  # noqa: N818 - control flow inside this module
    def __init__(self, status: int, title: str, detail: str) -> None:
        self.status, self.title, self.detail = status, title, detail


class _LinkRefused(_Refused):
    """A refusal on an acknowledge link's page, shown without touching the session."""


class DecisionForm(BaseModel):
    """The decision form as typed: plain text, so that whatever is typed can be shown again."""

    csrf_token: str = ""
    decision_id: str = ""
    level: str = ""
    next_step: str = ""
    rationale: str = ""
    consent: str = ""
    consent_not_sought_reason: str = ""


class OverrideForm(BaseModel):
    """The consent-override form as typed."""

    csrf_token: str = ""
    override_id: str = ""
    lawful_basis: str = ""
    rationale: str = ""
    information_shared: str = ""
    shared_with: str = ""


class DiscussionForm(BaseModel):
    """The strategy-discussion form as typed."""

    csrf_token: str = ""
    discussion_event_id: str = ""
    status: str = ""
    invitees: list[str] = []
    attendees: list[str] = []
    section_47: str = ""
    rationale: str = ""


class MeetingRecordForm(BaseModel):
    """One child's record at the daily domestic-abuse meeting, as typed: the impact on the child
    and up to :data:`ACTION_ROWS` actions (a row left blank is not an action)."""

    csrf_token: str = ""
    record_id: str = ""
    impact_on_child: str = ""
    action_description: list[str] = []
    action_owner: list[str] = []
    action_due_on: list[str] = []


class SignInForm(BaseModel):
    csrf_token: str = ""
    username: str = ""
    password: str = ""
    next: str = "/"


class LinkAcknowledgeForm(BaseModel):
    """The acknowledge link's button: the link's signed token, which authorises it."""

    token: str = ""


class PlainForm(BaseModel):
    """A form with nothing but its CSRF token (claim, release, sign out)."""

    csrf_token: str = ""


def child_name(child: Child) -> str:
    """How a page names a child: the names given, else a plain statement that there are none."""
    names = " ".join(part for part in (child.given_name, child.family_name) if part)
    if names:
        return names
    return "Unborn child" if child.expected_date_of_delivery else "Child (name not given)"


def _local_time(moment: datetime | None, pattern: str = "%a %d %b %Y %H:%M") -> str:
    """A time as staff in England read it (Europe/London, summer time included)."""
    if moment is None:
        return ""
    return moment.astimezone(LONDON).strftime(pattern)


templates = Jinja2Templates(directory=_HERE / "templates")
templates.env.filters["local"] = _local_time
templates.env.globals.update(
    child_name=child_name,
    queue_titles=QUEUE_TITLES,
    next_step_titles=NEXT_STEP_TITLES,
    role_titles=ROLE_TITLES,
    lawful_basis_titles=LAWFUL_BASIS_TITLES,
    clock_titles=CLOCK_TITLES,
    acknowledged_via_titles=ACKNOWLEDGED_VIA_TITLES,
    agency_titles=AGENCY_TITLES,
    action_rows=ACTION_ROWS,
)
router = APIRouter()


def create_app(staff: Staff, session_secret: str) -> FastAPI:
    """The staff application over ``staff``'s store and publisher."""
    app = FastAPI(title="Front door staff application", docs_url=None, redoc_url=None)
    app.state.staff = staff
    # The delivery service signs acknowledge links with the same secret (acknowledge_secret).
    app.state.acknowledge_secret = session_secret
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie="frontdoor_staff",
        https_only=staff.settings.secure_cookies,
        same_site="strict",
        max_age=12 * 3600,  # a shift; idleness is checked separately, per request
    )
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    app.add_exception_handler(_SignInRequired, _sign_in_first)  # type: ignore[arg-type]
    app.add_exception_handler(_Refused, _refused)  # type: ignore[arg-type]
    app.add_exception_handler(_LinkRefused, _link_refused)  # type: ignore[arg-type]
    app.include_router(router)
    return app


def _staff(request: Request) -> Staff:
    staff: Staff = request.app.state.staff
    return staff


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    user = context.get("user")
    base = {
        "csrf": security.csrf_token(request.session),
        "queues": security.readable_queues(user.role) if user else [],
        "may_read_access_log": bool(user and security.can_read_access_log(user.role)),
        "may_work_tasks": bool(user and security.can_work_tasks(user.role)),
        "may_read_alerts": bool(user and security.can_read_timeliness_alerts(user.role)),
        "may_read_meeting": bool(user and security.can_read_meeting(user.role)),
        "may_read_duty_alerts": bool(user and security.can_read_duty_alerts(user.role)),
        "may_read_handover": bool(user and security.can_read_handover(user.role)),
        "may_read_dashboard": bool(user and security.can_read_dashboard(user.role)),
    }
    return templates.TemplateResponse(request, name, base | context, status_code=status)


def _link_page(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """A page reached by an acknowledge link, not a session. It neither reads nor starts one:
    a link followed from a mail client arrives without the strict session cookie, and a new
    session would replace a signed-in person's. Not cached, and its address (with the token)
    never sent on as a referrer."""
    response = templates.TemplateResponse(
        request, name, {"user": None, "csrf": ""} | context, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _sign_in_first(_: Request, exc: _SignInRequired) -> Response:
    return RedirectResponse(f"/sign-in?next={quote(exc.next_path)}", status_code=303)


async def _refused(request: Request, exc: _Refused) -> Response:
    user = _session_user(_staff(request), request)
    context = {"user": user, "title": exc.title, "detail": exc.detail}
    return _page(request, "error.html", context, exc.status)


async def _link_refused(request: Request, exc: _LinkRefused) -> Response:
    context = {"title": exc.title, "detail": exc.detail}
    return _link_page(request, "error.html", context, exc.status)


def _current_user(request: Request) -> UserRecord:
    user = _session_user(_staff(request), request)
    if user is None:
        request.session.clear()
        raise _SignInRequired(request.url.path)
    request.session["seen"] = time.time()
    return user


CurrentUser = Annotated[UserRecord, Depends(_current_user)]


def _checked(request: Request, csrf_token: str) -> None:
    if not security.csrf_valid(request.session, csrf_token):
        raise _Refused(
            403,
            "This form has expired",
            "The page was open too long or came from elsewhere. Go back, reload the page "
            "and submit it again; nothing was recorded.",
        )


@router.get("/health", include_in_schema=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/") -> HTMLResponse:
    return _page(request, "sign_in.html", {"user": None, "next": _local(next)})


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(request: Request, form: Annotated[SignInForm, Form()]) -> Response:
    _checked(request, form.csrf_token)
    staff = _staff(request)
    name = form.username.strip().lower()
    client = request.client.host if request.client else "unknown"
    subjects = (f"user:{name}", f"address:{client}")
    retry = {"user": None, "next": _local(form.next), "username": form.username}
    wait = max(staff.failures.wait(subject) for subject in subjects)
    if wait > 0:
        log.warning("sign-in refused: too many failures (address %s)", client)
        error = f"Too many failed attempts. Try again in {int(wait) + 1} seconds."
        return _page(request, "sign_in.html", retry | {"error": error}, 429)
    user = staff.store.get_user(name)
    if user is None or user.disabled_at is not None:
        user = None
    if not security.verify_password(user.password_hash if user else None, form.password):
        for subject in subjects:
            staff.failures.record(subject)
        log.warning("failed sign-in (address %s)", client)
        error = "That username and password do not match an active account."
        return _page(request, "sign_in.html", retry | {"error": error}, 401)
    assert user is not None  # noqa: S101 - verify_password fails without one
    # A new session at sign-in: nothing from before (a planted session id) carries over.
    request.session.clear()
    request.session.update({"user": user.username, "seen": time.time()})
    log.info("signed in: %s (%s)", user.username, user.role.value)
    home = f"/queues/{security.HOME_QUEUE[user.role].value}"
    target = _local(form.next)
    return RedirectResponse(home if target == "/" else target, status_code=303)


@router.post("/sign-out")
def sign_out(request: Request, form: Annotated[PlainForm, Form()]) -> Response:
    _checked(request, form.csrf_token)
    request.session.clear()
    return RedirectResponse("/sign-in", status_code=303)


@router.get("/")
def home(user: CurrentUser) -> Response:
    return RedirectResponse(f"/queues/{security.HOME_QUEUE[user.role].value}", status_code=303)


@router.get("/queues/{queue}", response_class=HTMLResponse)
def queue_page(
    request: Request, queue: Queue, user: CurrentUser, decided: str = ""
) -> HTMLResponse:
    if not security.can_read(user.role, queue):
        raise _not_yours(queue)
    staff = _staff(request)
    now = staff.clock()
    rows = [(row, countdown(row.decision_due_at, now)) for row in staff.store.queue(queue)]
    context = {"user": user, "queue": queue, "rows": rows, "decided": decided}
    return _page(request, "queue.html", context)


def _item_context(
    staff: Staff, user: UserRecord, item_id: str, *, page_name: str = "item"
) -> dict[str, Any]:
    """What the item page shows; viewing it is written to the access log."""
    view = staff.store.item(item_id)
    if view is None:
        raise _Refused(404, "No such work item", "It may have been removed or mistyped.")
    if not security.can_read(user.role, view.work_item.queue):
        raise _not_yours(view.work_item.queue)
    staff.store.log_access(
        user.username, view.work_item.child_key, page_name, item_id, staff.clock()
    )
    discussions = staff.store.discussions(item_id)
    return {
        "user": user,
        "view": view,
        "item": view.work_item,
        "countdown": countdown(view.work_item.decision_due_at, staff.clock()),
        "may_decide": security.can_decide(user.role, view.work_item.queue),
        "may_override": security.can_override_consent(user.role),
        "form": DecisionForm(decision_id=f"dec-{uuid.uuid4()}"),
        "discussion_form": DiscussionForm(discussion_event_id=f"sd-{uuid.uuid4()}"),
        "discussion_errors": {},
        "discussions": discussions,
        # Asked for until one is held, or a manager decides it will not be.
        "discussion_required": _discussion_required(view)
        and not any(d.status is not DiscussionStatus.CONVENED for d in discussions),
        "agencies": list(Agency),
        "statuses": list(DiscussionStatus),
        "override_form": OverrideForm(override_id=f"co-{uuid.uuid4()}"),
        "errors": {},
        "override_errors": {},
        "levels": [1, 2, 3, 4],
        "next_steps": list(NextStep),
        "lawful_bases": list(LawfulBasis),
    }


@router.get("/items/{item_id}", response_class=HTMLResponse)
def item_page(request: Request, item_id: str, user: CurrentUser) -> HTMLResponse:
    return _page(request, "item.html", _item_context(_staff(request), user, item_id))


@router.post("/items/{item_id}/claim")
def claim(
    request: Request, item_id: str, user: CurrentUser, form: Annotated[PlainForm, Form()]
) -> Response:
    _checked(request, form.csrf_token)
    staff = _staff(request)
    view = _decidable(staff, user, item_id)
    result = staff.store.claim(view.work_item.event_id, user.username, staff.clock())
    if not result.claimed:
        raise _Refused(
            409,
            "Already claimed",
            f"{result.holder} is working on this item. Ask them, or a team manager, to release it.",
        )
    return RedirectResponse(f"/items/{quote(item_id)}", status_code=303)


@router.post("/items/{item_id}/release")
def release(
    request: Request, item_id: str, user: CurrentUser, form: Annotated[PlainForm, Form()]
) -> Response:
    _checked(request, form.csrf_token)
    staff = _staff(request)
    view = _decidable(staff, user, item_id)
    manager = user.role is StaffRole.TEAM_MANAGER
    if not staff.store.release(
        view.work_item.event_id, user.username, staff.clock(), manager=manager
    ):
        raise _Refused(
            403,
            "Not yours to release",
            "Only the worker who claimed an item, or a team manager, can release it.",
        )
    return RedirectResponse(f"/items/{quote(item_id)}", status_code=303)


@router.post("/items/{item_id}/decision", response_class=HTMLResponse)
def decide(
    request: Request, item_id: str, user: CurrentUser, form: Annotated[DecisionForm, Form()]
) -> Response:
    _checked(request, form.csrf_token)
    staff = _staff(request)
    view = _decidable(staff, user, item_id)
    decision, errors = _decision(staff, user, view, form)
    if decision is not None and not errors:
        # The referrer is told with the decision; a resubmission after a failure publishes both
        # again, with the same ids, so nothing is recorded or told twice.
        if not _send(staff, decision, outcome_notification(decision, view.work_item)):
            errors = {
                "": "The decision could not be sent just now, so it is not recorded. "
                "Your text is kept below: try again in a minute."
            }
            status = 503
        else:
            staff.store.mark_decided(view.work_item.event_id, decision)
            log.info("decision %s recorded for %s", decision.event_id, view.work_item.event_id)
            return RedirectResponse(
                f"/queues/{view.work_item.queue.value}?decided={quote(item_id)}", status_code=303
            )
    else:
        status = 422
    context = _item_context(staff, user, item_id, page_name="decision form")
    context.update(form=form, errors=errors)
    return _page(request, "item.html", context, status)


def _decision(
    staff: Staff, user: UserRecord, view: ItemView, form: DecisionForm
) -> tuple[ThresholdDecision | None, dict[str, str]]:
    """The decision the form describes, or what is wrong with it (field -> message)."""
    item = view.work_item
    try:
        decision = ThresholdDecision(
            event_id=_form_id(form.decision_id, "dec"),
            work_item_id=item.event_id,
            child_key=item.child_key,
            source_event_id=item.source_event_id,
            queue=item.queue,
            level=int(form.level) if form.level.isdigit() else 0,
            next_step=form.next_step or None,
            rationale=form.rationale,
            decided_by=user.username,
            decided_by_role=user.role,
            decided_at=staff.clock(),
            consent=form.consent or None,
            consent_not_sought_reason=form.consent_not_sought_reason.strip() or None,
            revises=view.decision_event_id,
        )
    except ValidationError as exc:
        errors = _field_errors(exc)
        # An empty rationale fails the model; say what a rationale needs instead.
        if "rationale" in errors:
            errors["rationale"] = (
                rationale_problem(form.rationale, staff.minimum_rationale_words)
                or errors["rationale"]
            )
        return None, errors
    return decision, dict(decision_problems(decision, staff.minimum_rationale_words))


@router.post("/items/{item_id}/consent-override", response_class=HTMLResponse)
def override_consent(
    request: Request, item_id: str, user: CurrentUser, form: Annotated[OverrideForm, Form()]
) -> Response:
    _checked(request, form.csrf_token)
    if not security.can_override_consent(user.role):
        log.warning("consent override refused: %s is a %s", user.username, user.role.value)
        raise _Refused(
            403,
            "Only a team manager can override consent",
            "Sharing information without consent is a team manager's decision, with its "
            "lawful basis recorded. Nothing was recorded or shared.",
        )
    staff = _staff(request)
    item = _decidable(staff, user, item_id).work_item
    now = staff.clock()
    try:
        event = ConsentEvent(
            event_id=_form_id(form.override_id, "co"),
            received_at=now,
            action=ConsentAction.OVERRIDDEN,
            decided_at=now,
            decided_by=user.display_name,
            decided_by_role=DeciderRole.TEAM_MANAGER,
            contact_event_id=item.source_event_id,
            children=[item.child],
            lawful_basis=form.lawful_basis or None,
            rationale=form.rationale.strip() or None,
            information_shared=form.information_shared.strip() or None,
            shared_with=[part.strip() for part in form.shared_with.split(",") if part.strip()],
        )
    except ValidationError as exc:
        errors, status = _field_errors(exc), 422
    else:
        # Through intake, as a partner's consent event, so the child's history records it.
        if not _send(staff, event, headers={SENDER_HEADER: STAFF_SENDER}):
            errors = {"": "The override could not be sent just now, so it is not recorded."}
            status = 503
        else:
            log.info("consent override %s recorded for %s", event.event_id, item.event_id)
            return RedirectResponse(f"/items/{quote(item_id)}?overridden=1", status_code=303)
    context = _item_context(staff, user, item_id, page_name="consent override form")
    context.update(override_form=form, override_errors=errors)
    return _page(request, "item.html", context, status)


@router.post("/items/{item_id}/strategy-discussion", response_class=HTMLResponse)
def record_discussion(
    request: Request, item_id: str, user: CurrentUser, form: Annotated[DiscussionForm, Form()]
) -> Response:
    _checked(request, form.csrf_token)
    staff = _staff(request)
    view = _decidable(staff, user, item_id)
    item = view.work_item
    if not _discussion_required(view) or view.decision_event_id is None:
        raise _Refused(
            409,
            "No strategy discussion is required for this item",
            "A strategy discussion follows a level-4 decision or a strategy-discussion next "
            "step. Record that decision first.",
        )
    errors: dict[str, str] = {}
    try:
        discussion = StrategyDiscussion(
            event_id=_form_id(form.discussion_event_id, "sd"),
            # One discussion per work item: the clock waiting for it is the item's.
            discussion_id=derived_id("discussion", item.event_id),
            decision_id=view.decision_event_id,
            work_item_id=item.event_id,
            child_key=item.child_key,
            status=form.status or None,
            at=staff.clock(),
            recorded_by=user.username,
            recorded_by_role=user.role,
            invitees=form.invitees,
            attendees=form.attendees,
            section_47={"yes": True, "no": False}.get(form.section_47),
            rationale=form.rationale.strip() or None,
        )
    except ValidationError as exc:
        errors, status = _field_errors(exc), 422
    else:
        errors = dict(discussion_problems(discussion, staff.minimum_rationale_words))
        status = 422
    if not errors:
        discussion = held_discussion(discussion, child_has_school(item.child))
        if not _send(staff, discussion):
            errors = {"": "The discussion could not be sent just now, so it is not recorded."}
            status = 503
        else:
            log.info("strategy discussion %s recorded for %s", discussion.event_id, item_id)
            missing = ",".join(agency.value for agency in discussion.missing_agencies)
            query = f"discussion={discussion.status.value}" + (
                f"&missing={missing}" if missing else ""
            )
            return RedirectResponse(f"/items/{quote(item_id)}?{query}", status_code=303)
    context = _item_context(staff, user, item_id, page_name="strategy discussion form")
    context.update(discussion_form=form, discussion_errors=errors)
    return _page(request, "item.html", context, status)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, user: CurrentUser) -> HTMLResponse:
    if not security.can_read_timeliness_alerts(user.role):
        raise _Refused(403, "Timeliness alerts are for team managers", "Ask your team manager.")
    context = {
        "user": user,
        "alerts": _staff(request).store.timeliness_alerts(open_only=True),
        "may_acknowledge": security.can_acknowledge_timeliness_alerts(user.role),
    }
    return _page(request, "alerts.html", context)


@router.post("/alerts/{clock_id}/acknowledge")
def acknowledge_alert(
    request: Request, clock_id: str, user: CurrentUser, form: Annotated[PlainForm, Form()]
) -> Response:
    _checked(request, form.csrf_token)
    if not security.can_acknowledge_timeliness_alerts(user.role):
        raise _Refused(403, "Only a team manager acknowledges an alert", "Nothing was recorded.")
    staff = _staff(request)
    if not staff.store.acknowledge_alert(clock_id, user.username, staff.clock()):
        raise _Refused(404, "No such alert", "It may have been acknowledged already.")
    return RedirectResponse("/alerts", status_code=303)


@router.get("/duty-alerts", response_class=HTMLResponse)
def duty_alerts_page(request: Request, user: CurrentUser, acknowledged: str = "") -> HTMLResponse:
    """Duty-team alerts, newest first, each acknowledged (who, when, how) or not."""
    if not security.can_read_duty_alerts(user.role):
        raise _Refused(403, "Duty-team alerts are the duty team's", "Ask the duty manager.")
    context = {
        "user": user,
        "alerts": _staff(request).store.duty_alerts(),
        "may_acknowledge": security.can_acknowledge_duty_alerts(user.role),
        "acknowledged": acknowledged,
    }
    return _page(request, "duty_alerts.html", context)


@router.post("/duty-alerts/{alert_id}/staff-acknowledge")
def acknowledge_duty_alert(
    request: Request, alert_id: str, user: CurrentUser, form: Annotated[PlainForm, Form()]
) -> Response:
    """The duty-alerts page's Acknowledge button: published as the signed-in user."""
    _checked(request, form.csrf_token)
    if not security.can_acknowledge_duty_alerts(user.role):
        raise _Refused(
            403,
            "Only the duty team or a team manager acknowledges a duty alert",
            "Nothing was recorded.",
        )
    staff = _staff(request)
    alert = staff.store.duty_alert(alert_id)
    if alert is None:
        raise _Refused(
            404, "No such duty alert", "It may have been mistyped. Nothing was recorded."
        )
    if not _acknowledge(staff, alert, user.username, AcknowledgedVia.STAFF_APPLICATION):
        raise _Refused(
            503,
            "The acknowledgement was not recorded",
            "It could not be sent just now. Try again in a minute; if it keeps failing, phone "
            "the duty manager.",
        )
    return RedirectResponse(f"/duty-alerts?acknowledged={quote(alert_id)}", status_code=303)


@router.get("/duty-alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_link_page(request: Request, alert_id: str, token: str = "") -> HTMLResponse:
    """Where an alert's acknowledge link leads: the alert (no child's name) and one button. No
    sign-in, as the person may be on a phone at 2 a.m.; opening it acknowledges nothing."""
    recipient = _link_recipient(request, alert_id, token)
    context = {"alert": _linked_alert(request, alert_id), "token": token, "recipient": recipient}
    return _link_page(request, "acknowledge.html", context)


@router.post("/duty-alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge_by_link(
    request: Request, alert_id: str, form: Annotated[LinkAcknowledgeForm, Form()]
) -> HTMLResponse:
    """The acknowledge link's button: published as the recipient the link was made for.

    Unlike every other form this one carries no session CSRF token: what authorises it is the
    signed token in the form, not a cookie that a request forged by another site would carry,
    so such a request would need the token, and whoever has the token can post it anyway.
    """
    recipient = _link_recipient(request, alert_id, form.token)
    staff = _staff(request)
    alert = _linked_alert(request, alert_id)
    if not _acknowledge(staff, alert, recipient, AcknowledgedVia.EMAIL_LINK):
        raise _LinkRefused(
            503,
            "The acknowledgement was not recorded",
            "It could not be sent just now. Press the button again in a minute; if it keeps "
            "failing, phone the duty manager.",
        )
    context = {
        "alert": staff.store.duty_alert(alert_id) or alert,
        "recipient": recipient,
        "recorded": True,
    }
    return _link_page(request, "acknowledge.html", context)


@router.get("/handover", response_class=HTMLResponse)
def handover_page(request: Request, user: CurrentUser, at: str = "") -> HTMLResponse:
    """The out-of-hours handover: every duty-team alert raised between the closing before the
    latest opening and that opening (or the opening at or before ``at``), whether it was
    acknowledged, and what was decided on its work item."""
    if not security.can_read_handover(user.role):
        raise _Refused(403, "The handover is the MASH's", "Ask a MASH team manager.")
    staff = _staff(request)
    now = staff.clock()
    closed_at, opened_at = staff.calendar.out_of_hours_before(
        _handover_moment(at, staff.calendar) if at else now
    )
    entries = staff.store.handover(closed_at, opened_at)
    for entry in entries:
        staff.store.log_access(
            user.username, entry.alert.child_key, "handover", entry.alert.work_item_id, now
        )
    # The next opening's handover exists once that opening has passed.
    following = staff.calendar.next_opening(opened_at + timedelta(seconds=1))
    context = {
        "user": user,
        "closed_at": closed_at,
        "opened_at": opened_at,
        "entries": entries,
        "earlier": closed_at - timedelta(seconds=1),
        "later": following if following <= now else None,
    }
    return _page(request, "handover.html", context)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(
    request: Request, user: CurrentUser, days: str = str(DASHBOARD_DAYS)
) -> HTMLResponse:
    """The front door's figures for today and the ``days - 1`` days before (7 by default, 1 to
    90): queues, decisions on time, strategy discussions, police notifications, re-referrals,
    step-downs, duty-team alerts and school notifications. It reads and records nothing else."""
    if not security.can_read_dashboard(user.role):
        raise _Refused(
            403, "The dashboard is for team managers and leaders", "Ask your team manager."
        )
    staff = _staff(request)
    now = staff.clock()
    count = _dashboard_days(days)
    period = recent_days(now, count, staff.calendar.timezone)
    events = staff.store.dashboard_events(period.start, period.end)
    figures = dashboard(events, period, now, staff.decision_rules, staff.calendar)
    charts = dashboard_charts(figures, queue_titles=QUEUE_TITLES, agency_titles=AGENCY_TITLES)
    context = {
        "user": user,
        "figures": figures,
        "charts": charts,
        "days": count,
        "day_choices": (1, DASHBOARD_DAYS, 28, MOST_DASHBOARD_DAYS),
        "most_days": MOST_DASHBOARD_DAYS,
        "due_hours": staff.decision_rules.strategy_discussion_due_hours,
        "duration": _duration,
    }
    return _page(request, "dashboard.html", context)


def _dashboard_days(days: str) -> int:
    """The number of days ``?days=`` asks for, or the refusal that says what it may be."""
    # ASCII digits only: str.isdigit also takes digits int() cannot read, such as "²".
    if days.isascii() and days.isdigit() and 1 <= int(days) <= MOST_DASHBOARD_DAYS:
        return int(days)
    raise _Refused(
        400,
        "That is not a period the dashboard shows",
        f"Give a whole number of days from 1 to {MOST_DASHBOARD_DAYS}, such as "
        f"/dashboard?days={DASHBOARD_DAYS}.",
    )


@router.get("/meeting", response_class=HTMLResponse)
def meeting_page(request: Request, user: CurrentUser, agenda: str = "") -> HTMLResponse:
    """The daily domestic-abuse meeting: the latest agenda (or ``agenda``), each child with what
    the meeting needs, the records made, and a form per child."""
    if not security.can_read_meeting(user.role):
        raise _Refused(403, "The daily meeting is the MASH's", "Ask a MASH team manager.")
    return _meeting(request, user, agenda or None)


def _meeting(
    request: Request,
    user: UserRecord,
    agenda_id: str | None,
    *,
    child_key: str = "",
    form: MeetingRecordForm | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    staff = _staff(request)
    shown = staff.store.agenda(agenda_id)
    if agenda_id is not None and shown is None:
        raise _Refused(404, "No such agenda", "It may not have been published yet.")
    now = staff.clock()
    for household in shown.households if shown else []:
        for child in household.children:
            staff.store.log_access(
                user.username, child.child_key, "meeting", child.work_item_id, now
            )
    context = {
        "user": user,
        "agenda": shown,
        "agendas": staff.store.agendas(),
        "records": staff.store.meeting_records(shown.meeting_at) if shown else {},
        "may_record": security.can_record_meeting(user.role),
        "form_child": child_key,
        "form": form or MeetingRecordForm(),
        "errors": errors or {},
        "recorded": request.query_params.get("recorded", ""),
    }
    return _page(request, "meeting.html", context, status)


@router.post("/meeting/{agenda_id}/children/{child_key}", response_class=HTMLResponse)
def record_meeting(
    request: Request,
    agenda_id: str,
    child_key: str,
    user: CurrentUser,
    form: Annotated[MeetingRecordForm, Form()],
) -> Response:
    """One child's record: checked as a whole (the impact, at least one owned and dated action)
    and published, or refused with the text kept and nothing written."""
    _checked(request, form.csrf_token)
    if not security.can_record_meeting(user.role):
        raise _Refused(403, "Only the MASH records the meeting", "Nothing was recorded.")
    staff = _staff(request)
    agenda = staff.store.agenda(agenda_id)
    found = [
        (household, child)
        for household in (agenda.households if agenda else [])
        for child in household.children
        if child.child_key == child_key
    ]
    if agenda is None or not found:
        raise _Refused(404, "No such child on that agenda", "Nothing was recorded.")
    household, child = found[0]
    record_id = _form_id(form.record_id, "mr")
    actions, errors = _actions(form, record_id)
    try:
        record = MeetingRecord(
            event_id=record_id,
            agenda_id=agenda.event_id,
            meeting_at=agenda.meeting_at,
            household_id=household.household_id,
            child_key=child_key,
            work_item_id=child.work_item_id,
            impact_on_child=form.impact_on_child.strip(),
            actions=actions,
            recorded_by=user.username,
            recorded_by_role=user.role,
            recorded_at=staff.clock(),
        )
    except ValidationError as exc:
        errors = _field_errors(exc) | errors
    else:
        problems = dict(meeting_record_problems(record, staff.minimum_rationale_words))
        errors = problems | errors
    if not errors:
        if _send(staff, record):
            staff.store.record_meeting(record)
            log.info("meeting record %s for %s", record.event_id, child_key)
            return RedirectResponse(
                f"/meeting?agenda={quote(agenda_id)}&recorded={quote(child_key)}#{quote(child_key)}",
                status_code=303,
            )
        errors = {"": "The record could not be sent just now, so it is not recorded."}
        status = 503
    else:
        status = 422
    form = form.model_copy(update={"record_id": record_id})
    return _meeting(
        request, user, agenda_id, child_key=child_key, form=form, errors=errors, status=status
    )


def _actions(form: MeetingRecordForm, record_id: str) -> tuple[list[MeetingAction], dict[str, str]]:
    """The actions the form's rows describe, and what is wrong with any row half filled in."""
    actions: list[MeetingAction] = []
    errors: dict[str, str] = {}
    rows = zip(
        (form.action_description + [""] * ACTION_ROWS)[:ACTION_ROWS],
        (form.action_owner + [""] * ACTION_ROWS)[:ACTION_ROWS],
        (form.action_due_on + [""] * ACTION_ROWS)[:ACTION_ROWS],
        strict=True,
    )
    for index, (description, owner, due_on) in enumerate(rows):
        if not (description.strip() or owner or due_on):
            continue
        try:
            actions.append(
                MeetingAction(
                    action_id=derived_id("action", record_id, str(index)),
                    description=description.strip(),
                    owner=Agency(owner),
                    due_on=date.fromisoformat(due_on),
                )
            )
        except (ValueError, ValidationError):
            errors[f"actions.{index}"] = (
                "Give this action what will be done, the agency that owns it and a due date."
            )
    return actions, errors


@router.get("/children/{child_key}", response_class=HTMLResponse)
def chronology_page(request: Request, child_key: str, user: CurrentUser) -> HTMLResponse:
    staff = _staff(request)
    entries = staff.store.chronology(child_key)
    readable = [entry for entry in entries if security.can_read(user.role, entry.queue)]
    if not readable:
        raise _Refused(
            404, "No record you can see", "No work item for this child is on a queue you can read."
        )
    staff.store.log_access(user.username, child_key, "chronology", None, staff.clock())
    context = {"user": user, "child_key": child_key, "entries": readable}
    return _page(request, "chronology.html", context)


@router.get("/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, user: CurrentUser) -> HTMLResponse:
    if not security.can_work_tasks(user.role):
        raise _Refused(403, "MASH tasks are the MASH's", "Ask a MASH worker or team manager.")
    context = {"user": user, "tasks": _staff(request).store.tasks(open_only=True)}
    return _page(request, "tasks.html", context)


@router.get("/access-log", response_class=HTMLResponse)
def access_log_page(request: Request, user: CurrentUser, child_key: str = "") -> HTMLResponse:
    if not security.can_read_access_log(user.role):
        raise _Refused(403, "The access log is for team managers", "Ask your team manager.")
    entries = _staff(request).store.access_log(500, child_key=child_key or None)
    context = {"user": user, "entries": entries, "child_key": child_key}
    return _page(request, "access_log.html", context)


def _send(staff: Staff, *events: Event, headers: Mapping[str, str] | None = None) -> bool:
    """Publish ``events`` in order, each to its declared topic with its key, acknowledged by the
    broker; False, logged by id, when the broker did not take them all."""
    try:
        publisher = staff.publisher()
        for event in events:
            spec = destination(event)
            publisher.publish(
                spec.name_under(staff.topic_prefix),
                event,
                key=spec.key_of(event),
                headers=headers,
            )
    except FrontDoorError as exc:
        log.error(  # noqa: TRY400 - the error's class says enough; no traceback per retry
            "%s not published (%s)",
            ", ".join(event.event_id for event in events),
            type(exc).__name__,
        )
        return False
    return True


def _acknowledge(staff: Staff, alert: DutyAlertView, by: str, via: AcknowledgedVia) -> bool:
    """Publish that ``by`` has seen ``alert`` and is acting on it, and keep it in the store;
    False when the broker did not take it. The event id is derived from the alert and ``by``,
    so a second press by the same person, once stored, publishes nothing more."""
    event_id = derived_id("alert-acknowledgement", alert.event_id, by)
    if alert.acknowledged is not None and alert.acknowledged.event_id == event_id:
        return True
    acknowledgement = AlertAcknowledgement(
        event_id=event_id,
        alert_id=alert.event_id,
        work_item_id=alert.work_item_id,
        child_key=alert.child_key,
        acknowledged_by=by,
        via=via,
        acknowledged_at=staff.clock(),
    )
    if not _send(staff, acknowledgement):
        return False
    staff.store.record_acknowledgement(acknowledgement)
    log.info("duty alert %s acknowledged by %s (%s)", alert.event_id, by, via.value)
    return True


def _link_recipient(request: Request, alert_id: str, token: str) -> str:
    """Who the acknowledge link was made for, or the refusal that says why it cannot be used."""
    try:
        return read_acknowledge_token(request.app.state.acknowledge_secret, token, alert_id)
    except AcknowledgeLinkError as exc:
        log.warning("acknowledge link refused for alert %s (%s)", alert_id, exc.message)
        raise _LinkRefused(
            403,
            "This acknowledge link cannot be used",
            f"{exc.message[:1].upper()}{exc.message[1:]}. Nothing was recorded. Sign in to the "
            "staff application and acknowledge the alert under Duty alerts, or phone the duty "
            "manager.",
        ) from exc


def _linked_alert(request: Request, alert_id: str) -> DutyAlertView:
    alert = _staff(request).store.duty_alert(alert_id)
    if alert is None:
        raise _LinkRefused(
            404,
            "This alert has not reached the staff application yet",
            "Nothing was recorded. Try the link again in a minute; if it still fails, phone "
            "the duty manager.",
        )
    return alert


def _handover_moment(at: str, calendar: OfficeCalendar) -> datetime:
    """The moment ``?at=`` names: a date is the end of that day (its opening's handover); a
    time without a zone is the office's local time."""
    try:
        moment = datetime.combine(date.fromisoformat(at), datetime.max.time())
    except ValueError:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise _Refused(
                400,
                "That is not a date the handover understands",
                "Give a date such as 2026-12-07, or a date and time such as 2026-12-07T09:00.",
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(calendar.timezone))
    return moment


def _session_user(staff: Staff, request: Request) -> UserRecord | None:
    """The signed-in user, if the session is live and the account still active."""
    username = request.session.get("user")
    seen = request.session.get("seen")
    if not isinstance(username, str) or not isinstance(seen, (int, float)):
        return None
    if time.time() - seen > staff.settings.session_idle_minutes * 60:
        return None
    user = staff.store.get_user(username)
    if user is None or user.disabled_at is not None:
        return None
    return user


def _decidable(staff: Staff, user: UserRecord, item_id: str) -> ItemView:
    view = staff.store.item(item_id)
    if view is None:
        raise _Refused(404, "No such work item", "It may have been removed or mistyped.")
    if not security.can_decide(user.role, view.work_item.queue):
        log.warning(
            "refused: %s may not act on queue %s", user.username, view.work_item.queue.value
        )
        raise _Refused(
            403,
            "Not your queue to decide",
            f"Your role ({ROLE_TITLES[user.role]}) cannot act on items in the "
            f"{QUEUE_TITLES[view.work_item.queue]} queue. Nothing was recorded.",
        )
    return view


def _discussion_required(view: ItemView) -> bool:
    """Whether the item's current decision calls for a strategy discussion."""
    current = next((d for d in view.decisions if d.event_id == view.decision_event_id), None)
    return current is not None and (
        current.level == STRATEGY_LEVEL or current.next_step is NextStep.STRATEGY_DISCUSSION
    )


def _not_yours(queue: Queue) -> _Refused:
    return _Refused(
        403, "Not your queue", f"Your role cannot read the {QUEUE_TITLES[queue]} queue."
    )


def _local(path: str) -> str:
    """Only a path on this site, never another site (an open redirect)."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _form_id(submitted: str, prefix: str) -> str:
    """The id the form was rendered with (a resubmission publishes the same event), if sane."""
    cleaned = submitted.strip()
    if (
        cleaned.startswith(f"{prefix}-")
        and len(cleaned) <= 64
        and cleaned.replace("-", "").isalnum()
    ):
        return cleaned
    return f"{prefix}-{uuid.uuid4()}"


def _field_errors(exc: ValidationError) -> dict[str, str]:
    """Each field's first problem, in words, never echoing what was typed."""
    errors: dict[str, str] = {}
    for error in exc.errors(include_input=False, include_url=False):
        field_name = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if not field_name and ": " in message:
            field_name, _, message = message.partition(": ")
        errors.setdefault(field_name, _plain(field_name, message))
    return errors


def _plain(field_name: str, message: str) -> str:
    if field_name == "level":
        return "Choose the level of need (1 to 4)."
    if field_name == "next_step":
        return "Choose the next step."
    return message[:1].upper() + message[1:] if message else "This is needed."


@dataclass(frozen=True)
class Countdown:
    """Time to an item's decision deadline, in words, with its RAG colour."""

    text: str
    rag: Priority
    overdue: bool


def countdown(due: datetime, now: datetime) -> Countdown:
    remaining = due - now
    overdue = remaining < timedelta(0)
    text = _duration(abs(remaining))
    if overdue:
        return Countdown(f"overdue by {text}", Priority.RED, True)
    rag = Priority.AMBER if remaining <= DUE_SOON else Priority.GREEN
    return Countdown(f"due in {text}", rag, False)


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
