"""Flow diagrams for the console, drawn on the server as inline SVG.

The layout is Graphviz ``dot`` (Debian's ``graphviz`` package; ``make test`` installs it when
missing): layers left to right, edge crossings minimised, and ``concentrate=true`` so that a
pair of opposite transitions (a fix and its re-check) is one line with an arrow at each end,
and transitions into one step merge before they reach it. We run ``dot -Tjson0`` once per flow
version and draw the positions and splines it returns ourselves; without ``dot`` a diagram is
a short note saying so (:class:`DiagramUnavailable`). Drawing is plain SVG with classes that
``app.css`` styles, so it needs no script and passes the page's CSP; the only computed colours
(traffic shading) are SVG ``fill`` attributes.

What a diagram can show:

- ``path``: the steps a session went through, in order, and ``current``, where it is now
  (classes ``on-path`` and ``current`` on nodes, ``on-path`` on the edges between consecutive
  path steps);
- ``shade``: per step, a :class:`Shade` (analytics): the fill darkens with the share of
  sessions that reached the step, and a red bar and label give the share that stopped there.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from ...flow import Flow

log = logging.getLogger(__name__)

NODE_W, NODE_H = 190, 64  # px
LAYER_GAP, NODE_GAP, MARGIN = 56, 14, 12  # px
LINE_CHARS, MAX_LINES = 27, 3
DOT_TIMEOUT = 20  # seconds: dot lays out a 1,000-step flow in a few
KIND_LABEL = {"question": "Question", "instruction": "Instruction", "probe": "Live check",
              "end": "End"}


class DiagramUnavailable(RuntimeError):
    """Graphviz ``dot`` is not installed or failed; the message says what to do."""


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
class Route:
    """One drawn line: ``source`` → ``target``; ``both`` when it also stands for the opposite
    transition (arrows at both ends). ``points``: the cubic Bézier spline's points (start, then
    three per segment), px; ``start``/``end``: where the arrowheads point to (None: no arrow at
    that end)."""

    source: str
    target: str
    both: bool
    points: tuple[tuple[float, float], ...]
    start: tuple[float, float] | None
    end: tuple[float, float] | None

    def polyline(self, steps: int = 8) -> list[tuple[float, float]]:
        """The route as a polyline (each Bézier segment in ``steps`` pieces), arrow tips
        included: what the crossing count measures."""
        pts = self.points
        out = [self.start] if self.start else []
        out.append(pts[0])
        for k in range(0, len(pts) - 3, 3):
            p0, p1, p2, p3 = pts[k:k + 4]
            for j in range(1, steps + 1):
                t = j / steps
                u = 1 - t
                out.append(tuple(u ** 3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t ** 3 * d
                                 for a, b, c, d in zip(p0, p1, p2, p3, strict=True)))
        if self.end:
            out.append(self.end)
        return out


@dataclass(frozen=True)
class _Layout:
    nodes: dict[str, tuple[float, float]]  # step id → centre (x, y), px
    edges: tuple[Route, ...]
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


_LAYOUTS: dict[tuple[str, str], _Layout] = {}


def _layout(flow: Flow) -> _Layout:
    """Node centres and edge routes for ``flow``, left to right, computed once per flow id and
    version. Raises :class:`DiagramUnavailable`."""
    key = (flow.id, flow.version)
    if key not in _LAYOUTS:
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        _LAYOUTS[key] = _compute_layout(flow)
    return _LAYOUTS[key]


def _dot_source(flow: Flow, ids: list[str], concentrate: bool) -> str:
    """The flow as a DOT graph: nodes ``n0``, ``n1``, … (in step order) of the drawn size."""
    inch = 72.0
    lines = ["digraph flow {",
             f"rankdir=LR; nodesep={NODE_GAP / inch:.4f}; ranksep={LAYER_GAP / inch:.4f};"
             f" concentrate={'true' if concentrate else 'false'};",
             f'node [shape=box, fixedsize=true, width={NODE_W / inch:.4f}, '
             f'height={NODE_H / inch:.4f}, label=""];']
    index = {sid: i for i, sid in enumerate(ids)}
    lines += [f"n{i};" for i in range(len(ids))]
    for sid in ids:
        lines += [f"n{index[sid]} -> n{index[t]};" for t in _targets(flow, sid) if t != sid]
    lines.append("}")
    return "\n".join(lines)


def _run_dot(source: str) -> dict:
    dot = shutil.which("dot")
    if dot is None:
        raise DiagramUnavailable("Flow diagrams need Graphviz: install it with "
                                 "`apt-get install graphviz` (make test does).")
    try:
        done = subprocess.run([dot, "-Tjson0"], input=source, capture_output=True, text=True,
                              timeout=DOT_TIMEOUT, check=True)
        return json.loads(done.stdout)
    except (subprocess.SubprocessError, OSError, ValueError) as error:
        raise DiagramUnavailable(f"Graphviz could not lay out this flow ({error}).") from error


def _point(text: str) -> tuple[float, float]:
    x, y = text.split(",")[:2]
    return float(x), float(y)


def _compute_layout(flow: Flow) -> _Layout:
    ids = list(flow.steps)
    try:
        graph = _run_dot(_dot_source(flow, ids, concentrate=True))
    except DiagramUnavailable:
        # concentrate=true has crashed dot on some graphs: lay out without merging lines
        graph = _run_dot(_dot_source(flow, ids, concentrate=False))
    top = float(graph["bb"].split(",")[3])  # dot's y grows upwards; SVG's downwards

    def flip(p: tuple[float, float]) -> tuple[float, float]:
        return p[0] + MARGIN, top - p[1] + MARGIN

    objects = graph.get("objects", [])
    nodes = {}
    for obj in objects:
        if obj.get("name", "").startswith("n") and "pos" in obj:
            nodes[ids[int(obj["name"][1:])]] = flip(_point(obj["pos"]))
    names = {obj["_gvid"]: ids[int(obj["name"][1:])] for obj in objects
             if obj.get("name", "").startswith("n")}
    pairs = {(names[e["tail"]], names[e["head"]]) for e in graph.get("edges", [])}
    routes = []
    for edge in graph.get("edges", []):
        pos = edge.get("pos", "")
        if not pos:  # drawn by the opposite transition's line (concentrate)
            continue
        start = end = None
        points = []
        for part in pos.split(";")[0].split():
            if part.startswith("s,"):
                start = flip(_point(part[2:]))
            elif part.startswith("e,"):
                end = flip(_point(part[2:]))
            else:
                points.append(flip(_point(part)))
        source, target = names[edge["tail"]], names[edge["head"]]
        both = start is not None and (target, source) in pairs
        routes.append(Route(source, target, both, tuple(points), start, end))
    width = float(graph["bb"].split(",")[2]) + 2 * MARGIN
    return _Layout(nodes, tuple(routes), width, top + 2 * MARGIN)


def _path_d(route: Route) -> str:
    """An SVG path along the route's spline, from arrow tip to arrow tip."""
    first, rest = route.points[0], route.points[1:]
    d = [f"M{route.start[0]:.1f},{route.start[1]:.1f} L{first[0]:.1f},{first[1]:.1f}"
         if route.start else f"M{first[0]:.1f},{first[1]:.1f}"]
    for k in range(0, len(rest) - 2, 3):
        d.append("C" + " ".join(f"{x:.1f},{y:.1f}" for x, y in rest[k:k + 3]))
    if route.end:
        d.append(f"L{route.end[0]:.1f},{route.end[1]:.1f}")
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
    try:
        layout = _layout(flow)
    except DiagramUnavailable as error:
        log.warning("flow %s: no diagram: %s", flow.id, error)
        return Markup('<p class="diagram-missing">{}</p>').format(f"No diagram: {error}")
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
    for route in layout.edges:
        source, target = route.source, route.target
        on = (source, target) in path_edges or (route.both and (target, source) in path_edges)
        arrow = f"url(#{uid}-arrow{'-on' if on else ''})"
        out.append(f'<path class="edge{" on-path" if on else ""}" d="{_path_d(route)}" '
                   + (f'marker-start="{arrow}" ' if route.start else "")
                   + (f'marker-end="{arrow}"' if route.end else "")
                   + f'><title>{escape(flow.steps[source].title)} '
                   f'{"↔" if route.both else "→"} {escape(flow.steps[target].title)}'
                   '</title></path>')
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
