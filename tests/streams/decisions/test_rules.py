"""Threshold rules: a malformed file fails at start-up, naming its line; indicators give evidence.

The default file is the authority's threshold document as shipped; these tests pin down that it
loads, that each kind of mistake an officer can make is refused with the file and line, which
indicators fire on which facts, and which required information a partner is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.errors import ConfigurationError
from schemas.models import (
    Address,
    Agency,
    ConcernCategory,
    ConsentPosition,
    Contact,
    NotificationChild,
    PoliceNotification,
    Referrer,
    ServiceRequested,
)
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.rules import (
    DEFAULT_RULES_FILE,
    FACTS,
    DomesticAbuseRules,
    Rules,
    fired_indicators,
    load_rules,
    load_school_calendar,
    missing_information,
)
from streams.decisions.rules.facts import child_facts, event_facts
from streams.decisions.school_calendar import DEFAULT_TERM_DATES_FILE, Term, load_term_dates
from tests.helpers import contact, police_notification


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules()


def quiet_facts(changes: Mapping[str, object] | None = None, **named: object) -> dict[str, object]:
    """The facts of a contact that worries nobody (no concern at all); override any fact."""
    facts: dict[str, object] = {
        "event_type": "contact",
        "concern_categories": [],
        "immediate_risk": False,
        "service_requested": "not_specified",
        "consent": "given",
        "incident_type": None,
        "event_is_domestic_abuse": False,
        "dash_risk_level": None,
        "dash_score": None,
        "marac_referral_made": None,
        "child_present": None,
        "child_age_years": 10,
        "child_unborn": False,
        "child_educated_at_home": False,
        "child_under_five": False,
        "history.contacts_12m": 0,
        "history.referrals_12m": 0,
        "history.domestic_abuse_incidents_12m": 0,
        "history.open_child_protection_plan": False,
        "history.open_child_in_need_plan": False,
        "history.looked_after": False,
        "history.early_help_open": False,
        "history.strategy_discussions_12m": 0,
    }
    assert set(facts) == set(FACTS)
    facts.update(changes or {})
    facts.update(named)
    return facts


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


HEADER = """\
version: 1
levels: {1: universal, 2: early help, 3: targeted early help, 4: specialist}
"""


def one_indicator(when: str, *, level: str = "3", extra: str = "") -> str:
    """A rules file whose single indicator's ``when`` is on line 8."""
    return (
        HEADER
        + """\
indicators:
  - id: x
    description: An indicator
    level: """
        + level
        + "\n    raises_priority: false\n    when: "
        + when
        + "\n"
        + extra
    )


# ---------------------------------------------------------------------------------------------
# Loading


def test_the_default_rules_file_loads_with_four_levels_and_indicators_at_each(
    rules: Rules,
) -> None:
    assert DEFAULT_RULES_FILE.name == "default_rules.yaml"
    assert sorted(rules.levels) == [1, 2, 3, 4]
    assert {indicator.level for indicator in rules.indicators} == {1, 2, 3, 4}
    ids = [indicator.id for indicator in rules.indicators]
    assert len(ids) == len(set(ids))


def test_the_default_calendar_is_the_standard_office_week(rules: Rules) -> None:
    calendar = rules.office_calendar()
    assert isinstance(calendar, OfficeCalendar)
    assert calendar == OfficeCalendar()


def test_calendar_times_weekday_names_and_closure_dates_are_read_as_written(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        HEADER
        + """\
indicators: []
calendar:
  timezone: Europe/London
  opens: 8:00
  closes: 17:30
  urgent_only_minutes: 45
  working_weekdays: [Monday, tue, wed, thu]
  bank_holidays: false
  extra_closures: [2026-12-24, "2026-12-31"]
""",
    )
    calendar = load_rules(path).office_calendar()
    assert (calendar.opens, calendar.closes) == (time(8, 0), time(17, 30))
    assert calendar.urgent_only_minutes == 45
    assert calendar.working_weekdays == frozenset({0, 1, 2, 3})
    assert calendar.bank_holidays is False
    assert calendar.extra_closures == frozenset({date(2026, 12, 24), date(2026, 12, 31)})


