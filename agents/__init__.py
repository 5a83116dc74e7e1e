"""Faust agents: thin shells that decode, call a pure function and send.

Importing this package registers every agent on the app (``streams.platform.app.app``).
"""

from agents import dead_letters, identification, intake, routing

__all__ = ["dead_letters", "identification", "intake", "routing"]
