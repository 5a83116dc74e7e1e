"""Streaming core of the front door: settings, errors, topology, the Faust app, codec, broker."""
