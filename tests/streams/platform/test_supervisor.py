"""The local stack's supervisor: what each child it starts is given."""

from __future__ import annotations

from streams.platform.settings import MetricsSettings
from streams.platform.supervisor import worker_metrics_ports


def test_each_worker_gets_its_own_metrics_port_never_the_delivery_services() -> None:
    metrics = MetricsSettings(worker_port=9101, delivery_port=9102)

    assert worker_metrics_ports(metrics, 3) == [9101, 9103, 9104]


def test_workers_serve_no_metrics_when_the_worker_endpoint_is_off() -> None:
    assert worker_metrics_ports(MetricsSettings(worker_port=0), 2) == [0, 0]