MALFORMED = {
    "level out of range": (
        one_indicator("{fact: immediate_risk, equals: true}", level="5"),
        6,
        "indicator 'x': level must be 1-4",
    ),
    "level not a number": (
        one_indicator("{fact: immediate_risk, equals: true}", level="high"),
        6,
        "indicator 'x': level: input should be a valid integer",
    ),
    "unknown fact": (
        one_indicator("{fact: immediate_risks, equals: true}"),
        8,
        "unknown fact 'immediate_risks' (did you mean 'immediate_risk'?)",
    ),
    "unknown operator": (
        one_indicator("{fact: dash_score, greater_than: 2}"),
        8,
        "indicator 'x': unknown operator 'greater_than'",
    ),
    "text for at_least": (
        one_indicator("{fact: dash_score, at_least: two}"),
        8,
        "'at_least' needs a whole number, not 'two'",
    ),
    "at_least on a yes/no fact": (
        one_indicator("{fact: immediate_risk, at_least: 1}"),
        8,
        "'at_least' needs a whole-number fact",
    ),
    "misspelt value": (
        one_indicator("{fact: concern_categories, contains: neglet}"),
        8,
        "'neglet' is not a value of fact 'concern_categories'",
    ),
    "equals on a list fact": (
        one_indicator("{fact: concern_categories, equals: neglect}"),
        8,
        "'equals' cannot test list fact 'concern_categories'",
    ),
    "two operators": (
        one_indicator("{fact: dash_score, at_least: 1, at_most: 3}"),
        8,
        "use one operator per condition",
    ),
    "empty all": (one_indicator("{all: []}"), 8, "'all' needs at least one condition"),
    "nested wrong type": (
        one_indicator(
            "\n      all:\n        - {fact: dash_score, at_least: 1}"
            "\n        - {fact: history.contacts_12m, at_most: true}"
        ),
        11,
        "'at_most' needs a whole number, not 'true'",
    ),
    "missing level": (
        HEADER + "indicators:\n  - id: x\n    description: An indicator\n"
        "    when: {fact: immediate_risk, equals: true}\n",
        4,
        "indicator 'x': 'level' is required",
    ),
    "misspelt key": (
        one_indicator("{fact: immediate_risk, equals: true}", extra="    descripton: typo\n"),
        9,
        "unknown key 'descripton' (did you mean 'description'?)",
    ),
    "duplicate id": (
        HEADER + "indicators:\n"
        "  - {id: x, description: First, level: 3, when: {fact: immediate_risk, equals: true}}\n"
        "  - {id: y, description: Other, level: 3, when: {fact: immediate_risk, equals: true}}\n"
        "  - {id: x, description: Again, level: 4, when: {fact: immediate_risk, equals: true}}\n",
        6,
        "indicator 'x' is defined twice",
    ),
    "duplicate key": (
        one_indicator("{fact: immediate_risk, equals: true}", extra="    level: 4\n"),
        9,
        "duplicate key 'level' (first given on line 6)",
    ),
    "unknown required field": (
        HEADER + "indicators: []\nrequired_information:\n  contact:\n    event:\n"
        "      - {item: police reference, any_of: [police_reference]}\n",
        7,
        "unknown field 'police_reference' on a contact",
    ),
    "unknown per-child field": (
        HEADER + "indicators: []\nrequired_information:\n  police_notification:\n"
        "    per_child:\n      - {item: name, all_of: [given_name, family_name]}\n"
        "      - {item: dob, any_of: [birth_date]}\n",
        8,
        "unknown field 'birth_date' on a police notification child",
    ),
    "only_if on history": (
        HEADER + "indicators: []\nrequired_information:\n  contact:\n    event:\n"
        "      - item: concern category\n        any_of: [concern_categories]\n"
        "        only_if: {fact: history.looked_after, equals: true}\n",
        9,
        "only_if may test only facts about the event",
    ),
    "closing before opening": (
        HEADER + "indicators: []\ncalendar:\n  opens: 17:00\n  closes: 08:30\n",
        6,
        "calendar.closes: closes (08:30) must be after opens (17:00)",
    ),
    "incomplete levels": (
        "version: 1\nlevels: {1: universal, 2: early help, 4: specialist}\nindicators: []\n",
        2,
        "levels must name each of the levels 1, 2, 3 and 4",
    ),
    "unknown version": (
        HEADER.replace("version: 1", "version: 2") + "indicators: []\n",
        1,
        "version must be 1",
    ),
    "YAML syntax error": (
        one_indicator("{fact: immediate_risk, equals: true}")
        + "required_information:\n  contact: [unclosed\n",
        11,
        "not valid YAML",
    ),
    "tab indentation": (HEADER + "indicators:\n\t- id: x\n", 4, "not valid YAML"),
    "empty file": ("# nothing but a comment\n", 1, "the rules file is empty"),
    "Encompass ages the wrong way round": (
        HEADER + "indicators: []\ndomestic_abuse:\n  encompass_from_age: 16\n"
        "  encompass_until_age: 4\n",
        6,
        "domestic_abuse.encompass_until_age: encompass_until_age (4) must be more than "
        "encompass_from_age (16)",
    ),
    "sixth form ending before year 11": (
        HEADER + "indicators: []\ndomestic_abuse:\n  sixth_form_until_age: 15\n",
        5,
        "sixth_form_until_age (15) must be at least encompass_until_age (16)",
    ),
    "sixth form beyond childhood": (
        HEADER + "indicators: []\ndomestic_abuse:\n  sixth_form_until_age: 19\n",
        5,
        "domestic_abuse.sixth_form_until_age: input should be less than or equal to 18",
    ),
    "DASH score beyond the form": (
        HEADER + "indicators: []\ndomestic_abuse:\n  marac_dash_score: 25\n",
        5,
        "domestic_abuse.marac_dash_score: input should be less than or equal to 24",
    ),
    "every incident a repeat": (
        HEADER + "indicators: []\ndomestic_abuse:\n  marac_repeat_incidents: 1\n",
        5,
        "domestic_abuse.marac_repeat_incidents: input should be greater than or equal to 2",
    ),
    "no brief circumstances at all": (
        HEADER + "indicators: []\ndomestic_abuse:\n  brief_circumstances_characters: 0\n",
        5,
        "brief_circumstances_characters: input should be greater than or equal to 40",
    ),
    "school start not a time": (
        HEADER + "indicators: []\ndomestic_abuse:\n  school_start: half past eight\n",
        5,
        "domestic_abuse.school_start: 'half past eight' is not a 24-hour time",
    ),
    "school nursing not yes or no": (
        HEADER + "indicators: []\ndomestic_abuse:\n  notify_school_nursing: sometimes\n",
        5,
        "domestic_abuse.notify_school_nursing: input should be a valid boolean",
    ),
    "empty term dates file name": (
        HEADER + "indicators: []\ndomestic_abuse:\n  term_dates_file: ''\n",
        5,
        "term_dates_file must be a file name, or null for the default",
    ),
    "misspelt domestic abuse key": (
        HEADER + "indicators: []\ndomestic_abuse:\n  notify_school_nurses: true\n",
        5,
        "domestic_abuse: unknown key 'notify_school_nurses' (did you mean "
        "'notify_school_nursing'?)",
    ),
}


