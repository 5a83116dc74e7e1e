"""What the agents load once at worker start: the rules file and the office calendar.

A malformed rules file stops the worker at start-up with the file and line named, never at 3 a.m.
on the first event that would have matched.
"""

from __future__ import annotations

from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules
from streams.platform.app import worker_settings

rules = load_rules(worker_settings.rules_file or DEFAULT_RULES_FILE)
calendar = rules.office_calendar()
