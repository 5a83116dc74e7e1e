"""Driving the system Chromium with Playwright, for the tests of pages people use.

The browser comes from the machine (``apt-get install -y chromium``; ``FRONTDOOR_CHROMIUM`` names
another), never from Playwright's own download, which does not work here. Screenshots of what a
person sees go to ``test-artifacts/screenshots/`` (or ``FRONTDOOR_SCREENSHOTS_DIR``) for review.
The fixtures themselves are in ``tests/connectors/conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page, expect

CHROMIUM = os.environ.get("FRONTDOOR_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get(
        "FRONTDOOR_SCREENSHOTS_DIR",
        Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots",
    )
)
# Flags verified on this kind of machine (shared/tooling-notes.md): no sandbox in a container.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def dashboard_charts(page: Page, names: set[str]) -> dict[str, int]:
    """Once the dashboard shows its charts (``names``, each once): how many points each drew."""
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    charts = page.locator("figure[data-chart]")
    expect(charts).to_have_count(len(names))
    drawn = {
        chart.get_attribute("data-chart") or "": int(chart.get_attribute("data-points") or 0)
        for chart in charts.all()
    }
    assert set(drawn) == names
    for chart in charts.all():
        expect(chart.get_by_role("img")).to_be_visible()
    return drawn


def screenshot(page: Page, name: str) -> None:
    """Save the whole page as ``<name>.png`` among the screenshots for review."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
