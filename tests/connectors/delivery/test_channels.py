"""The channel file: the shipped demo loads, every mistake is refused with its line, and each
outbound message finds its recipients (or says plainly that it has none)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from connectors.delivery.channels import (
    DEFAULT_CHANNELS_FILE,
    Channels,
    EmailRoute,
    FetchRoute,
    Recipient,
    RetryPolicy,
    WebhookRoute,
    load_channels,
)
from connectors.delivery.signing import new_secret
from connectors.generator import Generator
from schemas.errors import ConfigurationError, NoChannelError
from schemas.models import (
    AlertStatus,
    ClockKind,
    DeliveryChannel,
    EventType,
    MeetingTick,
    NotificationRecipient,
)
from streams.decisions.schools import SafeguardingLead, load_safeguarding_leads
from tests.connectors.delivery.synthetic import (
    FAKE,
    SUMMER,
    duty_team_alert,
    health_notification,
    information_request,
    outcome_notification,
    school_notification,
    timeliness_alert,
)

SECRET = new_secret()
ENVIRON = {"FRONTDOOR_WEBHOOK_SECRET_POLICE": SECRET, "FRONTDOOR_DEMO_WEBHOOK_SECRET": SECRET}
LEADS = {"990002": SafeguardingLead(urn="990002", name=FAKE.name(), email="dsl@school.sch.example")}

# A complete, valid file; the refusals below each change one thing. Line numbers matter.
VALID = """\
version: 1
retry:
  first_seconds: 0.01
  longest_seconds: 0.05
  give_up_after_minutes: 0.5
duty_team:
  - email: [edt@council.example.org, edt-lead@council.example.org]
duty_manager:
  - email: duty-manager@council.example.org
team_managers:
  - email: managers@council.example.org
education_team:
  - email: education@council.example.org
health_visiting:
  - email: hv@health.example.org
school_nursing:
  - email: sn@health.example.org
schools:
  "990003":
    - email: office@meadowbank.sch.example
partners:
  police.west:
    - webhook:
        url: https://police-west.example.org/webhooks/frontdoor
        secret_env: FRONTDOOR_WEBHOOK_SECRET_POLICE
    - email: mash-liaison@police-west.example.org
  health.synthetic-gp:
    - fetch
default_partner:
  - email: partners@council.example.org
