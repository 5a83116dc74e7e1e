"""Faust agents: thin shells that decode, call a pure function and send; and the reconciliation.

Importing this package registers every agent on the app (``streams.platform.app.app``).
"""

from agents import (
    clocks,
    dead_letters,
    exporter,
    health,
    identification,
    intake,
    meeting,
    reconcile,
    routing,
)

__all__ = [
    "clocks",
    "dead_letters",
    "exporter",
    "health",
    "identification",
    "intake",
    "meeting",
    "reconcile",
    "routing",
]
