"""The server-side flow diagram: every step and transition drawn, a session's path and current
step highlighted, analytics shading, and valid, accessible SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from assistant.flow import load_flows
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
    drawn = {tuple(p.find(f"{SVG}title").text.split(" → ")) for p in _edges(svg)}
    titles = {(flow.steps[a].title, flow.steps[b].title) for a, b in transitions}
    assert drawn == titles
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
