"""Delivery to people and partner systems: the channel file, the messages, the signed webhooks,
the delivery service that reads the outbound topics, and the local receivers for a laptop."""
