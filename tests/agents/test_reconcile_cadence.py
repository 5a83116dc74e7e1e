"""When the leading worker's reconciliation acts: it reads every run, and acts once an interval."""

from __future__ import annotations

from agents.reconcile import Cadence


def test_it_acts_a_whole_interval_after_the_first_run_then_once_each_interval() -> None:
    cadence = Cadence(30.0, slack=2.0)
    runs = [1000.0 + 2.0 * run for run in range(31)]  # a run every two seconds for a minute

    acted = [run - 1000.0 for run in runs if cadence.due(run)]

    assert acted == [30.0, 60.0]


def test_a_run_that_comes_a_little_early_still_acts_and_a_clock_step_changes_nothing() -> None:
    cadence = Cadence(30.0, slack=2.0)
    cadence.due(0.0)

    assert cadence.due(29.5)  # the timer's runs drift by a fraction of their spacing
    assert not cadence.due(30.0)
    assert cadence.due(59.5)
