"""Flow diagrams for the console, drawn on the server as inline SVG.

The layout (layers left to right, crossings reduced) is grandalf's Sugiyama layout
(https://github.com/bdcht/grandalf), computed once per flow version. Drawing is plain SVG with
classes that ``app.css`` styles, so it needs no script and passes the page's CSP; the only
computed colours (traffic shading) are SVG ``fill`` attributes.

What a diagram can show:

- ``path``: the steps a session went through, in order, and ``current``, where it is now
  (classes ``on-path`` and ``current`` on nodes, ``on-path`` on the edges between consecutive
  path steps);
- ``shade``: per step, a :class:`Shade` (analytics): the fill darkens with the share of
  sessions that reached the step, and a red bar and label give the share that stopped there.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from html import escape

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout
from markupsafe import Markup

from ...flow import Flow

NODE_W, NODE_H = 190, 64  # px
LAYER_GAP, NODE_GAP, MARGIN = 56, 14, 12  # px
LINE_CHARS, MAX_LINES = 27, 3
KIND_LABEL = {"question": "Question", "instruction": "Instruction", "probe": "Live check",
              "end": "End"}


@dataclass(frozen=True)
class Shade:
    """Traffic at one step, for an analytics diagram.

    ``reached``: share of the flow's sessions that reached the step (0–1); ``dropped``: share
    of those that reached it and stopped there (0–1); ``label``: a short text shown under the
    title (e.g. "812 reached · 4% stopped").
    """

    reached: float
    dropped: float
    label: str


@dataclass(frozen=True)
class _Layout:
    nodes: dict[str, tuple[float, float]]  # step id → centre (x, y), px
    edges: tuple[tuple[str, str, tuple[tuple[float, float], ...]], ...]  # (from, to, points)
    width: float
    height: float


def _targets(flow: Flow, step_id: str) -> list[str]:
    """The steps a step can lead to, in answer order, each once."""
    out: list[str] = []
    for answer in flow.steps[step_id].answers:
        for branch in answer.branches:
            if branch.to not in out and branch.to in flow.steps:
                out.append(branch.to)
    return out


def _clip(centre: tuple[float, float], towards: tuple[float, float]) -> tuple[float, float]:
    """The point where the line from a node's centre towards ``towards`` leaves its box."""
    (cx, cy), (tx, ty) = centre, towards
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return centre
    scale = min((NODE_W / 2) / abs(dx) if dx else math.inf,
                (NODE_H / 2) / abs(dy) if dy else math.inf)
    return cx + dx * scale, cy + dy * scale


_LAYOUTS: dict[tuple[str, str], _Layout] = {}


def _layout(flow: Flow) -> _Layout:
    """Node centres and edge routes for ``flow``, left to right, computed once per flow id and
    version."""
    key = (flow.id, flow.version)
    if key not in _LAYOUTS:
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        _LAYOUTS[key] = _compute_layout(flow)
    return _LAYOUTS[key]


def _compute_layout(flow: Flow) -> _Layout:

    class _View:  # grandalf lays out top to bottom: give it the boxes turned a quarter
        w, h = NODE_H, NODE_W
        xy = (0.0, 0.0)

    class _EdgeView:
        points: list = []

        def setpath(self, points):
            self.points = points

    vertices = {step_id: Vertex(step_id) for step_id in flow.steps}
    edges = []
    for step_id in flow.steps:
        for target in _targets(flow, step_id):
            if target != step_id:
                edges.append(Edge(vertices[step_id], vertices[target]))
    graph = Graph(list(vertices.values()), edges)
    for vertex in vertices.values():
        vertex.view = _View()
    for edge in edges:
        edge.view = _EdgeView()
    for component in graph.C:
        layout = SugiyamaLayout(component)
        layout.xspace, layout.yspace = NODE_GAP, LAYER_GAP
        roots = [vertices[flow.start]] if vertices[flow.start] in component.sV else None
        layout.init_all(roots=roots)
        layout.draw(3)
    # Turn back: grandalf's y (layers) becomes x; its x (order in a layer) becomes y.
    raw = {v.data: (v.view.xy[1], v.view.xy[0]) for v in vertices.values()}
    min_x = min(x for x, _ in raw.values()) - NODE_W / 2 - MARGIN
    min_y = min(y for _, y in raw.values()) - NODE_H / 2 - MARGIN
    nodes = {sid: (x - min_x, y - min_y) for sid, (x, y) in raw.items()}
    routed = []
    for edge in edges:
        source, target = edge.v[0].data, edge.v[1].data
        points = [(y - min_x, x - min_y) for x, y in edge.view.points]
        if len(points) < 2:
            points = [nodes[source], nodes[target]]
        if math.dist(points[0], nodes[source]) > math.dist(points[0], nodes[target]):
            points.reverse()  # grandalf reverses edges that close a loop
        points[0] = _clip(nodes[source], points[1])
        points[-1] = _clip(nodes[target], points[-2])
        routed.append((source, target, tuple(points)))
    width = max(x for x, _ in nodes.values()) + NODE_W / 2 + MARGIN
    height = max(y for _, y in nodes.values()) + NODE_H / 2 + MARGIN
    return _Layout(nodes, tuple(routed), width, height)