@pytest.mark.parametrize(("text", "line", "fragment"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_rules_file_fails_at_load_naming_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError) as raised:
        load_rules(path)
    message = raised.value.message
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message.splitlines()[0], message


def test_every_problem_in_the_file_is_reported_each_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "indicators:\n"
        "  - {id: a, description: A, level: 0, when: {fact: immediate_risk, equals: true}}\n"
        "  - {id: b, description: B, level: 2, when: {fact: no_such_fact, equals: true}}\n",
    )
    with pytest.raises(ConfigurationError) as raised:
        load_rules(path)
    assert raised.value.message.splitlines() == [
        f"{path}:4: indicator 'a': level must be 1-4",
        f"{path}:5: indicator 'b': unknown fact 'no_such_fact'",
    ]


def test_the_default_domestic_abuse_section_is_the_models_defaults(rules: Rules) -> None:
    assert rules.domestic_abuse == DomesticAbuseRules()
    assert rules.domestic_abuse.school_start == time(8, 30)
    assert rules.domestic_abuse.meeting_time == time(9, 30)
    assert (
        rules.domestic_abuse.encompass_from_age,
        rules.domestic_abuse.encompass_until_age,
        rules.domestic_abuse.sixth_form_until_age,
    ) == (4, 16, 18)
    assert rules.domestic_abuse.term_dates_file is None


def test_the_default_school_calendar_uses_the_shipped_term_dates_and_calendar_zone(
    rules: Rules,
) -> None:
    schools = load_school_calendar(rules)

    assert schools.timezone == rules.calendar.timezone
    assert schools.school_start == time(8, 30)
    assert schools.terms == load_term_dates(DEFAULT_TERM_DATES_FILE).terms


