"""Faust agents: thin shells that decode, call a pure function and send; and the reconciliation.

Importing this package registers every agent on the app (``streams.platform.app.app``).
"""

from agents import dead_letters, health, identification, intake, reconcile, routing

__all__ = ["dead_letters", "health", "identification", "intake", "reconcile", "routing"]
