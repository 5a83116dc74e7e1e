"""The channel file: who receives each outbound message, by which route, and how long to retry.

The authority edits a YAML file (the shipped demo is ``channels.yaml`` beside this module) that
names a route for each recipient: an e-mail to one or more addresses, a signed webhook, or
``fetch`` (the partner fetches the message from the gateway with its API key). The whole file is
checked when the delivery service starts and every problem is reported in one
:class:`ConfigurationError`, each as ``file:line: message``, so that a mistake is found by
whoever changed the file, not by an undelivered alert at 3 a.m. Webhook secrets are never in the
file: it names the environment variable that holds each one.

:meth:`Channels.recipients_of` answers, for one outbound message, who receives it. Pure: no
clock, no network; reading the file is the only I/O.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from connectors.delivery.signing import secret_key
from connectors.partner_keys import PARTNER_PATTERN
from schemas.errors import ConfigurationError, NoChannelError
from schemas.models import (
    AlertStatus,
    ClockKind,
    DeliveryChannel,
    DutyTeamAlert,
    Event,
    IncidentNotification,
    InformationRequest,
    NotificationRecipient,
    OutcomeNotification,
    TimelinessAlert,
)
from streams.decisions.schools import SafeguardingLead
from streams.decisions.yaml_files import compose_file

__all__ = [
    "DEFAULT_CHANNELS_FILE",
    "Channels",
    "EmailRoute",
    "FetchRoute",
    "Recipient",
    "RetryPolicy",
    "Route",
    "WebhookRoute",
    "load_channels",
]

DEFAULT_CHANNELS_FILE: Path = Path(__file__).with_name("channels.yaml")

# The local authority's own teams: recipient codes, and the channel file's keys for them.
DUTY_TEAM = "duty_team"
DUTY_MANAGER = "duty_manager"
TEAM_MANAGERS = "team_managers"
EDUCATION_TEAM = "education_team"
HEALTH_VISITING = "health_visiting"
SCHOOL_NURSING = "school_nursing"
_TEAMS = (DUTY_TEAM, DUTY_MANAGER, TEAM_MANAGERS, EDUCATION_TEAM, HEALTH_VISITING, SCHOOL_NURSING)
# School nursing is told only when the rules file's domestic_abuse.notify_school_nursing is on,
# so an authority that does not notify it need not name a route.
_OPTIONAL_TEAMS = frozenset({SCHOOL_NURSING})

_TEAM_OF_NOTIFIED: Mapping[NotificationRecipient, str] = {
    NotificationRecipient.LOCAL_AUTHORITY_EDUCATION: EDUCATION_TEAM,
    NotificationRecipient.HEALTH_VISITING: HEALTH_VISITING,
    NotificationRecipient.SCHOOL_NURSING: SCHOOL_NURSING,
}

# One address, without a display name: no spaces, angle brackets or separators (which would let
# a typo in the file add a header or a second recipient), one @, and a dot in the domain.
_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[^@\s<>,;:\"()\[\]\\]+\.[^@\s<>,;:\"()\[\]\\.]+")
_ENVIRONMENT_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]*")
# Plain HTTP is for a receiver on the same machine (the demo, tests): nothing crosses a network.
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _address_problem(address: str) -> str | None:
    if _ADDRESS.fullmatch(address) is None:
        return f"'{address}' is not an e-mail address such as duty-team@council.example.org"
    return None


def _webhook_url_problem(url: str) -> str | None:
    # The URL is not repeated in a problem: a partner's URL may carry a token in its path or
    # query, and start-up errors are logged. The line says which one.
    not_a_url = "not a URL such as https://partner.example.org/webhooks/frontdoor"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # such as an unclosed [ of an IPv6 address
        return not_a_url
    if parts.scheme not in ("https", "http") or not host:
        return not_a_url
    if parts.username is not None or parts.password is not None:
        # A password in the URL would be written wherever the URL is; the signature is the proof.
        return "a webhook URL carries no user name or password: the signature authenticates it"
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        return "must use https (plain http only to localhost or 127.0.0.1)"
    return None


@dataclass(frozen=True)
class EmailRoute:
    """One e-mail to all of ``to`` (one message: the addresses see each other)."""

    to: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.to:
            raise ValueError("an e-mail route needs at least one address")
        for address in self.to:
            problem = _address_problem(address)
            if problem is not None:
                raise ValueError(problem)

    @property
    def channel(self) -> DeliveryChannel:
        return DeliveryChannel.EMAIL


@dataclass(frozen=True)
class WebhookRoute:
    """A signed POST to ``url`` (:mod:`connectors.delivery.signing`) under ``secret``."""

    url: str
    secret: str

    def __repr__(self) -> str:
        # The host only: a route may be logged, the secret must never be, and a partner's URL
        # may carry a token in its path or query.
        return f"WebhookRoute(host={urlsplit(self.url).hostname!r})"

    def __post_init__(self) -> None:
        problem = _webhook_url_problem(self.url)
        if problem is not None:
            raise ValueError(problem)
        secret_key(self.secret)

    @property
    def channel(self) -> DeliveryChannel:
        return DeliveryChannel.WEBHOOK


@dataclass(frozen=True)
class FetchRoute:
    """Nothing is pushed: the partner fetches the message from the gateway with its API key."""

    @property
    def channel(self) -> DeliveryChannel:
        return DeliveryChannel.FETCH


Route = EmailRoute | WebhookRoute | FetchRoute


@dataclass(frozen=True)
class Recipient:
    """Who receives a message, by one route. ``code`` names them as delivery statuses do:
    ``duty_team``, ``duty_manager``, ``team_managers``, ``education_team``, ``health_visiting``,
    ``school_nursing``, ``school:<URN>`` or ``partner:<sender code>``. A recipient with two
    routes (an e-mail and a webhook) is two recipients with the same code."""

    code: str
    route: Route


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts to deliver one message, and when to stop trying.

    The wait doubles from ``first_seconds`` up to ``longest_seconds``, spread by ``jitter`` (a
    fraction either way) so that messages that failed together are not retried together. After
    ``give_up_after_seconds`` from the first attempt the message is given up: a person is told
    and tells the recipient another way.
    """

    first_seconds: float = 5.0
    longest_seconds: float = 300.0
    give_up_after_seconds: float = 3600.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if min(self.first_seconds, self.longest_seconds, self.give_up_after_seconds) <= 0:
            raise ValueError("the retry times must be more than zero")
        if self.longest_seconds < self.first_seconds:
            raise ValueError(
                f"longest_seconds ({self.longest_seconds:g}) is less than first_seconds "
                f"({self.first_seconds:g})"
            )
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction from 0 up to 1")

    def delay(self, attempt: int, random: Callable[[], float]) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 is the first attempt);
        ``random`` returns a number in [0, 1), such as ``random.random``."""
        if attempt < 1:
            raise ValueError("attempts are numbered from 1")
        # 2.0 ** 1024 overflows; by then any cap has long been reached (a product past the
        # largest float is infinity, which min() caps just the same).
        doubled = self.first_seconds * 2.0 ** min(attempt - 1, 1000)
        factor = 1 - self.jitter + 2 * self.jitter * random()
        return min(doubled, self.longest_seconds) * factor

    def gives_up(self, first_attempt_at: datetime, now: datetime) -> bool:
        """Whether a message first tried at ``first_attempt_at`` is past retrying at ``now``."""
        return now - first_attempt_at >= timedelta(seconds=self.give_up_after_seconds)


Routes = tuple[Route, ...]


def _teams_told(alert: TimelinessAlert) -> tuple[str, ...]:
    """The teams a timeliness alert goes to."""
    if alert.clock is not ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT:
        return (TEAM_MANAGERS,)
    if alert.status is AlertStatus.OVERDUE:
        # A duty-team alert nobody acknowledged: re-sent to the duty team, escalated to the
        # duty manager.
        return (DUTY_TEAM, DUTY_MANAGER)
    return (DUTY_MANAGER,)


@dataclass(frozen=True)
class Channels:
    """The validated channel file (:func:`load_channels`)."""

    retry: RetryPolicy
    #: The authority's own teams' routes, by team code (``duty_team``...).
    teams: Mapping[str, Routes]
    #: Routes that replace a school's safeguarding lead's e-mail, by URN.
    schools: Mapping[str, Routes]
    #: A partner's routes for the messages addressed to it, by sender code.
    partners: Mapping[str, Routes]
    #: The routes of a partner not listed in ``partners``.
    default_partner: Routes = (FetchRoute(),)

    def recipients_of(self, event: Event, leads: Mapping[str, SafeguardingLead]) -> list[Recipient]:
        """Who receives ``event``; ``leads`` are the schools' safeguarding leads, by URN.

        A :class:`NoChannelError` when nobody can be reached (a team without routes, a school
        without routes or a lead, a kind of event nobody receives): retrying cannot help, a
        person must tell the recipient.
        """
        if isinstance(event, DutyTeamAlert):
            return self._team(DUTY_TEAM)
        if isinstance(event, TimelinessAlert):
            return [recipient for team in _teams_told(event) for recipient in self._team(team)]
        if isinstance(event, InformationRequest | OutcomeNotification):
            sender = event.addressed_to_sender
            routes = self.partners.get(sender, self.default_partner)
            return [Recipient(f"partner:{sender}", route) for route in routes]
        if isinstance(event, IncidentNotification):
            if event.recipient is NotificationRecipient.SCHOOL:
                return self._school(event.school_urn, leads)
            return self._team(_TEAM_OF_NOTIFIED[event.recipient])
        raise NoChannelError(f"nobody receives a {type(event).__name__} {event.event_id}")

    def _team(self, code: str) -> list[Recipient]:
        routes = self.teams.get(code, ())
        if not routes:
            raise NoChannelError(f"the channel file names no route for {code}")
        return [Recipient(code, route) for route in routes]

    def _school(self, urn: str | None, leads: Mapping[str, SafeguardingLead]) -> list[Recipient]:
        if urn is None:
            raise NoChannelError("a school notification names no school URN")
        code = f"school:{urn}"
        override = self.schools.get(urn)
        if override:
            return [Recipient(code, route) for route in override]
        lead = leads.get(urn)
        if lead is None:
            raise NoChannelError(
                f"school {urn} has no safeguarding lead's contact and no route in the channel file"
            )
        try:
            route = EmailRoute((lead.email,))
        except ValueError as exc:
            raise NoChannelError(
                f"school {urn}: the safeguarding lead's contact is not an e-mail address"
            ) from exc
        return [Recipient(code, route)]


# ---------------------------------------------------------------------------------------------
# Reading the file. Walked node by node (PyYAML's composer, as the rules file is read) so that
# each problem names its line; problems are collected, not raised one at a time, so that an
# officer fixes the whole file in one go.

_TAG = "tag:yaml.org,2002:"
_SCALARS = SafeConstructor()
_VERSION = 1
_RETRY_KEYS = ("first_seconds", "longest_seconds", "give_up_after_minutes")
_WEBHOOK_KEYS = ("url", "secret_env")
_TOP_KEYS = ("version", "retry", *_TEAMS, "schools", "partners", "default_partner")
# Upper bounds that catch a slip of the keyboard (minutes written as seconds, a zero too many):
# past a day's wait, or a week of retrying, a person should long since have been told.
_RETRY_MAXIMUM: Mapping[str, int] = {
    "first_seconds": 24 * 60 * 60,
    "longest_seconds": 24 * 60 * 60,
    "give_up_after_minutes": 7 * 24 * 60,
}


class _Reader:
    """Turns the composed file into :class:`Channels`, collecting every problem with its line."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[tuple[int, str]] = []

    def problem(self, node: Node, message: str) -> None:
        self.problems.append((node.start_mark.line + 1, message))

    def entries(
        self, node: Node, keys: Sequence[str] | None, what: str
    ) -> dict[str, tuple[Node, Node]]:
        """A mapping's (key node, value node) by key; unknown (when ``keys`` are given) and
        repeated keys are problems, and left out."""
        if not isinstance(node, MappingNode):
            self.problem(node, f"{what} must be a mapping of names to values")
            return {}
        found: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, f"{what}: a key must be a plain word, not a list or mapping")
                continue
            key = str(key_node.value)
            if keys is not None and key not in keys:
                self.problem(key_node, f"{what}: unknown key '{key}'{_suggestion(key, keys)}")
            elif key in found:
                first = found[key][0].start_mark.line + 1
                self.problem(
                    key_node, f"{what}: duplicate key '{key}' (first given on line {first})"
                )
            else:
                found[key] = (key_node, value_node)
        return found

    def mapping(self, node: Node, keys: Sequence[str], what: str) -> dict[str, Node]:
        return {key: value for key, (_, value) in self.entries(node, keys, what).items()}

    def read(self, root: Node) -> Channels | None:
        entries = self.entries(root, _TOP_KEYS, "the channel file")
        if not isinstance(root, MappingNode):
            return None
        values = {key: value for key, (_, value) in entries.items()}
        version = values.get("version")
        if version is None:
            self.problem(root, f"'version' is required (write version: {_VERSION})")
        elif not (isinstance(version, ScalarNode) and version.value == str(_VERSION)):
            self.problem(version, f"version: must be {_VERSION}")
        retry = self.retry(*entries["retry"]) if "retry" in entries else RetryPolicy()
        teams: dict[str, Routes] = {}
        for team in _TEAMS:
            if team in values:
                teams[team] = self.routes(values[team], team, fetch_allowed=False)
            elif team not in _OPTIONAL_TEAMS:
                self.problem(root, f"'{team}' is required: list its routes")
        schools = self.recipients(values.get("schools"), "schools")
        partners = self.recipients(values.get("partners"), "partners")
        default_partner: Routes = (FetchRoute(),)
        if "default_partner" in values:
            default_partner = self.routes(values["default_partner"], "default_partner")
        if retry is None:
            return None
        return Channels(retry, teams, schools, partners, default_partner)

    def retry(self, key: Node, node: Node) -> RetryPolicy | None:
        given: dict[str, float] = {}
        valid = True
        for name, value in self.mapping(node, _RETRY_KEYS, "retry").items():
            number = self.positive_number(value, f"retry.{name}", _RETRY_MAXIMUM[name])
            if number is None:
                valid = False
            else:
                given[name] = number
        if not valid:
            return None
        defaults = RetryPolicy()
        give_up_minutes = given.get("give_up_after_minutes", defaults.give_up_after_seconds / 60)
        try:
            return RetryPolicy(
                first_seconds=given.get("first_seconds", defaults.first_seconds),
                longest_seconds=given.get("longest_seconds", defaults.longest_seconds),
                give_up_after_seconds=give_up_minutes * 60,
            )
        except ValueError as exc:
            self.problem(key, f"retry: {exc}")
            return None

    def positive_number(self, node: Node, what: str, maximum: int) -> float | None:
        if isinstance(node, ScalarNode) and node.tag in (f"{_TAG}int", f"{_TAG}float"):
            number: int | float = (
                _SCALARS.construct_yaml_int(node)
                if node.tag == f"{_TAG}int"
                else _SCALARS.construct_yaml_float(node)
            )
            if 0 < number <= maximum:  # NaN compares false: refused too
                return float(number)
        self.problem(node, f"{what}: a number more than 0 and at most {maximum}, such as 5 or 0.5")
        return None

    def recipients(self, node: Node | None, what: str) -> dict[str, Routes]:
        """The ``schools`` or ``partners`` section: routes by URN or by sender code."""
        if node is None or (isinstance(node, ScalarNode) and node.tag == f"{_TAG}null"):
            return {}  # "partners:" with nothing after it: none listed
        is_schools = what == "schools"
        found: dict[str, Routes] = {}
        for key, (key_node, value) in self.entries(node, None, what).items():
            if is_schools and not (key.isascii() and key.isdigit()):
                self.problem(key_node, f"schools: '{key}' is not a school URN (such as 100001)")
            elif not is_schools and not PARTNER_PATTERN.fullmatch(key):
                self.problem(
                    key_node, f"partners: '{key}' is not a sender code (such as police.west)"
                )
            else:
                label = f"school {key}" if is_schools else f"partner '{key}'"
                # A school is told before the next school day: the message is sent to it,
                # never left for it to fetch.
                found[key] = self.routes(value, label, fetch_allowed=not is_schools)
        return found

    def routes(self, node: Node, what: str, *, fetch_allowed: bool = True) -> Routes:
        if not isinstance(node, SequenceNode) or not node.value:
            self.problem(
                node, f"{what}: list its routes, such as - email: team@council.example.org"
            )
            return ()
        routes: list[Route] = []
        first_line: dict[DeliveryChannel, int] = {}
        for item in node.value:
            route = self.route(item, what, fetch_allowed=fetch_allowed)
            if route is None:
                continue
            if route.channel in first_line:
                # The delivery service tells a recipient's deliveries apart by their channel.
                self.problem(
                    item,
                    f"{what}: a second {route.channel} route (the first is on line "
                    f"{first_line[route.channel]}): put every address in one",
                )
                continue
            first_line[route.channel] = item.start_mark.line + 1
            routes.append(route)
        return tuple(routes)

    def route(self, node: Node, what: str, *, fetch_allowed: bool) -> Route | None:
        if isinstance(node, ScalarNode) and node.value == "fetch":
            if fetch_allowed:
                return FetchRoute()
            self.problem(node, f"{what}: fetch is only for partners (nobody fetches here)")
            return None
        if not isinstance(node, MappingNode) or not node.value:
            self.problem(node, f"{what}: a route is one of email, webhook or fetch")
            return None
        entries = self.entries(node, ("email", "webhook"), what)
        if len(entries) > 1:
            self.problem(node, f"{what}: one route per entry: list email and webhook apart")
        elif "email" in entries:
            return self.email(entries["email"][1], what)
        elif "webhook" in entries:
            return self.webhook(*entries["webhook"], what)
        return None

    def email(self, node: Node, what: str) -> EmailRoute | None:
        items = node.value if isinstance(node, SequenceNode) else [node]
        if not items:
            self.problem(node, f"{what}: email: list at least one address")
            return None
        addresses: list[str] = []
        for item in items:
            if not isinstance(item, ScalarNode) or item.tag != f"{_TAG}str":
                self.problem(item, f"{what}: email: an address, or a list of addresses")
                continue
            problem = _address_problem(str(item.value))
            if problem is not None:
                self.problem(item, f"{what}: email: {problem}")
                continue
            addresses.append(str(item.value))
        return EmailRoute(tuple(addresses)) if len(addresses) == len(items) else None

    def webhook(self, key: Node, node: Node, what: str) -> WebhookRoute | None:
        values = self.mapping(node, _WEBHOOK_KEYS, f"{what}: webhook")
        if not isinstance(node, MappingNode):
            return None
        for missing in (name for name in _WEBHOOK_KEYS if name not in values):
            self.problem(key, f"{what}: webhook: '{missing}' is required")
        url = self.url(values["url"], what) if "url" in values else None
        secret = self.secret(values["secret_env"], what) if "secret_env" in values else None
        if url is None or secret is None:
            return None
        return WebhookRoute(url, secret)

    def url(self, node: Node, what: str) -> str | None:
        if not (isinstance(node, ScalarNode) and node.tag == f"{_TAG}str"):
            self.problem(node, f"{what}: webhook: url: a URL such as https://partner.example.org/")
            return None
        url = str(node.value).strip()
        problem = _webhook_url_problem(url)
        if problem is not None:
            self.problem(node, f"{what}: webhook: url: {problem}")
            return None
        return url

    def secret(self, node: Node, what: str) -> str | None:
        """The secret in the environment variable ``node`` names: its name, never its value, in
        every problem."""
        variable = str(node.value) if isinstance(node, ScalarNode) else ""
        if _ENVIRONMENT_VARIABLE.fullmatch(variable) is None:
            self.problem(
                node,
                f"{what}: webhook: secret_env: the name of an environment variable, such as "
                "FRONTDOOR_WEBHOOK_SECRET_POLICE_WEST",
            )
            return None
        secret = self.environ.get(variable)
        if secret is None:
            self.problem(node, f"{what}: webhook: the environment variable {variable} is not set")
            return None
        try:
            secret_key(secret)
        except ConfigurationError as exc:
            self.problem(node, f"{what}: webhook: {variable}: {exc.message}")
            return None
        return secret


def _suggestion(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (the keys are: {', '.join(known)})"


def load_channels(path: Path | None, environ: Mapping[str, str]) -> Channels:
    """Read and check the channel file at ``path`` (``None``: the shipped demo file), taking
    webhook secrets from ``environ``. Every problem, each ``file:line: message``, is in one
    :class:`ConfigurationError`."""
    file = path if path is not None else DEFAULT_CHANNELS_FILE
    root = compose_file(file, "the channel file")
    reader = _Reader(environ)
    channels = reader.read(root)
    if reader.problems or channels is None:
        lines = [f"{file}:{line}: {message}" for line, message in sorted(set(reader.problems))]
        raise ConfigurationError("\n".join(lines))
    return channels
