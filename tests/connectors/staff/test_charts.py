"""The dashboard's charts: well-formed SVG (parsed as XML here), every text escaped, the numbers
said to a screen reader and tabled, each chart marked with its name and count of values, and
"no data" instead of a failure when there is nothing to draw."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from markupsafe import Markup

from connectors.staff.charts import (
    NO_DATA,
    Column,
    DashboardCharts,
    DayPoint,
    count_bars,
    dashboard_charts,
    percent_bars,
    stacked_bars,
    trend,
)
from connectors.staff.web import AGENCY_TITLES, QUEUE_TITLES
from streams.decisions.figures import DashboardEvents, Period, Share, dashboard
from tests.streams.decisions.test_figures import CALENDAR, DAY, NOW, RULES, hand_made_day

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(\"x\")</script> & 'q'"


def parsed(chart: Markup) -> ET.Element:
    """The chart's figure as XML: it fails the test if it is not well-formed."""
    return ET.fromstring(str(chart))  # noqa: S314 - markup this test made, not input


def drawing(figure: ET.Element) -> ET.Element:
    svg = figure.find(f"{SVG}svg")
    assert svg is not None
    return svg


def charts(made: DashboardCharts) -> dict[str, ET.Element]:
    figures = [parsed(chart) for chart in vars(made).values()]
    return {figure.attrib["data-chart"]: figure for figure in figures}


def test_a_chart_is_an_image_with_its_numbers_said_and_tabled() -> None:
    figure = parsed(
        percent_bars("decided", "Decided on time", [("MASH", Share(7, 8))], counted="Decisions")
    )
    svg = drawing(figure)

    assert figure.tag == "figure"
    assert figure.attrib["data-points"] == "1"
    assert svg.attrib["role"] == "img"
    assert svg.findtext(f"{SVG}title") == "Decided on time"
    assert svg.attrib["aria-label"] == "Decided on time. MASH: 88% (7 of 8)"
    rows = figure.findall(".//table/tbody/tr")
    assert [[cell.text for cell in row] for row in rows] == [["MASH", "88%", "7 of 8"]]
    bar = [r for r in svg.iter(f"{SVG}rect") if r.attrib["class"] == "chart-bar"]
    assert float(bar[0].attrib["width"]) == pytest.approx(270 * 7 / 8, abs=0.1)
    assert "script" not in str(figure.attrib)


def test_every_text_is_escaped() -> None:
    made = [
        percent_bars("p", HOSTILE, [(HOSTILE, Share(1, 2))], counted=HOSTILE),
        stacked_bars("s", HOSTILE, [(HOSTILE, 1)], [(HOSTILE, [3])]),
        count_bars("c", HOSTILE, [Column(HOSTILE, HOSTILE, 2)], counted=HOSTILE),
        trend("t", HOSTILE, [DayPoint(HOSTILE, HOSTILE, Share(1, 1))], counted=HOSTILE),
    ]
    for chart in made:
        assert "<script>" not in chart
        figure = parsed(chart)
        assert drawing(figure).findtext(f"{SVG}title") == HOSTILE
        assert HOSTILE in drawing(figure).attrib["aria-label"]
        texts = ["".join(element.itertext()) for element in figure.iter()]
        assert HOSTILE in texts


def test_a_long_label_is_cut_in_the_drawing_and_whole_in_the_table() -> None:
    long_name = "police.a-force-with-a-very-long-sender-code"
    figure = parsed(percent_bars("p", "t", [(long_name, Share(1, 1))], counted="n"))
    labels = [
        t.text for t in drawing(figure).iter(f"{SVG}text") if t.attrib["class"] == "chart-label"
    ]
    assert labels == ["police.a-force-with-…"]
    assert figure.findtext(".//tbody/tr/th") == long_name


@pytest.mark.parametrize(
    "chart",
    [
        percent_bars("p", "Nothing", [("MASH", Share(0, 0))], counted="n"),
        percent_bars("p", "Nothing", [], counted="n"),
        stacked_bars("s", "Nothing", [("a", 1), ("b", 2)], [("MASH", [0, 0])]),
        count_bars("c", "Nothing", [Column("00", "midnight", 0)] * 24, counted="n"),
        count_bars("c", "Nothing", [], counted="n"),
        trend("t", "Nothing", [DayPoint("Tue 8", "Tuesday", Share(0, 0))], counted="n"),
        trend("t", "Nothing", [], counted="n"),
    ],
)
def test_nothing_to_draw_says_no_data(chart: Markup) -> None:
    figure = parsed(chart)
    assert figure.attrib["data-points"] == "0"
    assert figure.findtext("figcaption") == "Nothing"
    assert figure.findtext("p") == NO_DATA
    assert figure.find(f"{SVG}svg") is None