def _path_d(points: tuple[tuple[float, float], ...]) -> str:
    """An SVG path through ``points``: a line, or a polyline with its corners rounded."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for i, (bx, by) in enumerate(rest[:-1]):
        (ax, ay), (cx, cy) = points[i], rest[i + 1]
        # Round the corner at b: come within 40% of the way, curve through b, go on.
        p1 = (bx + (ax - bx) * 0.4, by + (ay - by) * 0.4)
        p2 = (bx + (cx - bx) * 0.4, by + (cy - by) * 0.4)
        d.append(f"L{p1[0]:.1f},{p1[1]:.1f} Q{bx:.1f},{by:.1f} {p2[0]:.1f},{p2[1]:.1f}")
    d.append(f"L{rest[-1][0]:.1f},{rest[-1][1]:.1f}")
    return " ".join(d)


def _lines(title: str) -> list[str]:
    lines = textwrap.wrap(title, LINE_CHARS) or [""]
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES]
        lines[-1] = lines[-1][: LINE_CHARS - 1].rstrip() + "…"
    return lines


def _fill(reached: float) -> str:
    """White for no traffic to the brand blue (#1d4e89) for all sessions."""
    t = max(0.0, min(1.0, reached))
    r, g, b = (round(255 + (c - 255) * t) for c in (0x1D, 0x4E, 0x89))
    return f"#{r:02x}{g:02x}{b:02x}"


def flow_svg(flow: Flow, *, path: tuple[str, ...] | list[str] = (), current: str | None = None,
             shade: dict[str, Shade] | None = None, title: str = "",
             description: str = "") -> Markup:
    """The diagram of ``flow`` as inline SVG markup (safe to put in a template).

    ``path``: step ids in the order a session visited them; ``current``: the step it is at.
    ``shade``: step id → :class:`Shade`. ``title`` (default: the flow's title) and
    ``description`` become the SVG's accessible name and description; each step's box has a
    tooltip with its title, kind and (when shaded) traffic. The SVG's natural size is in px;
    CSS may scale it.
    """
    layout = _layout(flow)
    on_path_steps = set(path) | ({current} if current else set())
    path_edges = set(zip(path, path[1:], strict=False))
    if current and path and path[-1] != current:
        path_edges.add((path[-1], current))
    uid = f"diagram-{flow.id}"
    title = title or f"Diagram of {flow.title}"
    out = [f'<svg class="flow-diagram" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'width="{layout.width:.0f}" height="{layout.height:.0f}" '
           f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
           f'aria-labelledby="{uid}-title{f" {uid}-desc" if description else ""}">',
           f'<title id="{uid}-title">{escape(title)}</title>']
    if description:
        out.append(f'<desc id="{uid}-desc">{escape(description)}</desc>')
    out.append(f'<defs><marker id="{uid}-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
               'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
               '<path d="M0,0 L10,5 L0,10 z" class="arrow"/></marker>'
               f'<marker id="{uid}-arrow-on" viewBox="0 0 10 10" refX="9" refY="5" '
               'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
               '<path d="M0,0 L10,5 L0,10 z" class="arrow arrow-on"/></marker></defs>')
    for source, target, points in layout.edges:
        on = (source, target) in path_edges
        out.append(f'<path class="edge{" on-path" if on else ""}" d="{_path_d(points)}" '
                   f'marker-end="url(#{uid}-arrow{"-on" if on else ""})">'
                   f'<title>{escape(flow.steps[source].title)} → '
                   f'{escape(flow.steps[target].title)}</title></path>')
    for step_id, (cx, cy) in layout.nodes.items():
        step = flow.steps[step_id]
        classes = ["node", f"node-{step.kind}"]
        if step.outcome:
            classes.append(f"node-{step.outcome}")
        if step_id in on_path_steps:
            classes.append("on-path")
        if step_id == current:
            classes.append("current")
        traffic = shade.get(step_id) if shade else None
        tip = f"{step.title} ({KIND_LABEL.get(step.kind, step.kind)})"
        if step_id == current:
            tip += " — the session is here"
        if traffic:
            tip += f" — {traffic.label}"
            classes.append("shaded")
            if traffic.reached > 0.55:
                classes.append("dark")
        x, y = cx - NODE_W / 2, cy - NODE_H / 2
        fill = f' fill="{_fill(traffic.reached)}"' if traffic else ""
        out.append(f'<g class="{" ".join(classes)}" data-step="{escape(step_id)}">'
                   f'<title>{escape(tip)}</title>'
                   f'<rect x="{x:.1f}" y="{y:.1f}" width="{NODE_W}" height="{NODE_H}" '
                   f'rx="{12 if step.is_end else 3}"{fill}/>')
        lines = _lines(step.title)
        if traffic:
            lines = lines[:2] + [traffic.label]
        top = cy - (len(lines) - 1) * 7.5
        out.append(f'<text x="{cx:.1f}" y="{top:.1f}" text-anchor="middle">')
        for i, line in enumerate(lines):
            cls = ' class="traffic"' if traffic and i == len(lines) - 1 else ""
            out.append(f'<tspan x="{cx:.1f}" dy="{0 if i == 0 else 15}"{cls}>'
                       f'{escape(line)}</tspan>')
        out.append("</text>")
        if traffic and traffic.dropped > 0:
            bar = max(3.0, (NODE_W - 8) * min(1.0, traffic.dropped))
            out.append(f'<rect class="drop-bar" x="{x + 4:.1f}" y="{y + NODE_H - 6:.1f}" '
                       f'width="{bar:.1f}" height="4"/>')
        if step_id == current:
            out.append(f'<text class="here" x="{x + 4:.1f}" y="{y - 3:.1f}">Now here</text>')
        out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))
