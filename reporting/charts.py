"""Accessible charts drawn on the server as SVG: no JavaScript, printable, usable in PDF reports.

Every chart is readable without colour: each series has a colour with at least 3:1 contrast against white
*and* its own pattern (bars) or marker shape (lines), a text legend, and direct value labels. Every chart
comes with its data table (``Chart.table_html()``); ``Chart.html()`` gives both in one ``<figure>``:
the SVG has ``role="img"`` and ``aria-labelledby`` pointing at its ``<title>`` and ``<desc>``.

API (stable):

- ``bar_chart(chart_id=, title=, categories=, series=, description="", stacked=True, unit="",
  category_header="Période", axis_labels=None) -> Chart`` — vertical bars, stacked (with totals) or grouped;
- ``horizontal_bar_chart(chart_id=, title=, labels=, values=, description="", unit="", value_header="Nombre",
  category_header="") -> Chart`` — one series, one bar per label (rankings: services, types...);
- ``line_chart(chart_id=, title=, categories=, series=, description="", unit="%", category_header="Période",
  maximum=None, axis_labels=None) -> Chart`` — lines with markers; ``None`` values leave a gap;
- ``ChartSeries(label, values)``; ``Chart.svg`` (SafeString), ``Chart.table_html()``, ``Chart.html(open_table=False)``;
- ``format_number(value, unit="")``: French formatting ("1 234", "12,5 %"); ``format_duration(timedelta)``;
- ``statistics_charts(stats, prefix="stats") -> dict[str, Chart]``: the charts of a ``selectors.Statistics``.

``chart_id`` must be unique on the page (it prefixes the ids of titles and patterns).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

# Contrast against white (WCAG relative luminance): all >= 4.5:1, so also usable for text.
PALETTE = ("#000091", "#B34000", "#18753C", "#6E445A", "#C9191E", "#695240", "#3A3A3A", "#006A6F")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "circle")
TEXT = "#161616"
MUTED = "#3A3A3A"
GRID = "#929292"
FONT = "font-family=\"Marianne, Arial, sans-serif\""

WIDTH = 760
HEIGHT = 340
LEFT, RIGHT, TOP = 56, 16, 16


@dataclass
class ChartSeries:
    label: str
    values: list


@dataclass
class Chart:
    chart_id: str
    title: str
    description: str
    category_header: str
    categories: list[str]
    series: list[ChartSeries]
    unit: str = ""
    totals: list | None = None  # stacked bars: one total per category
    svg: SafeString = field(default=mark_safe(""))

    def table_html(self) -> SafeString:
        """The chart's data as a table with a caption (DSFR ``fr-table``)."""
        headers = [self.category_header] + [series.label for series in self.series]
        if self.totals is not None:
            headers.append("Total")
        head = "".join(format_html('<th scope="col">{}</th>', header) for header in headers)
        rows = []
        for n, category in enumerate(self.categories):
            cells = [format_number(series.values[n], self.unit) for series in self.series]
            if self.totals is not None:
                cells.append(format_number(self.totals[n], self.unit))
            rows.append(format_html('<tr><th scope="row">{}</th>{}</tr>', category,
                                    mark_safe("".join(format_html("<td>{}</td>", cell) for cell in cells))))
        foot = ""
        if self.totals is not None:  # stacked bars: each series' total, and the grand total
            sums = [sum(value or 0 for value in series.values) for series in self.series] + [sum(self.totals)]
            foot = format_html('<tfoot><tr><th scope="row">Total</th>{}</tr></tfoot>',
                               mark_safe("".join(format_html("<td>{}</td>", format_number(v, self.unit))
                                                 for v in sums)))
        return format_html(
            '<div class="fr-table fr-table--no-caption stats-table table-scroll" tabindex="0" role="region" '
            'aria-labelledby="{0}-table-caption"><table id="{0}-table"><caption id="{0}-table-caption">{1}</caption>'
            "<thead><tr>{2}</tr></thead><tbody>{3}</tbody>{4}</table></div>",
            self.chart_id, self.title, mark_safe(head), mark_safe("".join(rows)), foot,
        )

    def html(self, open_table: bool = False) -> SafeString:
        """A ``<figure>`` with the chart and, in a ``<details>``, its data table."""
        return format_html(
            '<figure class="stats-chart" aria-labelledby="{0}-caption"><figcaption id="{0}-caption" '
            'class="stats-chart__caption">{1}</figcaption>'
            # on a phone the chart keeps a readable size and scrolls sideways (a focusable, named region)
            '<div class="stats-chart__scroll" tabindex="0" role="region" aria-label="Graphique : {1}">{2}</div>'
            '<details class="stats-chart__data"{3}>'
            "<summary>Données du graphique : {1}</summary>{4}</details></figure>",
            self.chart_id, self.title, self.svg, mark_safe(" open" if open_table else ""), self.table_html(),
        )

    def __html__(self) -> str:
        return str(self.html())

    def __str__(self) -> str:  # ``{{ chart }}`` in a template: Django calls str() before escaping
        return self.html()