def test_domestic_abuse_settings_are_read_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + """\
indicators: []
calendar: {timezone: Europe/Dublin}
domestic_abuse:
  school_start: 08:45
  notify_school_nursing: true
  brief_circumstances_characters: 200
  marac_repeat_incidents: 4
  meeting_time: "10:00"
""",
    )

    rules = load_rules(path)

    assert rules.domestic_abuse.school_start == time(8, 45)
    assert rules.domestic_abuse.notify_school_nursing is True
    assert rules.domestic_abuse.brief_circumstances_characters == 200
    assert rules.domestic_abuse.marac_repeat_incidents == 4
    assert rules.domestic_abuse.meeting_time == time(10, 0)
    assert load_school_calendar(rules).timezone == "Europe/Dublin"


TERMS = "terms:\n  - {first_day: 2026-09-01, last_day: 2026-10-23}\nclosures: [2026-09-01]\n"


def test_a_term_dates_file_named_without_a_folder_is_read_beside_the_rules_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "our_terms.yaml").write_text(TERMS, encoding="utf-8")
    path = write(
        tmp_path, HEADER + "indicators: []\ndomestic_abuse:\n  term_dates_file: our_terms.yaml\n"
    )

    rules = load_rules(path)

    assert rules.domestic_abuse.term_dates_file == tmp_path / "our_terms.yaml"
    schools = load_school_calendar(rules)
    assert schools.terms == (Term(date(2026, 9, 1), date(2026, 10, 23)),)
    assert schools.closures == frozenset({date(2026, 9, 1)})


def test_a_missing_term_dates_file_stops_loading_naming_both_files(tmp_path: Path) -> None:
    path = write(
        tmp_path, HEADER + "indicators: []\ndomestic_abuse:\n  term_dates_file: absent.yaml\n"
    )

    with pytest.raises(ConfigurationError) as raised:
        load_rules(path)

    assert raised.value.message == (
        f"{path}:5: domestic_abuse.term_dates_file: {tmp_path / 'absent.yaml'}: the term-dates "
        "file does not exist"
    )


def test_a_malformed_term_dates_file_stops_loading_naming_its_line(tmp_path: Path) -> None:
    terms = tmp_path / "terms.yaml"
    terms.write_text(TERMS + "inset: [2026-09-02]\n", encoding="utf-8")
    path = write(
        tmp_path, HEADER + f"indicators: []\ndomestic_abuse:\n  term_dates_file: {terms}\n"
    )

    with pytest.raises(ConfigurationError) as raised:
        load_rules(path)

    assert raised.value.message.startswith(f"{path}:5: domestic_abuse.term_dates_file: {terms}:4: ")
    assert "unknown key 'inset'" in raised.value.message


@pytest.mark.parametrize(
    "settings",
    [
        {"encompass_from_age": 1},
        {"encompass_until_age": 19},
        {"encompass_from_age": 10, "encompass_until_age": 10},
        {"marac_dash_score": 0},
        {"marac_window_days": 0},
        {"brief_circumstances_characters": 5000},
        {"meeting_time": "9.30"},
        {"notify_school_nursing": "yes"},
        {"marac_repeat_incidents": 3.5},
        {"unknown": 1},
    ],
)
def test_bad_domestic_abuse_values_are_refused(settings: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        DomesticAbuseRules.model_validate(settings)


def test_the_domestic_abuse_settings_are_frozen() -> None:
    rules = DomesticAbuseRules()
    with pytest.raises(ValidationError):
        rules.marac_dash_score = 10  # type: ignore[misc]


def test_a_missing_rules_file_is_a_configuration_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigurationError, match=r"absent\.yaml: the rules file does not exist"):
        load_rules(path)


def test_yaml_tags_that_build_objects_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "indicators: !!python/object:os.system []\n")
    with pytest.raises(ConfigurationError, match=r"rules\.yaml:3: unsupported YAML tag"):
        load_rules(path)


# ---------------------------------------------------------------------------------------------
# Which indicators fire


def test_a_quiet_contact_fires_no_indicator(rules: Rules) -> None:
    assert fired_indicators(rules, quiet_facts()) == []


def test_a_sexual_abuse_concern_fires_a_level_4_indicator_with_its_evidence(rules: Rules) -> None:
    fired = fired_indicators(rules, quiet_facts(concern_categories=["sexual_abuse"]))
    assert [(f.id, f.level, f.evidence) for f in fired] == [
        ("sexual-abuse-concern", 4, "concern_categories contains sexual_abuse")
    ]


@pytest.mark.parametrize("concern", ["mental_health", "online_safety"])
def test_an_early_help_contact_without_immediate_risk_fires_only_level_2_indicators(
    rules: Rules, concern: str
) -> None:
    fired = fired_indicators(
        rules, quiet_facts(concern_categories=[concern], service_requested="early_help")
    )
    assert "early-help-requested" in {f.id for f in fired}
    assert {f.level for f in fired} == {2}


