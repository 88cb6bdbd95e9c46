"""A draft flow as YAML text: keys in reading order, Markdown texts as ``|`` blocks wrapped at
96 characters, and a header of comments for the author."""

from __future__ import annotations

import re
import textwrap

import yaml


class Text(str):
    """A Markdown text written as a YAML block (``body: |``)."""


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: Text):
    wrapped = _wrap(str(value))
    if any(line != line.rstrip() for line in wrapped.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", str(value))
    return dumper.represent_scalar("tag:yaml.org,2002:str", wrapped + "\n", style="|")


_Dumper.add_representer(Text, _text)


def _wrap(text: str) -> str:
    """Wrap plain Markdown paragraphs at 96 characters (lists, quotes and code kept as are)."""
    out = []
    for para in text.split("\n\n"):
        if re.match(r"^(?:[-*>]|\d+\.|```)", para) or "\n" in para:
            out.append(para)
        else:
            out.append(textwrap.fill(para, 96, break_long_words=False, break_on_hyphens=False))
    return "\n\n".join(out)


def render(built: dict) -> str:
    """The flow as YAML, with a header of what the author should review."""
    flow, notes = built["flow"], built["notes"]
    header = [f"Draft flow imported by `assistant import` from {built['source_file']}"
              + (f", section {flow['source'].get('section')}." if flow["source"].get("section")
                 else "."),
              "Review every step and replace each TODO before shipping; then write "
              f"{flow['id']}.tests.yaml beside it (README: Flow tests)."] + notes
    lines = []
    for note in header:
        lines.extend(textwrap.wrap(note, 96, break_long_words=False, break_on_hyphens=False))
    text = yaml.dump(flow, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=96)
    return "".join(f"# {line}\n" for line in lines) + text