def format_number(value, unit: str = "") -> str:
    """French number: thin grouping, decimal comma; "—" for a missing value."""
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.1f}"
    else:
        text = f"{int(value):,}"
    text = text.replace(",", "\u202f").replace(".", ",")
    return f"{text}\u202f{unit}" if unit else text


def format_duration(value) -> str:
    """A ``timedelta`` in French: "12,5 jours", "7 h", "moins d'une heure"; "—" without a value."""
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    if abs(hours) >= 24:
        return f"{format_number(round(hours / 24, 1))} jours"
    if abs(hours) >= 1:
        return f"{format_number(round(hours, 1))} h"
    return "moins d'une heure"


def _nice_max(value: float) -> float:
    """The top of the axis: four equal steps of a round size (1, 2, 5 × 10^k; 2.5 × 10^k from 10 up),
    so that every tick of a count is a whole number."""
    if value <= 0:
        return 4
    magnitude = 1
    while True:
        for factor in (1, 2, 2.5, 5):
            step = factor * magnitude
            if step * 4 >= value and (step == int(step) or magnitude < 1):
                return step * 4
        magnitude *= 10


def _ticks(maximum: float) -> list[float]:
    step = maximum / 4
    return [step * n for n in range(5)]


def _patterns(chart_id: str, count: int) -> str:
    """One pattern per series: the series colour with its own white motif (solid, stripes, dots...)."""
    motifs = (
        "",
        '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#fff" stroke-width="1.6"/>',
        '<circle cx="4" cy="4" r="1.6" fill="#fff"/>',
        '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#fff" stroke-width="1.2"/>',
        '<path d="M0,4 H8" stroke="#fff" stroke-width="1.6"/>',
        '<path d="M4,0 V8" stroke="#fff" stroke-width="1.6"/>',
        '<rect x="2" y="2" width="4" height="4" fill="#fff"/>',
        '<path d="M0,8 L8,0" stroke="#fff" stroke-width="1.6"/>',
    )
    parts = []
    for n in range(count):
        colour = PALETTE[n % len(PALETTE)]
        parts.append(
            f'<pattern id="{chart_id}-p{n}" patternUnits="userSpaceOnUse" width="8" height="8">'
            f'<rect width="8" height="8" fill="{colour}"/>{motifs[n % len(motifs)]}</pattern>'
        )
    return "<defs>" + "".join(parts) + "</defs>"


def _open(chart_id: str, title: str, description: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="stats-chart__svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" {FONT} font-size="12">'
        f'<title id="{chart_id}-title">{escape(title)}</title><desc id="{chart_id}-desc">{escape(description)}</desc>'
    )


def _legend(chart_id: str, labels: list[str], y: int, lines: bool = False) -> str:
    parts, x = [], LEFT
    for n, label in enumerate(labels):
        width = 26 + 7 * len(label)
        if x + width > WIDTH - RIGHT:
            x, y = LEFT, y + 20
        if lines:
            colour = PALETTE[n % len(PALETTE)]
            parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 16}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
            parts.append(_marker(MARKERS[n % len(MARKERS)], x + 8, y, colour))
        else:
            parts.append(f'<rect x="{x}" y="{y - 7}" width="14" height="14" fill="url(#{chart_id}-p{n})" '
                         f'stroke="{TEXT}" stroke-width="0.8"/>')
        parts.append(f'<text x="{x + 20}" y="{y + 4}" fill="{TEXT}">{escape(label)}</text>')
        x += width
    return "".join(parts)


def _legend_height(labels: list[str]) -> int:
    rows, x = 1, LEFT
    for label in labels:
        width = 26 + 7 * len(label)
        if x + width > WIDTH - RIGHT:
            rows, x = rows + 1, LEFT
        x += width
    return rows * 20 + 8


