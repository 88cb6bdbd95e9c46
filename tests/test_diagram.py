"""The server-side flow diagram: every step and transition drawn, a session's path and current
step highlighted, analytics shading, and valid, accessible SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from assistant.flow import load_flows
from assistant.web.console import diagram
from assistant.web.console.diagram import Shade, flow_svg
from conftest import FLOWS

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def flows():
    loaded, errors = load_flows([str(FLOWS)])
    assert not errors
    return loaded


def _nodes(svg) -> dict[str, ET.Element]:
    root = ET.fromstring(str(svg))
    return {g.get("data-step"): g for g in root.iter(f"{SVG}g") if g.get("data-step")}


def _edges(svg) -> list[ET.Element]:
    return [p for p in ET.fromstring(str(svg)).iter(f"{SVG}path")
            if "edge" in p.get("class", "").split()]


@pytest.mark.parametrize("flow_id", ["quickbooks-desktop", "quickbooks-online", "salesforce"])
def test_every_step_and_every_transition_is_drawn_inside_the_picture(flows, flow_id):
    flow = flows[flow_id]
    svg = flow_svg(flow)
    root = ET.fromstring(str(svg))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == f"Diagram of {flow.title}"
    nodes = _nodes(svg)
    assert set(nodes) == set(flow.steps)
    transitions = {(sid, b.to) for sid, step in flow.steps.items() for a in step.answers
                   for b in a.branches if b.to != sid}
    drawn = set()
    for p in _edges(svg):
        text = p.find(f"{SVG}title").text
        if " ↔ " in text:  # a fix and its re-check: one line, an arrowhead at each end
            a, b = text.split(" ↔ ")
            drawn |= {(a, b), (b, a)}
            assert p.get("marker-start") and p.get("marker-end")
        else:
            drawn.add(tuple(text.split(" → ")))
    titles = {(flow.steps[a].title, flow.steps[b].title) for a, b in transitions}
    assert titles <= drawn and drawn - titles <= {(b, a) for a, b in drawn & titles}
    width, height = float(root.get("width")), float(root.get("height"))
    boxes = [g.find(f"{SVG}rect") for g in nodes.values()]
    for rect in boxes:
        x, y = float(rect.get("x")), float(rect.get("y"))
        assert 0 <= x and x + float(rect.get("width")) <= width
        assert 0 <= y and y + float(rect.get("height")) <= height
    spans = [(float(r.get("x")), float(r.get("y")), float(r.get("width")),
              float(r.get("height"))) for r in boxes]
    for i, (x1, y1, w1, h1) in enumerate(spans):
        for x2, y2, w2, h2 in spans[i + 1:]:
            apart = x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1
            assert apart, "two steps drawn on top of each other"


def test_a_sessions_path_and_current_step_are_highlighted(flows):
    flow = flows["salesforce"]
    first = flow.start
    second = flow.steps[first].answers[0].branches[0].to
    third = flow.steps[second].answers[0].branches[0].to
    svg = flow_svg(flow, path=[first, second], current=third)
    nodes = _nodes(svg)
    for sid in (first, second, third):
        assert "on-path" in nodes[sid].get("class").split()
    assert "current" in nodes[third].get("class").split()
    assert "the session is here" in nodes[third].find(f"{SVG}title").text
    others = set(flow.steps) - {first, second, third}
    assert all("on-path" not in nodes[s].get("class").split() for s in others)
    on = [p.find(f"{SVG}title").text for p in _edges(svg)
          if "on-path" in p.get("class").split()]
    assert sorted(on) == sorted([f"{flow.steps[first].title} → {flow.steps[second].title}",
                                 f"{flow.steps[second].title} → {flow.steps[third].title}"])


def test_shading_darkens_with_traffic_and_shows_drop_off(flows):
    flow = flows["quickbooks-online"]
    busy, quiet = flow.start, next(s for s in flow.steps if s != flow.start)
    svg = flow_svg(flow, shade={busy: Shade(1.0, 0.25, "100 reached · 25% stopped"),
                                quiet: Shade(0.0, 0.0, "0 reached")})
    nodes = _nodes(svg)
    assert nodes[busy].find(f"{SVG}rect").get("fill") == "#1d4e89"
    assert nodes[quiet].find(f"{SVG}rect").get("fill") == "#ffffff"
    assert "100 reached · 25% stopped" in "".join(nodes[busy].itertext())
    bars = [r for r in nodes[busy].iter(f"{SVG}rect") if r.get("class") == "drop-bar"]
    assert len(bars) == 1 and float(bars[0].get("width")) == pytest.approx(0.25 * 182)
    assert not [r for r in nodes[quiet].iter(f"{SVG}rect") if r.get("class") == "drop-bar"]


def test_titles_are_escaped(flows):
    flow = flows["salesforce"]
    svg = flow_svg(flow, title='Path of <script>alert("x")</script>')
    assert "<script>" not in str(svg)
    ET.fromstring(str(svg))


def _crossing_pairs(layout) -> int:
    """How many pairs of drawn lines between four different steps cross at least once."""
    def side(p, q, r):
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return 0 if abs(v) < 1e-9 else (1 if v > 0 else -1)

    def cross(a, b, c, d):
        return side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0

    lines = [(r.source, r.target, r.polyline()) for r in layout.edges]
    count = 0
    for i, (s1, t1, p1) in enumerate(lines):
        for s2, t2, p2 in lines[i + 1:]:
            if len({s1, t1, s2, t2}) == 4 and any(
                    cross(a, b, c, d) for a, b in zip(p1, p1[1:], strict=False)
                    for c, d in zip(p2, p2[1:], strict=False)):
                count += 1
    return count


# The desktop flow's 12 fixes each connect to the first check, the re-check and step 1: a
# K(3,12), which no drawing shows with fewer than 30 crossings (Zarankiewicz) unless lines
# merge. grandalf's layout had 38-44 crossing pairs; dot with merged lines has 28.
@pytest.mark.parametrize("flow_id, most", [("quickbooks-desktop", 30),
                                           ("quickbooks-online", 3), ("salesforce", 5)])
def test_the_layout_keeps_edge_crossings_low(flows, flow_id, most):
    layout = diagram._compute_layout(flows[flow_id])
    assert _crossing_pairs(layout) <= most


def test_the_crossing_count_sees_a_crossing():
    def line(source, target, start, end):
        (x0, y0), (x1, y1) = start, end
        thirds = ((x0 * 2 + x1) / 3, (y0 * 2 + y1) / 3), ((x0 + x1 * 2) / 3, (y0 + y1 * 2) / 3)
        return diagram.Route(source, target, False, (start, *thirds, end), None, None)
    apart = (line("a", "b", (0, 0), (100, 100)), line("c", "d", (0, 30), (100, 130)))
    crossed = (line("a", "b", (0, 0), (100, 100)), line("c", "d", (0, 80), (90, 0)))
    shared = (line("a", "b", (0, 0), (100, 100)), line("a", "d", (0, 80), (90, 0)))
    assert _crossing_pairs(diagram._Layout({}, apart, 0, 0)) == 0
    assert _crossing_pairs(diagram._Layout({}, crossed, 0, 0)) == 1
    assert _crossing_pairs(diagram._Layout({}, shared, 0, 0)) == 0  # lines of one step


def test_without_graphviz_the_console_says_so(flows, monkeypatch):
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    monkeypatch.setattr(diagram, "_LAYOUTS", {})
    note = str(flow_svg(flows["salesforce"]))
    assert "<svg" not in note and "install it with" in note and "graphviz" in note