def test_a_plain_neglect_concern_is_level_3_and_no_higher(rules: Rules) -> None:
    fired = fired_indicators(rules, quiet_facts(concern_categories=["neglect"]))
    assert [(f.id, f.level) for f in fired] == [("neglect", 3)]


def test_immediate_risk_fires_the_level_4_immediate_risk_indicator(rules: Rules) -> None:
    fired = fired_indicators(rules, quiet_facts(concern_categories=[], immediate_risk=True))
    assert [(f.id, f.level, f.evidence) for f in fired] == [
        ("immediate-risk", 4, "immediate_risk is true")
    ]


@pytest.mark.parametrize(("incidents_before", "escalates"), [(0, False), (1, False), (2, True)])
def test_repeat_domestic_abuse_raises_priority_from_the_third_incident_in_12_months(
    rules: Rules, incidents_before: int, escalates: bool
) -> None:
    facts = quiet_facts(
        {"history.domestic_abuse_incidents_12m": incidents_before},
        event_type="police_notification",
        incident_type="domestic_abuse",
        event_is_domestic_abuse=True,
        dash_risk_level="standard",
    )
    fired = {f.id: f for f in fired_indicators(rules, facts)}
    assert ("repeat-domestic-abuse" in fired) is escalates
    if escalates:
        repeat = fired["repeat-domestic-abuse"]
        assert repeat.raises_priority is True
        assert repeat.level == 3
        assert repeat.evidence == (
            "event_is_domestic_abuse is true and "
            "history.domestic_abuse_incidents_12m is 2 (at least 2)"
        )


def test_domestic_abuse_with_a_child_under_five_present_fires_both_indicators(
    rules: Rules,
) -> None:
    facts = quiet_facts(
        event_type="police_notification",
        incident_type="domestic_abuse",
        event_is_domestic_abuse=True,
        dash_risk_level="medium",
        child_present=True,
        child_age_years=3,
        child_under_five=True,
    )
    assert [f.id for f in fired_indicators(rules, facts)] == [
        "domestic-abuse-child-present",
        "medium-risk-domestic-abuse",
        "under-five-domestic-abuse",
    ]


def test_a_dash_score_of_14_is_high_risk_even_without_the_level(rules: Rules) -> None:
    fired = fired_indicators(rules, quiet_facts(dash_score=14))
    assert [(f.id, f.level, f.evidence) for f in fired] == [
        ("high-risk-domestic-abuse", 4, "dash_score is 14 (at least 14)")
    ]


COMBINATORS = (
    HEADER
    + """\
indicators:
  - id: both
    description: Both
    level: 3
    when:
      all:
        - {fact: concern_categories, any_of_values: [neglect, missing]}
        - {fact: child_age_years, at_most: 4}
  - id: either
    description: Either
    level: 2
    when:
      any:
        - {fact: dash_risk_level, any_of_values: [medium, high]}
        - {fact: history.early_help_open, equals: true}
  - id: not-on-a-plan
    description: Not on a plan
    level: 2
    when: {not: {fact: history.open_child_protection_plan, equals: true}}
"""
)


def test_all_needs_every_condition_and_its_evidence_names_each(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, COMBINATORS))
    plan = {"history.open_child_protection_plan": True}
    young = quiet_facts(plan, concern_categories=["missing", "other"], child_age_years=4)
    assert [(f.id, f.evidence) for f in fired_indicators(rules, young)] == [
        (
            "both",
            "concern_categories contains missing (one of neglect, missing) and "
            "child_age_years is 4 (at most 4)",
        )
    ]
    older = quiet_facts(plan, concern_categories=["missing"], child_age_years=5)
    assert fired_indicators(rules, older) == []


def test_any_needs_one_condition_and_not_inverts_its_condition(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, COMBINATORS))
    facts = quiet_facts({"history.early_help_open": True}, dash_risk_level="standard")
    assert [(f.id, f.evidence) for f in fired_indicators(rules, facts)] == [
        ("either", "history.early_help_open is true"),
        ("not-on-a-plan", "not (history.open_child_protection_plan is true)"),
    ]
    on_a_plan = quiet_facts({"history.open_child_protection_plan": True})
    assert fired_indicators(rules, on_a_plan) == []