def _axis(maximum: float, plot_top: int, plot_bottom: int, unit: str) -> str:
    parts = []
    for tick in _ticks(maximum):
        y = plot_bottom - (plot_bottom - plot_top) * tick / maximum
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}" '
                     f'stroke-width="0.5" stroke-dasharray="{"" if tick == 0 else "2 3"}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
                     f'{escape(format_number(round(tick, 1), unit))}</text>')
    return "".join(parts)


def _category_labels(categories: list[str], centres: list[float], y: int) -> tuple[str, int]:
    """Labels under the x axis: every one when they fit, else every n-th (the table lists them all),
    rotated when long. Returns the markup and the height used."""
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(categories))
    longest = max((len(label) for label in categories), default=0)
    rotate = longest * 6.5 > slot
    every = 1 if not rotate else max(1, int(14 // slot) + 1)
    parts = []
    for n, (label, x) in enumerate(zip(categories, centres, strict=True)):
        if n % every:
            continue
        if rotate:
            parts.append(f'<text x="{x:.1f}" y="{y}" transform="rotate(-40 {x:.1f} {y})" text-anchor="end" '
                         f'fill="{TEXT}">{escape(label)}</text>')
        else:
            parts.append(f'<text x="{x:.1f}" y="{y + 4}" text-anchor="middle" fill="{TEXT}">{escape(label)}</text>')
    return "".join(parts), (int(longest * 5) + 12 if rotate else 20)


def bar_chart(*, chart_id: str, title: str, categories: list[str], series: list[ChartSeries], description: str = "",
              stacked: bool = True, unit: str = "", category_header: str = "Période",
              axis_labels: list[str] | None = None) -> Chart:
    """Vertical bars per category: stacked (a total above each bar) or grouped; each segment patterned.
    ``axis_labels``: shorter names under the axis (the table keeps ``categories``)."""
    axis_labels = axis_labels or categories
    size = len(categories)
    totals = [sum(s.values[n] or 0 for s in series) for n in range(size)]
    peak = max(totals if stacked else [v or 0 for s in series for v in s.values], default=0)
    maximum = _nice_max(peak)
    _, labels_height = _category_labels(axis_labels, [0.0] * size, 0)
    legend_height = _legend_height([s.label for s in series])
    plot_top, plot_bottom = TOP + legend_height, HEIGHT - labels_height - 8
    slot = (WIDTH - LEFT - RIGHT) / max(1, size)
    bar_width = slot * 0.7
    parts = [_open(chart_id, title, description or title, HEIGHT), _patterns(chart_id, len(series)),
             _legend(chart_id, [s.label for s in series], TOP + 4), _axis(maximum, plot_top, plot_bottom, unit)]
    scale = (plot_bottom - plot_top) / maximum
    centres = []
    for n in range(size):
        x0 = LEFT + slot * n + (slot - bar_width) / 2
        centres.append(x0 + bar_width / 2)
        base = plot_bottom
        for k, s in enumerate(series):
            value = s.values[n] or 0
            if not value:
                continue
            height = value * scale
            if stacked:
                x, width, y = x0, bar_width, base - height
                base = y
            else:
                width = bar_width / len(series)
                x, y = x0 + k * width, plot_bottom - height
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
                         f'fill="url(#{chart_id}-p{k})" stroke="#fff" stroke-width="1"/>')
            text = format_number(value)
            if height >= 15 and width >= 7 * len(text) + 4:
                parts.append(_label(x + width / 2, y + height / 2 + 4, text))
        if stacked and totals[n]:
            parts.append(f'<text x="{x0 + bar_width / 2:.1f}" y="{base - 4:.1f}" text-anchor="middle" '
                         f'font-weight="bold" fill="{TEXT}">{escape(format_number(totals[n]))}</text>')
    return Chart(chart_id=chart_id, title=title, description=description, category_header=category_header,
                 categories=categories, series=series, unit=unit,
                 totals=totals if stacked and len(series) > 1 else None,
                 svg=_close(parts, axis_labels, centres, plot_bottom + 14))


def _close(parts: list[str], categories: list[str], centres: list[float], y: float) -> SafeString:
    """The SVG's parts, the category labels under the x axis at ``y``, and the closing tag."""
    labels_markup, _ = _category_labels(categories, centres, y)
    return mark_safe("".join(parts) + labels_markup + "</svg>")


def _label(x: float, y: float, text: str) -> str:
    """A value label on a white plate: readable on any fill."""
    width = 7 * len(text) + 4
    return (f'<rect x="{x - width / 2:.1f}" y="{y - 12:.1f}" width="{width}" height="15" rx="2" fill="#fff"/>'
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" fill="{TEXT}">{escape(text)}</text>')


def horizontal_bar_chart(*, chart_id: str, title: str, labels: list[str], values: list, description: str = "",
                         unit: str = "", value_header: str = "Nombre", category_header: str = "") -> Chart:
    """One bar per label, its value written at its end; the labels on the left, in full."""
    row = 26
    label_width = min(300, max((7 * len(label) for label in labels), default=60) + 12)
    height = TOP * 2 + row * max(1, len(labels))
    maximum = _nice_max(max((v or 0 for v in values), default=0))
    available = WIDTH - label_width - RIGHT - 60
    parts = [_open(chart_id, title, description or title, height), _patterns(chart_id, 1)]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + row * n
        shown = label if len(label) * 7 <= label_width - 12 else label[: (label_width - 12) // 7 - 1] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" fill="{TEXT}">{escape(shown)}</text>')
        width = (value or 0) / maximum * available
        parts.append(f'<rect x="{label_width}" y="{y + 4}" width="{width:.1f}" height="{row - 8}" '
                     f'fill="url(#{chart_id}-p0)"/>')
        parts.append(f'<text x="{label_width + width + 6:.1f}" y="{y + 16}" fill="{TEXT}" font-weight="bold">'
                     f'{escape(format_number(value, unit))}</text>')
    parts.append(f'<line x1="{label_width}" y1="{TOP}" x2="{label_width}" y2="{height - TOP}" stroke="{TEXT}"/>')
    parts.append("</svg>")
    return Chart(chart_id=chart_id, title=title, description=description, category_header=category_header or "",
                 categories=labels, series=[ChartSeries(value_header, list(values))], unit=unit,
                 svg=mark_safe("".join(parts)))


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == "triangle":
        return f'<path d="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y + 4:.1f} L{x - 5:.1f},{y + 4:.1f} Z" fill="{colour}"/>'
    if shape == "diamond":
        return (f'<path d="M{x:.1f},{y - 5:.1f} L{x + 5:.1f},{y:.1f} L{x:.1f},{y + 5:.1f} L{x - 5:.1f},{y:.1f} Z" '
                f'fill="{colour}"/>')
    if shape == "cross":
        return (f'<path d="M{x - 4:.1f},{y - 4:.1f} L{x + 4:.1f},{y + 4:.1f} M{x + 4:.1f},{y - 4:.1f} '
                f'L{x - 4:.1f},{y + 4:.1f}" stroke="{colour}" stroke-width="2"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}"/>'


def line_chart(*, chart_id: str, title: str, categories: list[str], series: list[ChartSeries], description: str = "",
               unit: str = "%", category_header: str = "Période", maximum: float | None = None,
               axis_labels: list[str] | None = None) -> Chart:
    """Lines with a distinct marker per series and the value written at each point (when they fit)."""
    axis_labels = axis_labels or categories
    size = len(categories)
    peak = max((v for s in series for v in s.values if v is not None), default=0)
    maximum = maximum or _nice_max(peak)
    _, labels_height = _category_labels(axis_labels, [0.0] * size, 0)
    legend_height = _legend_height([s.label for s in series])
    plot_top, plot_bottom = TOP + legend_height + 10, HEIGHT - labels_height - 8
    slot = (WIDTH - LEFT - RIGHT) / max(1, size)
    centres = [LEFT + slot * n + slot / 2 for n in range(size)]
    scale = (plot_bottom - plot_top) / maximum
    parts = [_open(chart_id, title, description or title, HEIGHT),
             _legend(chart_id, [s.label for s in series], TOP + 4, lines=True),
             _axis(maximum, plot_top, plot_bottom, unit)]
    write_values = size <= 26
    for k, s in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points, runs = [], []
        for n, value in enumerate(s.values):
            if value is None:
                if points:
                    runs.append(points)
                points = []
                continue
            points.append((centres[n], plot_bottom - value * scale, value))
        if points:
            runs.append(points)
        for run in runs:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in run)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            for x, y, value in run:
                parts.append(_marker(MARKERS[k % len(MARKERS)], x, y, colour))
                if write_values:
                    parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" fill="{TEXT}">'
                                 f'{escape(format_number(value, unit))}</text>')
    return Chart(chart_id=chart_id, title=title, description=description, category_header=category_header,
                 categories=categories, series=series, unit=unit,
                 svg=_close(parts, axis_labels, centres, plot_bottom + 14))


# --- The charts of a statistics page or report ------------------------------------------------------

def _series(series_list) -> list[ChartSeries]:
    return [ChartSeries(series.label, list(series.counts)) for series in series_list]


def _top(series_list, keep: int, others: str) -> list[ChartSeries]:
    """The series with something counted, largest first when there are more than ``keep + 1``: the first
    ``keep`` and one "Autres" series for the rest (its table column says how many)."""
    counted = [series for series in series_list if series.total] or list(series_list[:1])
    if len(counted) <= keep + 1:
        return _series(counted)
    counted = sorted(counted, key=lambda series: -series.total)
    rest = counted[keep:]
    merged = [sum(values) for values in zip(*(series.counts for series in rest), strict=True)]
    return _series(counted[:keep]) + [ChartSeries(f"Autres ({len(rest)} {others})", merged)]


def statistics_charts(stats, prefix: str = "stats") -> dict[str, Chart]:
    """The charts of a ``reporting.selectors.Statistics``, by name: origin, outcomes, service, type, mode,
    location (stacked bars per week or month; beyond seven services, types or locations the smaller ones are
    grouped as "Autres"), noshow_rate (line), delay (horizontal bars)."""
    categories = [bucket.label for bucket in stats.buckets]
    header = "Semaine" if stats.granularity == "week" else "Mois"
    per = "semaine" if stats.granularity == "week" else "mois"
    # under the axis, weeks by their Monday ("03/03"); the tables say "sem. du 03/03/2025"
    axis = [f"{bucket.start:%d/%m}" for bucket in stats.buckets] if stats.granularity == "week" else categories

    def stacked(name, what, series_list, others):
        return bar_chart(
            chart_id=f"{prefix}-{name}", title=f"Rendez-vous par {per} et par {what}", categories=categories,
            series=_top(series_list, 7, others), category_header=header, axis_labels=axis,
            description=f"Barres empilées : nombre de rendez-vous par {per}, réparties par {what}. "
                        "Valeurs détaillées dans le tableau qui suit.",
        )

    return {
        "origin": bar_chart(
            chart_id=f"{prefix}-origin", title=f"Rendez-vous par {per} et par origine", categories=categories,
            series=_series(stats.by_origin), category_header=header, axis_labels=axis,
            description=f"Barres empilées : nombre de rendez-vous par {per}, réparties selon qui les a pris "
                        "(agent, usager, prescripteur, API). Valeurs détaillées dans le tableau qui suit.",
        ),
        "outcomes": bar_chart(
            chart_id=f"{prefix}-outcomes", title=f"Issue des rendez-vous par {per}", categories=categories,
            series=_series(stats.outcomes), category_header=header, axis_labels=axis,
            description=f"Barres empilées : par {per}, rendez-vous honorés, absences non excusées, annulations "
                        "excusées, annulations par le service, à renseigner et à venir.",
        ),
        "noshow_rate": line_chart(
            chart_id=f"{prefix}-noshow-rate", title=f"Taux d'absence non excusée par {per}", categories=categories,
            series=[ChartSeries("Taux d'absence non excusée", list(stats.noshow_rates))], category_header=header,
            axis_labels=axis,
            description="Courbe : absences non excusées ÷ (rendez-vous honorés + absences non excusées), en %. "
                        "Pas de point quand aucun rendez-vous n'a été honoré ni manqué.",
        ),
        "service": stacked("service", "service", stats.by_service, "services"),
        "type": stacked("type", "motif", stats.by_type, "motifs"),
        "mode": stacked("mode", "modalité", stats.by_mode, "modalités"),
        "location": stacked("location", "lieu", stats.by_location, "lieux"),
        "delay": horizontal_bar_chart(
            chart_id=f"{prefix}-delay", title="Délai entre la prise de rendez-vous et le rendez-vous",
            labels=[s.label for s in stats.delay.buckets], values=[s.total for s in stats.delay.buckets],
            value_header="Rendez-vous", category_header="Délai",
            description="Barres horizontales : rendez-vous pris le jour même, moins d'une semaine avant, "
                        "d'une à quatre semaines avant, plus de quatre semaines avant.",
        ),
    }