def test_a_row_of_nothing_beside_others_says_no_data_in_its_place() -> None:
    rows = [("Police", Share(1, 2)), ("School or education", Share(0, 0))]
    figure = parsed(percent_bars("a", "Attended", rows, counted="Held"))
    assert figure.attrib["data-points"] == "1"
    values = [
        t.text for t in drawing(figure).iter(f"{SVG}text") if t.attrib["class"] == "chart-value"
    ]
    assert values == ["50% (1 of 2)", "no data"]


def test_a_trend_breaks_its_line_on_a_day_without_data() -> None:
    def points(*shares: Share) -> list[DayPoint]:
        return [DayPoint(f"d{n}", f"day {n}", share) for n, share in enumerate(shares)]

    gap = parsed(trend("t", "T", points(Share(1, 2), Share(0, 0), Share(2, 2)), counted="n"))
    assert gap.attrib["data-points"] == "2"
    assert drawing(gap).findall(f"{SVG}polyline") == []
    assert len(drawing(gap).findall(f"{SVG}circle")) == 2

    joined = parsed(trend("t", "T", points(Share(1, 2), Share(2, 2), Share(0, 0)), counted="n"))
    [line] = drawing(joined).findall(f"{SVG}polyline")
    assert len(line.attrib["points"].split()) == 2


def test_a_stack_draws_each_part_and_writes_the_total() -> None:
    figure = parsed(
        stacked_bars("q", "Queues", [("new", 1), ("old", 4)], [("MASH", [2, 1]), ("EH", [0, 3])])
    )
    assert figure.attrib["data-points"] == "3"
    legend_y = "78.0"  # under the two rows
    segments = [
        (rect.attrib["class"], rect.attrib["width"])
        for rect in drawing(figure).iter(f"{SVG}rect")
        if rect.attrib["y"] != legend_y
    ]
    # To the scale of the largest total (3): 2 and 1 of 3 for MASH, 3 of 3 for EH.
    assert segments == [
        ("chart-severity-1", f"{270 * 2 / 3:.1f}"),
        ("chart-severity-4", f"{270 / 3:.1f}"),
        ("chart-severity-4", "270.0"),
    ]
    rows = figure.findall(".//tbody/tr")
    assert [[cell.text for cell in row] for row in rows] == [
        ["MASH", "2", "1", "3"],
        ["EH", "0", "3", "3"],
    ]


def test_the_hand_made_day_draws_every_chart_with_its_values() -> None:
    figures = dashboard(DashboardEvents.of(hand_made_day()), DAY, NOW, RULES.decisions, CALENDAR)
    drawn = charts(
        dashboard_charts(figures, queue_titles=QUEUE_TITLES, agency_titles=AGENCY_TITLES)
    )
    assert {name: int(figure.attrib["data-points"]) for name, figure in drawn.items()} == {
        # Early help 1 + 1, MASH 2 + 1 + 1, duty team 1: the bands with work in them.
        "queue-ages": 6,
        "decisions-on-time": 1,  # one day
        "strategy-discussions-on-time": 1,
        "strategy-discussion-attendance": 3,
        "police-notifications-complete": 2,
        "re-referrals": 1,
        "early-help-step-downs": 1,
        "duty-alerts-by-hour": 2,  # 02 and 18
        "school-notifications": 3,  # on time, late, not delivered
    }
    police = drawn["police-notifications-complete"].findall(".//tbody/tr")
    assert [[cell.text for cell in row] for row in police] == [
        ["police.synthetic", "67%", "2 of 3", "school or setting (1)"],
        ["police.thames", "0%", "0 of 1", "date of birth (1), whether spoken to (1)"],
    ]
    assert drawing(drawn["decisions-on-time"]).attrib["aria-label"] == (
        "First decisions within one working day, each day. Tuesday 8 December 2026: 88% (7 of 8)"
    )


def test_an_empty_dashboard_draws_no_data_everywhere() -> None:
    quiet = Period(datetime(2026, 11, 29, tzinfo=NOW.tzinfo), NOW)
    figures = dashboard(DashboardEvents(), quiet, NOW, RULES.decisions, CALENDAR)
    drawn = charts(
        dashboard_charts(figures, queue_titles=QUEUE_TITLES, agency_titles=AGENCY_TITLES)
    )
    assert {figure.attrib["data-points"] for figure in drawn.values()} == {"0"}
    assert all(figure.findtext("p") == NO_DATA for figure in drawn.values())