def test_a_fact_missing_from_the_mapping_is_unknown_not_an_error(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, COMBINATORS))
    assert [f.id for f in fired_indicators(rules, {})] == ["not-on-a-plan"]


def test_enum_fact_values_match_and_true_never_matches_one(rules: Rules) -> None:
    fired = fired_indicators(rules, quiet_facts(concern_categories=[ConcernCategory.NEGLECT]))
    assert [f.id for f in fired] == ["neglect"]
    assert fired_indicators(rules, quiet_facts(immediate_risk=1)) == []


# ---------------------------------------------------------------------------------------------
# Missing information


def complete_police_notification(**changes: object) -> PoliceNotification:
    """The helpers' notification, plus what the default rules also ask for.

    The helpers' notification has no incident location, and its younger child (aged 3) no
    school or setting.
    """
    oscar, isla = police_notification().children
    fields: dict[str, object] = {
        "location": Address(line1="1 Synthetic Road", postcode="ZZ1 1ZZ"),
        "children": [oscar, isla.model_copy(update={"school_name": "Synthetic Nursery"})],
    }
    fields.update(changes)
    return police_notification(**fields)


def test_a_police_notification_with_two_children_without_dates_of_birth_asks_for_each(
    rules: Rules,
) -> None:
    children = [
        child.model_copy(update={"date_of_birth": None})
        for child in complete_police_notification().children
    ]
    missing = missing_information(rules, complete_police_notification(children=children))
    assert [(m.field, m.item, m.message) for m in missing] == [
        ("children.0.date_of_birth", "date of birth", "child 1: date of birth is missing"),
        ("children.1.date_of_birth", "date of birth", "child 2: date of birth is missing"),
    ]


def test_a_complete_police_notification_lacks_nothing(rules: Rules) -> None:
    assert missing_information(rules, complete_police_notification()) == []


def test_the_helpers_complete_notification_asks_for_nothing(rules: Rules) -> None:
    assert missing_information(rules, police_notification()) == []


def test_a_thin_police_notification_asks_for_event_items_first_then_each_child(
    rules: Rules,
) -> None:
    notification = police_notification(
        police_reference=None,
        dash_risk_level=None,
        children=[
            NotificationChild(given_name="Oscar", present=True),
            NotificationChild(expected_date_of_delivery=date(2027, 2, 1), present=False),
        ],
    )
    assert [m.field for m in missing_information(rules, notification)] == [
        "police_reference",
        "dash_risk_level",
        "children.0.given_name",
        "children.0.date_of_birth",
        "children.0.school_urn",
        "children.0.present_location",
        "children.0.spoken_to",
        # an unborn child is asked for no school; absent, so not where they were
        "children.1.given_name",
        "children.1.spoken_to",
    ]


def test_a_contact_without_referrer_phone_or_email_asks_for_contact_details(
    rules: Rules,
) -> None:
    with_email = contact()
    assert missing_information(rules, with_email) == []
    without = contact(referrer=Referrer(name="Priya Hartley", agency=Agency.EDUCATION))
    assert [(m.field, m.item, m.message) for m in missing_information(rules, without)] == [
        ("referrer.phone", "referrer contact details", "referrer contact details is missing")
    ]


def test_consent_not_sought_needs_its_reason(rules: Rules) -> None:
    no_reason = contact(consent=ConsentPosition.NOT_SOUGHT)
    assert [(m.field, m.item) for m in missing_information(rules, no_reason)] == [
        ("consent_not_sought_reason", "reason consent was not sought")
    ]
    with_reason = contact(
        consent=ConsentPosition.NOT_SOUGHT,
        consent_not_sought_reason="Seeking consent would alert the alleged abuser.",
        service_requested=ServiceRequested.CHILD_PROTECTION,
    )
    assert missing_information(rules, with_reason) == []


@pytest.mark.parametrize("event", [contact(), police_notification()], ids=["contact", "police"])
def test_event_and_child_facts_are_plain_values_as_the_rules_file_spells_them(
    event: object,
) -> None:
    # missing_information tests its only_if conditions on these facts as they are (no enums,
    # tuples or sets): an enum would never equal the text a rules file compares it with.
    assert isinstance(event, Contact | PoliceNotification)
    facts = {**event_facts(event)}
    for child in event.children:
        facts.update(child_facts(child, event.received_at))

    for name, value in facts.items():
        plain = value is None or type(value) in (str, int, bool)
        listed = type(value) is list and all(type(item) is str for item in value)
        assert plain or listed, f"{name} is {type(value).__name__}"
