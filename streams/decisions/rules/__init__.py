"""The local authority's threshold rules: levels of need, indicators and required information.

The rules live in a YAML file that an authority can read and change without touching code
(``streams/decisions/rules/default_rules.yaml`` documents the format for a council officer). A
malformed file fails at start-up, in :func:`load_rules`, with a
:class:`~schemas.errors.ConfigurationError` naming the file and line
(``rules.yaml:42: indicator 'x': level must be 1-4``), never on the first matching event:

* the file is read with PyYAML's composer, so every node keeps its line; duplicate keys and
  unsupported YAML tags are refused while the nodes are turned into plain Python data;
* the data is validated by frozen pydantic models that forbid unknown keys; each validation
  error's location is walked back through the nodes to the line it came from;
* conditions may only name the :data:`FACTS` and only use the operators below, with values of
  the fact's type (and, for facts with a closed set of values, one of those values);
* required-information fields are dotted attribute paths checked against the event models.

A condition is either ``{fact: NAME, OPERATOR: VALUE}`` with exactly one operator, or a
combinator: ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``. Operators: ``equals``,
``contains`` (a list fact contains the value), ``any_of_values`` (the fact's value is in the
list, or a list fact shares one with it), ``at_least`` and ``at_most`` (whole numbers). A fact
that is unknown (missing from the mapping, or null) satisfies no operator, except ``equals:
null``; so ``not`` of a test on an unknown fact holds.

:func:`fired_indicators` says which indicators fire on a mapping of facts, each with evidence
built only from fact names and values, never free text (``all`` gives every part's evidence,
``any`` that of each part that held). :func:`missing_information` says which
required items an event lacks, event-level items first, then each child's in child order.

The package's modules, each importing only those listed before it:

* :mod:`~streams.decisions.rules.facts`: the :data:`FACTS` and operators a condition may use, and
  how the facts are computed from an event, a child and the child's history;
* :mod:`~streams.decisions.rules.model`: the file's pydantic models, :class:`Rules` at the top,
  and every check on their content;
* :mod:`~streams.decisions.rules.loader`: :func:`load_rules`, which reads the YAML keeping each
  node's line and turns validation errors into ``file:line: message``, and
  :func:`load_school_calendar`, which reads the term-dates file the rules name;
* :mod:`~streams.decisions.rules.evaluation`: :func:`fired_indicators` and
  :func:`missing_information`.

This package re-exports the names the rest of the front door imports from it.
"""

from streams.decisions.rules.evaluation import fired_indicators, missing_information
from streams.decisions.rules.facts import FACTS
from streams.decisions.rules.loader import DEFAULT_RULES_FILE, load_rules, load_school_calendar
from streams.decisions.rules.model import DomesticAbuseRules, Rules

__all__ = [
    "DEFAULT_RULES_FILE",
    "FACTS",
    "DomesticAbuseRules",
    "Rules",
    "fired_indicators",
    "load_rules",
    "load_school_calendar",
    "missing_information",
]