"""


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Channels:
    path = tmp_path / "channels.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_channels(path, ENVIRON if environ is None else environ)


def _refusal(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigurationError) as raised:
        _load(tmp_path, text, environ)
    return raised.value.message


def _changed(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new, 1)


# ---------------------------------------------------------------------------------------------
# The shipped file.


def test_the_shipped_demo_file_loads_with_its_webhook_secret_set() -> None:
    channels = load_channels(None, {"FRONTDOOR_DEMO_WEBHOOK_SECRET": SECRET})
    assert channels.retry == RetryPolicy()
    for team in ("duty_team", "duty_manager", "team_managers", "education_team"):
        assert [route.channel for route in channels.teams[team]] == [DeliveryChannel.EMAIL]
    assert channels.default_partner == (FetchRoute(),)
    # The webhook partner is the police force the synthetic generator sends as, so that a demo
    # exercises it.
    police = next(
        generated.sender
        for generated in Generator(seed=1)
        if generated.event_type is EventType.POLICE_NOTIFICATION
    )
    webhook_partners = [
        code
        for code, routes in channels.partners.items()
        if any(isinstance(route, WebhookRoute) for route in routes)
    ]
    assert webhook_partners == [police]
    route = channels.partners[police][0]
    assert isinstance(route, WebhookRoute)
    assert route.url == "http://127.0.0.1:8026/webhooks/frontdoor"


def test_the_shipped_demo_file_needs_its_webhook_secret() -> None:
    with pytest.raises(ConfigurationError, match="FRONTDOOR_DEMO_WEBHOOK_SECRET is not set"):
        load_channels(None, {})


def test_the_shipped_demo_file_uses_synthetic_addresses_only() -> None:
    text = DEFAULT_CHANNELS_FILE.read_text(encoding="utf-8")
    addresses = re.findall(r"[\w.+-]+@[\w.-]+", text)
    assert addresses
    assert all(address.endswith((".example.org", ".sch.example")) for address in addresses)


def test_the_shipped_demo_file_tells_every_synthetic_school_by_its_lead() -> None:
    channels = load_channels(None, {"FRONTDOOR_DEMO_WEBHOOK_SECRET": SECRET})
    leads = load_safeguarding_leads()
    for urn in ("990001", "990002", "990003", "990005", "990006", "990007"):
        [recipient] = channels.recipients_of(school_notification(school_urn=urn), leads)
        assert recipient == Recipient(f"school:{urn}", EmailRoute((leads[urn].email,)))


# ---------------------------------------------------------------------------------------------
# Reading a valid file.


def test_a_valid_file_loads_every_section(tmp_path: Path) -> None:
    channels = _load(tmp_path, VALID)
    assert channels.retry == RetryPolicy(
        first_seconds=0.01, longest_seconds=0.05, give_up_after_seconds=30.0
    )
    assert channels.teams["duty_team"] == (
        EmailRoute(("edt@council.example.org", "edt-lead@council.example.org")),
    )
    assert channels.schools == {"990003": (EmailRoute(("office@meadowbank.sch.example",)),)}
    assert channels.partners["police.west"] == (
        WebhookRoute("https://police-west.example.org/webhooks/frontdoor", SECRET),
        EmailRoute(("mash-liaison@police-west.example.org",)),
    )
    assert channels.partners["health.synthetic-gp"] == (FetchRoute(),)
    assert channels.default_partner == (EmailRoute(("partners@council.example.org",)),)


def test_optional_sections_take_their_defaults(tmp_path: Path) -> None:
    required_only = """\
        version: 1
        duty_team: [email: edt@council.example.org]
        duty_manager: [email: duty-manager@council.example.org]
        team_managers: [email: managers@council.example.org]
        education_team: [email: education@council.example.org]
        health_visiting: [email: hv@health.example.org]
        schools:
        partners:
        """
    channels = _load(tmp_path, required_only)
    assert channels.retry == RetryPolicy()
    assert (channels.schools, channels.partners) == ({}, {})
    assert channels.default_partner == (FetchRoute(),)
    assert "school_nursing" not in channels.teams


def test_a_webhook_to_this_machine_may_use_plain_http(tmp_path: Path) -> None:
    for host in ("localhost", "127.0.0.1", "[::1]"):
        url = f"http://{host}:8026/webhooks/frontdoor"
        text = _changed("https://police-west.example.org/webhooks/frontdoor", url)
        assert _load(tmp_path, text).partners["police.west"][0] == WebhookRoute(url, SECRET)


# ---------------------------------------------------------------------------------------------
# Refusals, each with its line.


@pytest.mark.parametrize(
    ("old", "new", "line", "problem"),
    [
        (
            "edt-lead@council.example.org]",
            "EDT lead <edt-lead@council.example.org>]",
            7,
            "duty_team: email: 'EDT lead <edt-lead@council.example.org>' is not an e-mail address",
        ),
        (
            "managers@council.example.org",
            "managers@council",
            11,
            "team_managers: email: 'managers@council' is not an e-mail address",
        ),
        ("hv@health.example.org", "[]", 15, "health_visiting: email: list at least one address"),
        (
            "https://police-west.example.org",
            "http://police-west.example.org",
            24,
            "partner 'police.west': webhook: url: must use https (plain http only to localhost "
            "or 127.0.0.1)",
        ),
        (
            "https://police-west.example.org",
            "https://user:pw@police-west.example.org",
            24,
            "webhook: url: a webhook URL carries no user name or password",
        ),
        (
            "https://police-west.example.org/webhooks/frontdoor",
            "police-west.example.org/webhooks",
            24,
            "webhook: url: not a URL such as https://",
        ),
        (
            "https://police-west.example.org",
            "https://[::1",
            24,
            "webhook: url: not a URL such as https://",
        ),
        (
            "FRONTDOOR_WEBHOOK_SECRET_POLICE",
            "FRONTDOOR_WEBHOOK_SECRET_POLICE_NORTH",
            25,
            "partner 'police.west': webhook: the environment variable "
            "FRONTDOOR_WEBHOOK_SECRET_POLICE_NORTH is not set",
        ),
        (
            "FRONTDOOR_WEBHOOK_SECRET_POLICE",
            "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==",
            25,
            "secret_env: the name of an environment variable",
        ),
        (
            "        secret_env: FRONTDOOR_WEBHOOK_SECRET_POLICE\n",
            "",
            23,
            "partner 'police.west': webhook: 'secret_env' is required",
        ),
        (
            "duty_team:\n  - email: [",
            "duty_team:\n  - fetch\n  - email: [",
            7,
            "duty_team: fetch is only for partners (nobody fetches here)",
        ),
        (
            '"990003":\n    - email: office@meadowbank.sch.example',
            '"990003":\n    - fetch',
            20,
            "school 990003: fetch is only for partners",
        ),
        (
            "duty_manager:\n",
            "duty_managers:\n",
            8,
            "the channel file: unknown key 'duty_managers' (did you mean 'duty_manager'?)",
        ),
        (
            "        url:",
            "        uri:",
            24,
            "partner 'police.west': webhook: unknown key 'uri' (did you mean 'url'?)",
        ),
        ("  - email: sn@", "  - emial: sn@", 17, "school_nursing: unknown key 'emial'"),
        ("version: 1", "version: 2", 1, "version: must be 1"),
        ("version: 1\n", "", 1, "'version' is required"),
        (
            "education_team:\n  - email: education@council.example.org\n",
            "",
            1,
            "'education_team' is required: list its routes",
        ),
        (
            "duty_manager:\n  - email: duty-manager@council.example.org",
            "duty_manager: []",
            8,
            "duty_manager: list its routes",
        ),
        (
            "default_partner:\n  - email: partners@",
            "default_partner:\n  - sms: partners@",
            30,
            "default_partner: unknown key 'sms'",
        ),
        (
            "  - email: duty-manager@council.example.org",
            "  - email: duty-manager@council.example.org\n  - email: second@council.example.org",
            10,
            "duty_manager: a second email route (the first is on line 9): put every address in one",
        ),
        ('  "990003":', '  "99-3":', 19, "schools: '99-3' is not a school URN"),
        ("  police.west:", "  Police West:", 22, "partners: 'Police West' is not a sender code"),
        ("first_seconds: 0.01", "first_seconds: fast", 3, "retry.first_seconds: a number more"),
        ("first_seconds: 0.01", "first_seconds: 0", 3, "retry.first_seconds: a number more"),
        (
            "give_up_after_minutes: 0.5",
            "give_up_after_minutes: 100000",
            5,
            "retry.give_up_after_minutes: a number more than 0 and at most 10080",
        ),
        (
            "longest_seconds: 0.05",
            "longest_seconds: 0.001",
            2,
            "retry: longest_seconds (0.001) is less than first_seconds (0.01)",
        ),
        ("team_managers:", "duty_team:", 10, "duplicate key 'duty_team' (first given on line 6)"),
    ],
)
def test_each_mistake_is_refused_with_its_line(
    tmp_path: Path, old: str, new: str, line: int, problem: str
) -> None:
    message = _refusal(tmp_path, _changed(old, new))
    assert f"channels.yaml:{line}: " in message
    [reported] = [text for text in message.splitlines() if f"channels.yaml:{line}: " in text]
    assert problem in reported


def test_a_missing_webhook_key_is_reported_on_the_webhook_line(tmp_path: Path) -> None:
    message = _refusal(tmp_path, _changed("        url:", "        uri:"))
    assert "channels.yaml:23: partner 'police.west': webhook: 'url' is required" in message


def test_a_short_secret_is_refused_naming_the_variable_never_the_value(tmp_path: Path) -> None:
    short = "whsec_c2hvcnQtc2VjcmV0"  # 12 bytes
    message = _refusal(tmp_path, VALID, {"FRONTDOOR_WEBHOOK_SECRET_POLICE": short})
    assert (
        "channels.yaml:25: partner 'police.west': webhook: FRONTDOOR_WEBHOOK_SECRET_POLICE: "
        in message
    )
    assert "at least 24 random bytes" in message
    assert "c2hvcnQtc2VjcmV0" not in message


def test_a_secret_without_its_prefix_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, VALID, {"FRONTDOOR_WEBHOOK_SECRET_POLICE": SECRET[6:]})
    assert "FRONTDOOR_WEBHOOK_SECRET_POLICE: a webhook secret starts with 'whsec_'" in message
    assert SECRET[6:] not in message


def test_every_problem_in_the_file_is_listed_at_once_in_line_order(tmp_path: Path) -> None:
    text = VALID.replace("version: 1", "version: 3").replace(
        "https://police-west", "http://police-west"
    )
    text = text.replace("hv@health.example.org", "hv at health").replace("  - fetch", "  - fax")
    message = _refusal(tmp_path, text, {})
    lines = [int(found) for found in re.findall(r"channels\.yaml:(\d+): ", message)]
    assert lines == [1, 15, 24, 25, 28]
    assert len(message.splitlines()) == 5


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("- just a list\n", "channels.yaml:1: the channel file must be a mapping"),
        ("duty_team: [\n", "channels.yaml:2: not valid YAML"),
        ("# only a comment\n", "the channel file is empty"),
    ],
)
def test_a_file_that_is_not_a_channel_file_is_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    assert problem in _refusal(tmp_path, text)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="the channel file does not exist"):
        load_channels(tmp_path / "nowhere.yaml", ENVIRON)


# ---------------------------------------------------------------------------------------------
# Routes.


def test_a_webhook_secret_is_never_in_repr_or_str(tmp_path: Path) -> None:
    channels = _load(tmp_path, VALID)
    route = channels.partners["police.west"][0]
    recipient = Recipient("partner:police.west", route)
    for shown in (repr(route), str(route), repr(recipient), repr(channels), f"{channels}"):
        assert SECRET not in shown
        assert SECRET[6:] not in shown
    assert repr(route) == "WebhookRoute(host='police-west.example.org')"


def test_a_webhook_url_is_not_repeated_in_a_problem(tmp_path: Path) -> None:
    # A partner's URL may carry a token; the line number says which URL is wrong.
    url = "http://police-west.example.org/hooks?token=partner-token-123"
    message = _refusal(
        tmp_path, _changed("https://police-west.example.org/webhooks/frontdoor", url)
    )
    assert "channels.yaml:24: partner 'police.west': webhook: url: must use https" in message
    assert "partner-token-123" not in message
    route = WebhookRoute("https://police-west.example.org/hooks?token=partner-token-123", SECRET)
    assert "partner-token-123" not in repr(route)


def test_each_route_names_its_channel() -> None:
    assert EmailRoute(("a@council.example.org",)).channel is DeliveryChannel.EMAIL
    assert WebhookRoute("https://x.example.org/", SECRET).channel is DeliveryChannel.WEBHOOK
    assert FetchRoute().channel is DeliveryChannel.FETCH


def test_routes_made_in_code_are_checked_too() -> None:
    with pytest.raises(ValueError, match="not an e-mail address"):
        EmailRoute(("not-an-address",))
    with pytest.raises(ValueError, match="at least one address"):
        EmailRoute(())
    with pytest.raises(ValueError, match="must use https"):
        WebhookRoute("http://police-west.example.org/", SECRET)
    with pytest.raises(ConfigurationError, match="whsec_"):
        WebhookRoute("https://police-west.example.org/", "not-a-secret")


# ---------------------------------------------------------------------------------------------
# Who receives each message.


@pytest.fixture
def channels(tmp_path: Path) -> Channels:
    return _load(tmp_path, VALID)


def _codes(recipients: list[Recipient]) -> list[tuple[str, DeliveryChannel]]:
    return [(recipient.code, recipient.route.channel) for recipient in recipients]


def test_a_duty_team_alert_goes_to_the_duty_team_as_one_email(channels: Channels) -> None:
    recipients = channels.recipients_of(duty_team_alert(), LEADS)
    assert recipients == [
        Recipient(
            "duty_team",
            EmailRoute(("edt@council.example.org", "edt-lead@council.example.org")),
        )
    ]


def test_an_unacknowledged_duty_alert_is_resent_and_escalated(channels: Channels) -> None:
    alert = timeliness_alert(clock=ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT, status=AlertStatus.OVERDUE)
    assert _codes(channels.recipients_of(alert, LEADS)) == [
        ("duty_team", DeliveryChannel.EMAIL),
        ("duty_manager", DeliveryChannel.EMAIL),
    ]


def test_a_late_acknowledgement_is_told_to_the_duty_manager(channels: Channels) -> None:
    alert = timeliness_alert(clock=ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT, status=AlertStatus.CLEARED)
    assert _codes(channels.recipients_of(alert, LEADS)) == [("duty_manager", DeliveryChannel.EMAIL)]


@pytest.mark.parametrize(
    "clock", [kind for kind in ClockKind if kind is not ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT]
)
@pytest.mark.parametrize("status", list(AlertStatus))
def test_other_timeliness_alerts_go_to_the_team_managers(
    channels: Channels, clock: ClockKind, status: AlertStatus
) -> None:
    alert = timeliness_alert(clock=clock, status=status)
    assert _codes(channels.recipients_of(alert, LEADS)) == [
        ("team_managers", DeliveryChannel.EMAIL)
    ]


def test_a_listed_partner_gets_each_of_its_routes_under_one_code(channels: Channels) -> None:
    request = information_request(addressed_to_sender="police.west")
    assert _codes(channels.recipients_of(request, LEADS)) == [
        ("partner:police.west", DeliveryChannel.WEBHOOK),
        ("partner:police.west", DeliveryChannel.EMAIL),
    ]
    outcome = outcome_notification(addressed_to_sender="health.synthetic-gp")
    assert _codes(channels.recipients_of(outcome, LEADS)) == [
        ("partner:health.synthetic-gp", DeliveryChannel.FETCH)
    ]


def test_a_partner_not_listed_takes_the_default_routes(channels: Channels) -> None:
    for event in (
        information_request(addressed_to_sender="school.990001"),
        outcome_notification(addressed_to_sender="school.990001"),
    ):
        assert channels.recipients_of(event, LEADS) == [
            Recipient("partner:school.990001", EmailRoute(("partners@council.example.org",)))
        ]


def test_a_school_is_told_by_its_safeguarding_lead(channels: Channels) -> None:
    assert channels.recipients_of(school_notification(school_urn="990002"), LEADS) == [
        Recipient("school:990002", EmailRoute(("dsl@school.sch.example",)))
    ]


def test_a_school_listed_in_the_file_is_told_there_instead(channels: Channels) -> None:
    leads = LEADS | {
        "990003": SafeguardingLead("990003", FAKE.name(), "dsl@meadowbank.sch.example")
    }
    assert channels.recipients_of(school_notification(school_urn="990003"), leads) == [
        Recipient("school:990003", EmailRoute(("office@meadowbank.sch.example",)))
    ]


def test_a_school_without_a_lead_or_a_route_has_no_channel(channels: Channels) -> None:
    notification = school_notification(school_urn="990009")
    with pytest.raises(NoChannelError) as raised:
        channels.recipients_of(notification, LEADS)
    message = str(raised.value)
    assert "990009" in message
    for personal in (notification.given_name, notification.family_name):
        assert personal is not None
        assert personal not in message


def test_a_school_notification_without_a_urn_has_no_channel(channels: Channels) -> None:
    with pytest.raises(NoChannelError, match="no school URN"):
        channels.recipients_of(school_notification(school_urn=None), LEADS)


def test_a_lead_whose_contact_is_not_an_address_has_no_channel(channels: Channels) -> None:
    leads = {"990002": SafeguardingLead("990002", FAKE.name(), "dsl at school")}
    with pytest.raises(NoChannelError, match="990002: the safeguarding lead's contact"):
        channels.recipients_of(school_notification(school_urn="990002"), leads)


def test_a_child_educated_at_home_is_told_to_the_education_team(channels: Channels) -> None:
    notification = school_notification(
        recipient=NotificationRecipient.LOCAL_AUTHORITY_EDUCATION, school_urn=None
    )
    assert _codes(channels.recipients_of(notification, LEADS)) == [
        ("education_team", DeliveryChannel.EMAIL)
    ]


@pytest.mark.parametrize(
    ("recipient", "code"),
    [
        (NotificationRecipient.HEALTH_VISITING, "health_visiting"),
        (NotificationRecipient.SCHOOL_NURSING, "school_nursing"),
    ],
)
def test_health_is_told_by_its_service(
    channels: Channels, recipient: NotificationRecipient, code: str
) -> None:
    notification = health_notification(recipient=recipient)
    assert _codes(channels.recipients_of(notification, LEADS)) == [(code, DeliveryChannel.EMAIL)]


def test_a_kind_of_event_nobody_receives_has_no_channel(channels: Channels) -> None:
    tick = MeetingTick(event_id="meeting-tick-0001", ticked_at=SUMMER)
    with pytest.raises(NoChannelError, match="nobody receives a MeetingTick meeting-tick-0001"):
        channels.recipients_of(tick, LEADS)


def test_a_team_the_file_does_not_name_has_no_channel(tmp_path: Path) -> None:
    channels = _load(tmp_path, _changed("school_nursing:\n  - email: sn@health.example.org\n", ""))
    notification = health_notification(recipient=NotificationRecipient.SCHOOL_NURSING)
    with pytest.raises(NoChannelError, match="no route for school_nursing"):
        channels.recipients_of(notification, LEADS)
