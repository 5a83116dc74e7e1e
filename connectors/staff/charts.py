"""The dashboard's charts, drawn on the server as SVG: no script, nothing from another site.

Four kinds, each from figures already computed (:mod:`streams.decisions.figures`): horizontal
percentage bars (:func:`percent_bars`), stacked bars (:func:`stacked_bars`), counts as columns
(:func:`count_bars`: per day, per hour) and a percentage per day as a line (:func:`trend`).

Each chart is a ``<figure>`` that marks itself for tests and tools (``data-chart``, its name, and
``data-points``, how many values it draws), holding an image (``role="img"``, a ``<title>`` and
an ``aria-label`` that says the numbers) and a table of every figure drawn, so a screen-reader
user, or anyone who would rather read, has the numbers. Every text goes in through
:meth:`Markup.format`, which escapes it (a sender code is a partner's text). Colours, type and
sizes are classes of the stylesheet (``staff.css``), and every value is also written, so colour is
never the only way to tell. A chart with nothing to draw says so ("No data in this period.") and
divides by nothing. The markup is well-formed XML, so it can be checked as such.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from schemas.models import Agency, Queue
from streams.decisions.figures import AGE_BANDS, Dashboard, Share

NO_DATA = "No data in this period."
#: The drawing's width in its own units: about a dashboard column's width in pixels, so text
#: keeps its size there; it scales to the page (the stylesheet sets 100%).
WIDTH = 540
#: Where bars start on a row chart: the labels are right-aligned before it.
LABEL_END = 150
BAR_START = 158
BAR_LENGTH = 270
ROW_HEIGHT = 30
#: Column charts: the plot's box within the drawing.
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_HEIGHT = 36, 532, 22, 150
#: A label longer than this is cut in the drawing (the table has it whole): it fits before the bars.
LONGEST_LABEL = 21
#: Labels on the axis of a column chart: at most this many, evenly spread.
AXIS_LABELS = 24
#: A value is written on its column only when the column is at least this wide.
NARROWEST_WRITTEN = 16


@dataclass(frozen=True)
class Column:
    """One column (or point) of a chart over time: its short axis label, its name in words
    (the table's), and its value."""

    label: str
    name: str
    value: int


@dataclass(frozen=True)
class DayPoint:
    """One day of a trend: short label, name, and the day's share."""

    label: str
    name: str
    share: Share


def _n(number: float) -> str:
    """A coordinate: one decimal is finer than a pixel."""
    return f"{number:.1f}"


def _percent(share: Share) -> str:
    rounded = share.rounded_percent
    return "no data" if rounded is None else f"{rounded}%"


def _of(share: Share) -> str:
    return f"{share.part} of {share.whole}"


def _cut(label: str) -> str:
    return label if len(label) <= LONGEST_LABEL else label[: LONGEST_LABEL - 1] + "…"


def _text(x: float, y: float, text: str, css: str, anchor: str = "start") -> Markup:
    return Markup('<text x="{}" y="{}" class="{}" text-anchor="{}">{}</text>').format(
        _n(x), _n(y), css, anchor, text
    )


def _rect(x: float, y: float, width: float, height: float, css: str) -> Markup:
    return Markup('<rect x="{}" y="{}" width="{}" height="{}" class="{}"/>').format(
        _n(x), _n(y), _n(width), _n(height), css
    )


def _line(x1: float, y1: float, x2: float, y2: float, css: str) -> Markup:
    return Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" class="{}"/>').format(
        _n(x1), _n(y1), _n(x2), _n(y2), css
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> Markup:
    """A table of the figures: the first column names each row."""
    head = Markup("").join(Markup('<th scope="col">{}</th>').format(h) for h in headers)
    body = Markup("").join(
        Markup('<tr><th scope="row">{}</th>{}</tr>').format(
            row[0], Markup("").join(Markup("<td>{}</td>").format(cell) for cell in row[1:])
        )
        for row in rows
    )
    return Markup(
        '<table class="chart-figures"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>'
    ).format(head, body)


def _figure(
    chart: str,
    title: str,
    *,
    summary: str,
    points: int,
    height: float,
    drawing: Markup,
    table: Markup,
) -> Markup:
    """The chart's figure: its name and count of values, the image and the table of figures;
    or, with nothing to draw, the words saying so."""
    if points == 0:
        return Markup(
            '<figure class="chart chart-empty" data-chart="{}" data-points="0">'
            '<figcaption>{}</figcaption><p class="no-data">{}</p></figure>'
        ).format(chart, title, NO_DATA)
    return Markup(
        '<figure class="chart" data-chart="{chart}" data-points="{points}">'
        "<figcaption>{title}</figcaption>"
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" viewBox="0 0 {width} {height}"'
        ' role="img" aria-label="{label}"><title>{title}</title>{drawing}</svg>'
        '<details class="chart-table"><summary>{title}: the figures</summary>{table}</details>'
        "</figure>"
    ).format(
        chart=chart,
        points=points,
        title=title,
        width=WIDTH,
        height=_n(height),
        label=f"{title}. {summary}",
        drawing=drawing,
        table=table,
    )


def percent_bars(
    chart: str,
    title: str,
    rows: Sequence[tuple[str, Share]],
    *,
    counted: str,
    notes: tuple[str, Sequence[str]] | None = None,
) -> Markup:
    """One horizontal bar per row, its length the row's share of 100%, with the percentage and
    "part of whole" written after it; a row of nothing says "no data". ``counted`` names what
    the whole counts (the table's heading), ``notes`` an extra column (heading, one per row)."""
    parts: list[Markup] = []
    for index, (label, share) in enumerate(rows):
        y = 10 + index * ROW_HEIGHT
        parts.append(_text(LABEL_END, y + 18, _cut(label), "chart-label", "end"))
        if share.percent is None:
            parts.append(_text(BAR_START, y + 18, "no data", "chart-value"))
            continue
        parts.append(_rect(BAR_START, y + 4, BAR_LENGTH, 20, "chart-track"))
        parts.append(_rect(BAR_START, y + 4, BAR_LENGTH * share.percent / 100, 20, "chart-bar"))
        written = f"{_percent(share)} ({_of(share)})"
        parts.append(_text(BAR_START + BAR_LENGTH + 6, y + 18, written, "chart-value"))
    axis_y = 10 + len(rows) * ROW_HEIGHT
    for mark in (0, 50, 100):
        x = BAR_START + BAR_LENGTH * mark / 100
        parts.append(_line(x, axis_y, x, axis_y + 4, "chart-axis"))
        parts.append(_text(x, axis_y + 16, f"{mark}%", "chart-tick", "middle"))
    headers = ["", "Share", counted] + ([notes[0]] if notes else [])
    table_rows = [
        [label, _percent(share), _of(share), *([notes[1][index]] if notes else [])]
        for index, (label, share) in enumerate(rows)
    ]
    summary = "; ".join(f"{label}: {_percent(share)} ({_of(share)})" for label, share in rows)
    return _figure(
        chart,
        title,
        summary=summary,
        points=sum(share.whole > 0 for _, share in rows),
        height=axis_y + 22,
        drawing=Markup("").join(parts),
        table=_table(headers, table_rows),
    )


def stacked_bars(
    chart: str,
    title: str,
    series: Sequence[tuple[str, int]],
    rows: Sequence[tuple[str, Sequence[int]]],
) -> Markup:
    """One horizontal bar per row, made of one segment per series (each value written on its
    segment when there is room), all rows to the scale of the largest total, with a legend.
    Each series is its name and its severity, 1 (fine) to 4 (worst), which sets its colour."""
    largest = max((sum(values) for _, values in rows), default=0)
    parts: list[Markup] = []
    for index, (label, values) in enumerate(rows):
        y = 10 + index * ROW_HEIGHT
        parts.append(_text(LABEL_END, y + 18, _cut(label), "chart-label", "end"))
        x = float(BAR_START)
        for band, value in enumerate(values):
            if value == 0:
                continue
            width = BAR_LENGTH * value / largest
            parts.append(_rect(x, y + 4, width, 20, f"chart-severity-{series[band][1]}"))
            if width >= NARROWEST_WRITTEN:
                parts.append(_text(x + width / 2, y + 18, str(value), "chart-on-bar", "middle"))
            x += width
        parts.append(_text(x + 6, y + 18, f"{sum(values)}", "chart-value"))
    legend_y = 10 + len(rows) * ROW_HEIGHT + 8
    x = float(BAR_START)
    for name, severity in series:
        # About 6 units a character at the legend's size; a key that would not fit goes below.
        needed = 22 + 6 * len(name)
        if x + needed > WIDTH and x > BAR_START:
            x, legend_y = float(BAR_START), legend_y + 18
        parts.append(_rect(x, legend_y, 12, 12, f"chart-severity-{severity}"))
        parts.append(_text(x + 16, legend_y + 11, name, "chart-tick"))
        x += needed
    summary = "; ".join(
        f"{label}: {sum(values)} ("
        + ", ".join(f"{value} {name}" for (name, _), value in zip(series, values, strict=True))
        + ")"
        for label, values in rows
    )
    table_rows = [[label, *map(str, values), str(sum(values))] for label, values in rows]
    return _figure(
        chart,
        title,
        summary=summary,
        points=sum(value > 0 for _, values in rows for value in values),
        height=legend_y + 22,
        drawing=Markup("").join(parts),
        table=_table(["", *(name for name, _ in series), "Total"], table_rows),
    )


def _axis_every(count: int) -> int:
    """Label every how many columns, so at most :data:`AXIS_LABELS` labels show."""
    return max(1, -(-count // AXIS_LABELS))


def count_bars(chart: str, title: str, columns: Sequence[Column], *, counted: str) -> Markup:
    """One column per entry, to the scale of the largest, each value written above its column
    when there is room; ``counted`` names what is counted (the table's heading)."""
    largest = max((column.value for column in columns), default=0)
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(columns), 1)
    bottom = PLOT_TOP + PLOT_HEIGHT
    every = _axis_every(len(columns))
    parts = [
        _line(PLOT_LEFT, bottom, PLOT_RIGHT, bottom, "chart-axis"),
        _line(PLOT_LEFT, PLOT_TOP, PLOT_RIGHT, PLOT_TOP, "chart-grid"),
        _text(PLOT_LEFT - 6, PLOT_TOP + 4, str(largest), "chart-tick", "end"),
        _text(PLOT_LEFT - 6, bottom + 4, "0", "chart-tick", "end"),
    ]
    for index, column in enumerate(columns):
        middle = PLOT_LEFT + slot * (index + 0.5)
        if column.value and largest:
            height = PLOT_HEIGHT * column.value / largest
            parts.append(
                _rect(middle - slot * 0.35, bottom - height, slot * 0.7, height, "chart-bar")
            )
            if slot >= NARROWEST_WRITTEN:
                parts.append(
                    _text(middle, bottom - height - 4, str(column.value), "chart-value", "middle")
                )
        if index % every == 0:
            parts.append(_text(middle, bottom + 16, column.label, "chart-tick", "middle"))
    drawn = [column for column in columns if column.value]
    summary = f"{sum(c.value for c in columns)} in all; " + "; ".join(
        f"{column.name}: {column.value}" for column in drawn
    )
    return _figure(
        chart,
        title,
        summary=summary,
        points=len(drawn),
        height=bottom + 26,
        drawing=Markup("").join(parts),
        table=_table(["", counted], [[column.name, str(column.value)] for column in columns]),
    )


def trend(chart: str, title: str, points: Sequence[DayPoint], *, counted: str) -> Markup:
    """Each day's percentage as a point on a line from 0% to 100%; a day with nothing counted
    has no point, and breaks the line."""
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(points), 1)
    bottom = PLOT_TOP + PLOT_HEIGHT
    every = _axis_every(len(points))
    parts: list[Markup] = []
    for mark in (0, 50, 100):
        y = bottom - PLOT_HEIGHT * mark / 100
        parts.append(
            _line(PLOT_LEFT, y, PLOT_RIGHT, y, "chart-axis" if mark == 0 else "chart-grid")
        )
        parts.append(_text(PLOT_LEFT - 6, y + 4, f"{mark}%", "chart-tick", "end"))
    runs: list[list[tuple[float, float]]] = [[]]
    marks: list[Markup] = []
    for index, point in enumerate(points):
        x = PLOT_LEFT + slot * (index + 0.5)
        if index % every == 0:
            parts.append(_text(x, bottom + 16, point.label, "chart-tick", "middle"))
        if point.share.percent is None:
            runs.append([])
            continue
        y = bottom - PLOT_HEIGHT * point.share.percent / 100
        runs[-1].append((x, y))
        marks.append(
            Markup('<circle cx="{}" cy="{}" r="4" class="chart-point"/>').format(_n(x), _n(y))
        )
        if slot >= NARROWEST_WRITTEN * 2:
            marks.append(_text(x, y - 8, _percent(point.share), "chart-value", "middle"))
    for run in runs:
        if len(run) > 1:
            joined = " ".join(f"{_n(x)},{_n(y)}" for x, y in run)
            parts.append(Markup('<polyline points="{}" class="chart-line"/>').format(joined))
    drawn = [point for point in points if point.share.whole]
    summary = "; ".join(f"{p.name}: {_percent(p.share)} ({_of(p.share)})" for p in drawn)
    return _figure(
        chart,
        title,
        summary=summary,
        points=len(drawn),
        height=bottom + 26,
        drawing=Markup("").join([*parts, *marks]),
        table=_table(
            ["", "Share", counted],
            [[p.name, _percent(p.share), _of(p.share)] for p in points],
        ),
    )


@dataclass(frozen=True)
class DashboardCharts:
    """Every chart of the dashboard, ready to place in its page."""

    queues: Markup
    decisions: Markup
    strategy: Markup
    attendance: Markup
    police: Markup
    re_referrals: Markup
    step_downs: Markup
    duty_alerts: Markup
    school_notifications: Markup


def _day_label(day: date) -> str:
    return day.strftime("%a ") + str(day.day)


def _day_name(day: date) -> str:
    return day.strftime("%A ") + str(day.day) + day.strftime(" %B %Y")


def _item_words(code: str) -> str:
    """A missing-information code in words: ``MI-DATE-OF-BIRTH`` is "date of birth"."""
    return code.removeprefix("MI-").replace("-", " ").lower()


def dashboard_charts(
    figures: Dashboard,
    *,
    queue_titles: Mapping[Queue, str],
    agency_titles: Mapping[Agency, str],
) -> DashboardCharts:
    """The charts of ``figures``, naming queues and agencies as the application does."""
    decided = figures.decisions.by_day
    police = figures.police
    school = figures.school_notifications
    told_on_time = school.before_school_day.part
    return DashboardCharts(
        queues=stacked_bars(
            "queue-ages",
            "Work waiting for a decision, by how long it has waited",
            [(band.label, severity) for severity, band in enumerate(AGE_BANDS, start=1)],
            [(queue_titles[age.queue], age.by_band) for age in figures.queues],
        ),
        decisions=trend(
            "decisions-on-time",
            "First decisions within one working day, each day",
            [DayPoint(_day_label(d.day), _day_name(d.day), d.share) for d in decided],
            counted="First decisions",
        ),
        strategy=percent_bars(
            "strategy-discussions-on-time",
            "Strategy discussions recorded by their due time",
            [("On time", figures.strategy.on_time)],
            counted="Discussions recorded",
        ),
        attendance=percent_bars(
            "strategy-discussion-attendance",
            "Strategy discussions attended, where the agency was required",
            [
                (agency_titles[attendance.agency], attendance.attended)
                for attendance in figures.strategy.attendance
            ],
            counted="Discussions held",
        ),
        police=percent_bars(
            "police-notifications-complete",
            "Police notifications with no information missing, per force",
            [(force.sender, force.complete) for force in police],
            counted="Notifications",
            notes=(
                "Missing (notifications)",
                [
                    ", ".join(f"{_item_words(m.code)} ({m.notifications})" for m in force.missing)
                    or "nothing"
                    for force in police
                ],
            ),
        ),
        re_referrals=percent_bars(
            "re-referrals",
            "Referrals that are re-referrals (another in the 12 months before)",
            [("Re-referrals", figures.re_referrals)],
            counted="Referrals (child and event)",
        ),
        step_downs=count_bars(
            "early-help-step-downs",
            "MASH decisions stepping down to early help, each day",
            [
                Column(_day_label(d.day), _day_name(d.day), d.count)
                for d in figures.step_downs.by_day
            ],
            counted="Step-downs",
        ),
        duty_alerts=count_bars(
            "duty-alerts-by-hour",
            "Duty-team alerts by the hour the concern came in",
            [
                Column(f"{hour:02d}", f"{hour:02d}:00 to {hour:02d}:59", count)
                for hour, count in enumerate(figures.duty_alerts.by_hour)
            ],
            counted="Alerts",
        ),
        school_notifications=stacked_bars(
            "school-notifications",
            "School notifications due in the period, by when the school was told",
            [("before the school day", 1), ("late", 3), ("not delivered", 4)],
            [("Notifications due", (told_on_time, school.late, school.not_delivered))],
        ),
    )
