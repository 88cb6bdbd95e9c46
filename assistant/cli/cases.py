"""One case at a time, as JSON: ``diagnose`` (probe observations to a cause) and ``route``
(free text to a guide, step and cause)."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click

from ..flow import flow_files, load_flows

DIAGNOSE_MAX_BYTES = 5 * 1024 * 1024   # a case is a few kB; vendor bodies are kept short
DIAGNOSE_MAX_DEPTH = 32                 # a case nests about 6 deep (plus a JSON body inline)


def _diagnose_refusal(text: str) -> str | None:
    """Why ``text`` is refused before it is loaded: a YAML alias (an alias bomb expands to a
    huge document) or nesting deeper than DIAGNOSE_MAX_DEPTH (PyYAML and the JSON encoder
    recurse); None when neither. Stops reading at the first of either."""
    import yaml
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            return (f"YAML aliases (*{event.anchor}, line {event.start_mark.line + 1}) are not "
                    "allowed: write the value out")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > DIAGNOSE_MAX_DEPTH:
                return (f"nested more than {DIAGNOSE_MAX_DEPTH} levels deep (line "
                        f"{event.start_mark.line + 1}): too deep to be a case")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


@click.command()
@click.argument("source", default="-", metavar="[FILE|-]")
def diagnose(source: str) -> None:
    """Diagnose one case ({system, observations}) read as YAML or JSON from FILE or stdin.

    Prints the diagnosis as one JSON object; exit 0 for any diagnosis (unknown too), exit 2
    with a one-line message for input that cannot be read or does not follow the format, is
    larger than 5 MB, nests more than 32 levels deep or uses YAML aliases."""
    import yaml

    from ..probes.diagnosis import diagnose as run_diagnosis
    from ..probes.observations import ObservationError, parse_case

    def _refuse(message: str) -> NoReturn:
        click.echo(f"assistant diagnose: {message}", err=True)
        sys.exit(2)

    name = "stdin" if source == "-" else source
    limit = DIAGNOSE_MAX_BYTES
    try:
        # read one character more than the limit allows: never the whole of a huge input
        if source == "-":
            text = sys.stdin.read(limit + 1)
        else:
            with open(source, encoding="utf-8") as f:
                text = f.read(limit + 1)
    except (OSError, UnicodeDecodeError) as e:
        _refuse(f"cannot read {name}: {getattr(e, 'strerror', None) or e}")
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        _refuse(f"{name}: larger than the limit of {limit // (1024 * 1024)} MB for one case")
    try:
        refusal = _diagnose_refusal(text)
        if refusal:
            _refuse(f"{name}: {refusal}")
        data = yaml.safe_load(text)
    except RecursionError:
        _refuse(f"{name}: nested too deeply to read")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or "syntax error"
        _refuse(f"{name}: not valid YAML/JSON{where}: {problem}")
    try:
        system, observations = parse_case(data)
    except ObservationError as e:
        _refuse(f"{name}: {e}")
    except RecursionError:
        _refuse(f"{name}: nested too deeply to read")
    try:
        result = run_diagnosis(system, observations).to_json()
    except RecursionError:
        _refuse(f"{name}: nested too deeply to read")
    click.echo(json.dumps(result, indent=2, ensure_ascii=False))


ROUTE_MAX_BYTES = 256 * 1024   # as much as the web app accepts in one request


@click.command()
@click.argument("text", default="-", metavar="[TEXT|-]")
@click.option("--lang", "language", type=click.Choice(["en", "es"]), default="en",
              show_default=True, help="The language the customer writes in: their words, "
              "and what the router answers, are read and said in it.")
def route(text: str, language: str) -> None:
    """Route free text (a description, or a pasted error) to a guide: TEXT, or stdin for -.

    Prints one JSON object: flow (or null), step, cause (or null), confidence (0-1), question
    (a clarifying question, or null), message (for the customer), signal (a vendor code
    recognised, or null) and alternatives. Exit 0 for any answer ("no guide fits" too), 2 for
    input that cannot be read: not UTF-8, empty, or over 256 KB. The flows are FLOWS_PATH's."""
    from ..config import settings
    from ..flow import FlowError
    from ..routing import load_router

    def _refuse(message: str) -> NoReturn:
        click.echo(f"assistant route: {message}", err=True)
        sys.exit(2)

    if text == "-":
        raw = sys.stdin.buffer.read(ROUTE_MAX_BYTES + 1)
        if len(raw) > ROUTE_MAX_BYTES:
            _refuse("stdin: larger than the limit of 256 KB")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            _refuse(f"stdin: not UTF-8 text ({e.reason} at byte {e.start})")
    elif len(text.encode("utf-8", "surrogatepass")) > ROUTE_MAX_BYTES:
        _refuse("TEXT: larger than the limit of 256 KB")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):  # undecodable bytes in the argument
        _refuse("TEXT: not UTF-8 text")
    if not text.strip():
        _refuse("nothing to route: the text is empty")
    flows, errors = load_flows(flow_files(settings("instance")["FLOWS_PATH"]))
    for error in errors:  # route with the flows that load, as the server does
        click.echo(str(error), err=True)
    if not flows:
        raise click.ClickException("no flow could be loaded")
    try:
        router = load_router(flows, language)
    except FlowError as e:
        raise click.ClickException(f"the routing data is broken:\n{e}") from None
    click.echo(json.dumps(router.route(text).to_json(), indent=2, ensure_ascii=False))
