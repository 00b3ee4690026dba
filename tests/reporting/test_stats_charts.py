"""The accessible SVG charts: contrast, patterns and markers besides colour, text labels, data tables,
escaping."""

from __future__ import annotations

import re
from datetime import timedelta

from reporting import charts


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_with_white(colour: str) -> float:
    return 1.05 / (luminance(colour) + 0.05)


def test_every_colour_contrasts_with_white_and_every_series_has_its_own_pattern_and_marker():
    assert all(contrast_with_white(colour) >= 4.5 for colour in charts.PALETTE)
    assert contrast_with_white(charts.TEXT) >= 4.5 and contrast_with_white(charts.MUTED) >= 4.5
    assert contrast_with_white(charts.GRID) >= 3
    chart = charts.bar_chart(chart_id="c", title="T", categories=["a", "b"], series=[
        charts.ChartSeries(f"S{n}", [n + 1, n + 2]) for n in range(6)])
    patterns = re.findall(r'<pattern id="c-p(\d)"[^>]*>(.*?)</pattern>', str(chart.svg))
    assert len(patterns) == 6 and len({motif for _, motif in patterns}) == 6  # six different motifs
    assert len(set(charts.MARKERS[:5])) == 5


def test_bar_chart_labels_values_totals_and_its_table():
    chart = charts.bar_chart(chart_id="origin", title="Rendez-vous par mois", categories=["janv. 2025", "févr. 2025"],
                             series=[charts.ChartSeries("Agent", [1200, 3]), charts.ChartSeries("Usager", [800, 0])],
                             description="Barres empilées", category_header="Mois")
    svg = str(chart.svg)
    assert 'role="img" aria-labelledby="origin-title origin-desc"' in svg
    assert '<title id="origin-title">Rendez-vous par mois</title>' in svg and "Barres empilées</desc>" in svg
    assert ">Agent</text>" in svg and ">Usager</text>" in svg  # legend in words
    assert ">2\u202f000</text>" in svg  # total written above the bar
    assert ">1\u202f200</text>" in svg  # segment value written on it
    table = str(chart.table_html())
    assert '<caption id="origin-table-caption">Rendez-vous par mois</caption>' in table
    assert 'tabindex="0" role="region" aria-labelledby="origin-table-caption"' in table
    assert ('<th scope="col">Mois</th><th scope="col">Agent</th><th scope="col">Usager</th>'
            '<th scope="col">Total</th>') in table
    assert '<tr><th scope="row">févr. 2025</th><td>3</td><td>0</td><td>3</td></tr>' in table
    figure = str(chart.html())
    from django.template import Context, Template

    assert Template("{{ chart }}").render(Context({"chart": chart})) == figure
    assert figure.startswith('<figure class="stats-chart"') and "<details" in figure and "<summary>" in figure


def test_line_chart_leaves_gaps_and_writes_values():
    chart = charts.line_chart(chart_id="rate", title="Taux", categories=["a", "b", "c", "d"],
                              series=[charts.ChartSeries("Taux", [12.5, None, 3.0, 4.0])])
    svg = str(chart.svg)
    assert svg.count("<polyline") == 1  # a before the gap is a lone point; c-d joined
    assert ">12,5\u202f%</text>" in svg and ">3\u202f%</text>" in svg
    assert "<td>—</td>" in str(chart.table_html())


def test_labels_are_escaped():
    nasty = '<script>alert("x")</script>'
    chart = charts.horizontal_bar_chart(chart_id="x", title=nasty, labels=[nasty], values=[2])
    assert "<script>" not in str(chart.html())
    assert "&lt;script&gt;" in str(chart.html())


def test_french_numbers_and_durations():
    assert charts.format_number(1234567) == "1\u202f234\u202f567"
    assert charts.format_number(33.33, "%") == "33,3\u202f%"
    assert charts.format_number(None) == "—"
    assert charts.format_duration(timedelta(days=10, hours=12)) == "10,5 jours"
    assert charts.format_duration(timedelta(hours=7)) == "7 h"
    assert charts.format_duration(timedelta(minutes=5)) == "moins d'une heure"
    assert charts.format_duration(None) == "—"


def test_beyond_seven_series_the_smaller_ones_are_grouped_and_tables_have_totals():
    from reporting.selectors import Series

    many = [Series(key=str(n), label=f"Motif {n}", total=n * 2, counts=[n, n]) for n in range(10)]
    grouped = charts._top(many, 7, "motifs")
    assert [s.label for s in grouped][:2] == ["Motif 9", "Motif 8"]
    assert grouped[-1].label == "Autres (2 motifs)" and grouped[-1].values == [1 + 2, 1 + 2]  # Motif 0 counts none
    assert len(grouped) == 8
    few = charts._top(many[:5], 7, "motifs")
    assert [s.label for s in few] == ["Motif 1", "Motif 2", "Motif 3", "Motif 4"]  # order kept, empty ones left out
    chart = charts.bar_chart(chart_id="t", title="T", categories=["a", "b"], series=grouped)
    assert '<tfoot><tr><th scope="row">Total</th>' in str(chart.table_html())
    assert "<td>6</td><td>90</td></tr></tfoot>" in str(chart.table_html())  # Autres total, grand total
