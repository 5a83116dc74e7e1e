"""Everything at the edges: partner intake, reference data, work queues, alerts, notifications."""
